//! The CT log list, v3 schema (Google's `log_list.json`): which logs to
//! tail. RFC 6962 logs are under `operators[].logs` (`url`), static-ct-api
//! logs under `operators[].tiled_logs` (`monitoring_url`).
//!
//! Logs in the `usable`, `qualified` and `readonly` states are tailed;
//! `pending`, `retired` and `rejected` ones are not, nor are shards whose
//! `temporal_interval` has ended (they take no new certificates).

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogKind {
    Rfc6962 { url: String },
    Tiled { monitoring_url: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSpec {
    /// Base64 `log_id`: the key positions are stored under.
    pub log_id: String,
    pub description: String,
    pub operator: String,
    pub kind: LogKind,
}

#[derive(Debug, thiserror::Error)]
pub enum LogListError {
    #[error("the log list is not v3 JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("could not read the log list {0}: {1}")]
    Read(String, String),
}

#[derive(Deserialize)]
struct ListJson {
    operators: Vec<OperatorJson>,
}

#[derive(Deserialize)]
struct OperatorJson {
    name: String,
    #[serde(default)]
    logs: Vec<LogJson>,
    #[serde(default)]
    tiled_logs: Vec<LogJson>,
}

#[derive(Deserialize)]
struct LogJson {
    description: String,
    log_id: String,
    url: Option<String>,
    monitoring_url: Option<String>,
    #[serde(default)]
    state: serde_json::Map<String, serde_json::Value>,
    temporal_interval: Option<Interval>,
}

#[derive(Deserialize)]
struct Interval {
    end_exclusive: String,
}

const TAILED_STATES: [&str; 3] = ["usable", "qualified", "readonly"];

/// The logs worth tailing at `now_ms`.
pub fn parse(json: &str, now_ms: i64) -> Result<Vec<LogSpec>, LogListError> {
    let list: ListJson = serde_json::from_str(json)?;
    let mut out = Vec::new();
    for operator in list.operators {
        let logs = operator
            .logs
            .into_iter()
            .map(|l| (false, l))
            .chain(operator.tiled_logs.into_iter().map(|l| (true, l)));
        for (tiled, log) in logs {
            let state_ok = log
                .state
                .keys()
                .any(|k| TAILED_STATES.contains(&k.as_str()));
            let ended = log.temporal_interval.as_ref().is_some_and(|i| {
                certsentry_domain::time::parse_datetime(&i.end_exclusive)
                    .is_some_and(|end| end <= now_ms)
            });
            if !state_ok || ended {
                continue;
            }
            let kind = match (tiled, log.url, log.monitoring_url) {
                (false, Some(url), _) => LogKind::Rfc6962 { url },
                (true, _, Some(monitoring_url)) => LogKind::Tiled { monitoring_url },
                _ => continue,
            };
            out.push(LogSpec {
                log_id: log.log_id,
                description: log.description,
                operator: operator.name.clone(),
                kind,
            });
        }
    }
    Ok(out)
}

/// Reads the list from a path or an `http(s)://` URL.
pub async fn load(source: &str, http: &reqwest::Client) -> Result<String, LogListError> {
    let read_err = |e: String| LogListError::Read(source.to_string(), e);
    if source.starts_with("http://") || source.starts_with("https://") {
        let response = http
            .get(source)
            .send()
            .await
            .map_err(|e| read_err(e.to_string()))?;
        if !response.status().is_success() {
            return Err(read_err(format!("HTTP {}", response.status())));
        }
        response.text().await.map_err(|e| read_err(e.to_string()))
    } else {
        tokio::fs::read_to_string(source)
            .await
            .map_err(|e| read_err(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_tailable_logs_of_both_kinds() {
        let json = r#"{"version":"3.0","operators":[{"name":"Google","email":[],
          "logs":[
            {"description":"A 2026h1","log_id":"AAA=","key":"k","url":"https://ct.example/a/","mmd":86400,
             "state":{"usable":{"timestamp":"2024-01-01T00:00:00Z"}},
             "temporal_interval":{"start_inclusive":"2026-01-01T00:00:00Z","end_exclusive":"2027-01-01T00:00:00Z"}},
            {"description":"Old","log_id":"BBB=","key":"k","url":"https://ct.example/b/","mmd":86400,
             "state":{"usable":{"timestamp":"2024-01-01T00:00:00Z"}},
             "temporal_interval":{"start_inclusive":"2025-01-01T00:00:00Z","end_exclusive":"2025-07-01T00:00:00Z"}},
            {"description":"Retired","log_id":"CCC=","key":"k","url":"https://ct.example/c/","mmd":86400,
             "state":{"retired":{"timestamp":"2024-01-01T00:00:00Z"}}}],
          "tiled_logs":[
            {"description":"T","log_id":"DDD=","key":"k","submission_url":"https://t.example/",
             "monitoring_url":"https://t-mon.example/","mmd":60,"state":{"qualified":{"timestamp":"2026-06-19T19:00:00Z"}}}]}]}"#;
        let now = certsentry_domain::time::parse_datetime("2026-11-23T00:00:00Z").unwrap();
        let logs = parse(json, now).unwrap();
        assert_eq!(logs.len(), 2);
        assert_eq!(
            logs[0].kind,
            LogKind::Rfc6962 {
                url: "https://ct.example/a/".into()
            }
        );
        assert_eq!(
            logs[1].kind,
            LogKind::Tiled {
                monitoring_url: "https://t-mon.example/".into()
            }
        );
        assert_eq!(logs[1].operator, "Google");
        assert!(parse("{}", now).is_err());
    }
}
