//! The agent's side of `/agent/v1`: one HTTP client, the server's URL and
//! the token, and what a failed call means.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a call to the server failed.
#[derive(Debug)]
pub enum CallError {
    /// No answer (the server is away).
    Unreachable(reqwest::Error),
    /// An answer with this status and body.
    Refused(u16, String),
}

/// A failure as one log line.
pub fn failure_text(e: &CallError) -> String {
    match e {
        CallError::Unreachable(e) => e.to_string(),
        CallError::Refused(status, body) => format!("HTTP {status}: {body}"),
    }
}

/// The agent's side of `/agent/v1`.
pub struct Connection {
    pub client: reqwest::Client,
    pub server: url::Url,
    pub token: String,
    pub region: String,
}

impl Connection {
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, CallError> {
        let url = self
            .server
            .join(path.trim_start_matches('/'))
            .map_err(|e| CallError::Refused(0, e.to_string()))?;
        let response = self
            .client
            .post(url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(CallError::Unreachable)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(CallError::Refused(status.as_u16(), body));
        }
        response.json().await.map_err(CallError::Unreachable)
    }
}
