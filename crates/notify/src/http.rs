//! Sends one webhook attempt: no redirects, a timeout, the URL's userinfo
//! as Basic auth, and the SSRF guard: every address the host resolves to
//! must be public (unless the operator allows private targets), and the
//! connection goes to exactly the addresses that were checked, so a DNS
//! answer that changes between check and connect cannot slip through.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use certsentry_domain::net::TargetPolicy;

/// The most of a response body kept in the delivery log.
pub const MAX_LOGGED_BODY: usize = 4096;

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub status_code: Option<u16>,
    pub duration: Duration,
    pub body: Option<String>,
    pub error: Option<String>,
    /// The receiver's `Retry-After`, in seconds form.
    pub retry_after: Option<Duration>,
}

impl AttemptResult {
    /// An attempt that got no answer: `error` says why.
    pub fn failed(duration: Duration, error: impl Into<String>) -> Self {
        Self {
            status_code: None,
            duration,
            body: None,
            error: Some(error.into()),
            retry_after: None,
        }
    }

    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|c| (200..300).contains(&c))
    }
}

/// Resolves with the system resolver and refuses non-public addresses.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = TargetPolicy::new(self.allow_private);
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            // Every address must pass: the client may dial any of them.
            for address in &addrs {
                policy
                    .check_resolved(&format!("the webhook URL's host {host}"), address.ip())
                    .map_err(|refusal| refusal.to_string())?;
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[derive(Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    allow_private: bool,
    timeout: Duration,
}

/// Removes `user:pass@` from a URL, returning the clean URL and the credentials.
pub fn split_userinfo(url: &str) -> Result<(url::Url, Option<(String, String)>), String> {
    let mut parsed = url::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
    let credentials = (!parsed.username().is_empty()).then(|| {
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        (
            decode(parsed.username()),
            decode(parsed.password().unwrap_or("")),
        )
    });
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    Ok((parsed, credentials))
}

/// The URL as it may be shown: any password replaced by `********`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("********"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

impl WebhookSender {
    pub fn new(timeout: Duration, allow_private: bool) -> Self {
        Self::with_idle_connections(timeout, allow_private, 64)
    }

    /// Keeps up to `idle_per_host` connections open to each receiver
    /// between attempts. The outbox passes its concurrency: with fewer, a
    /// round's connections beyond the limit are closed after it and opened
    /// again in the next, one TCP (and TLS) handshake per delivery.
    pub fn with_idle_connections(
        timeout: Duration,
        allow_private: bool,
        idle_per_host: usize,
    ) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("CertSentry-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .pool_max_idle_per_host(idle_per_host)
            .build()
            .expect("the webhook client builds");
        Self {
            client,
            allow_private,
            timeout,
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// POSTs `body` with `headers` to `url` once.
    pub async fn send(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: impl Into<bytes::Bytes>,
    ) -> AttemptResult {
        let body = body.into();
        let started = Instant::now();
        let failed = |error: String| AttemptResult::failed(started.elapsed(), error);
        let (clean, credentials) = match split_userinfo(url) {
            Ok(parts) => parts,
            Err(e) => return failed(e),
        };
        // IP literals never reach the resolver, so they are checked here.
        if let Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) = clean.host()
            && let Ok(ip) = clean
                .host_str()
                .unwrap_or_default()
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
            && let Err(refusal) = TargetPolicy::new(self.allow_private).check_ip(ip)
        {
            return failed(refusal.to_string());
        }
        let mut request = self.client.post(clean);
        // JSON unless the caller says otherwise (ntfy's body is plain text).
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some((user, password)) = credentials {
            request = request.basic_auth(user, Some(password));
        }
        let response = match request.body(body).send().await {
            Ok(response) => response,
            // Without the URL: it may carry a secret (a Telegram bot token
            // is part of the path), and the error lands in the delivery log.
            Err(e) => return failed(describe(&e.without_url())),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = match response.bytes().await {
            Ok(bytes) => {
                let cut = &bytes[..bytes.len().min(MAX_LOGGED_BODY)];
                Some(String::from_utf8_lossy(cut).into_owned())
            }
            Err(_) => None,
        };
        let error = match status {
            200..=299 => None,
            300..=399 => Some(format!("HTTP {status}: redirects are not followed")),
            _ => Some(format!("HTTP {status}")),
        };
        AttemptResult {
            status_code: Some(status),
            duration: started.elapsed(),
            body,
            error,
            retry_after,
        }
    }
}

/// A reqwest error in words, with the innermost cause (where the SSRF
/// guard's refusal ends up).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timeout".into();
    }
    let deepest = certsentry_domain::errors::innermost_cause(e);
    let clean = |s: String| s.replace(|c: char| c.is_control(), " ");
    if e.is_connect() {
        clean(format!("connect failed: {deepest}"))
    } else {
        clean(deepest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_becomes_credentials_and_is_redacted() {
        let (url, creds) = split_userinfo("https://bob:p%40ss@hooks.example.com/x").unwrap();
        assert_eq!(url.as_str(), "https://hooks.example.com/x");
        assert_eq!(creds, Some(("bob".into(), "p@ss".into())));
        assert_eq!(
            redact_url("https://bob:secret@hooks.example.com/x"),
            "https://bob:********@hooks.example.com/x"
        );
        assert_eq!(
            redact_url("https://hooks.example.com/x"),
            "https://hooks.example.com/x"
        );
    }

    #[tokio::test]
    async fn private_addresses_are_refused_unless_allowed() {
        let sender = WebhookSender::new(Duration::from_secs(2), false);
        for url in [
            "http://127.0.0.1:9/x",
            "http://localhost:9/x",
            "http://[::1]:9/",
            "http://169.254.169.254/latest",
        ] {
            let result = sender.send(url, &[], b"{}".to_vec()).await;
            let error = result.error.unwrap();
            assert!(
                error.contains("refused") && error.contains("--allow-private-targets"),
                "{url}: {error}"
            );
        }
        let allowed = WebhookSender::new(Duration::from_secs(2), true);
        let result = allowed
            .send("http://127.0.0.1:9/x", &[], b"{}".to_vec())
            .await;
        assert!(!result.error.unwrap().contains("refused:"));
    }
}
