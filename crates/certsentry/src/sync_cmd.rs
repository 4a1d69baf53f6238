//! `certsentry sync FILE.yaml`: monitors as code through the sync endpoint.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;

pub struct SyncOptions<'a> {
    pub file: &'a Path,
    pub prune: bool,
    pub dry_run: bool,
    pub api_url: &'a str,
    pub api_key: &'a str,
}

/// Reads the API reference's `monitors.yaml` format into the sync request body.
pub fn request_body(yaml: &str, prune: bool, dry_run: bool) -> anyhow::Result<Value> {
    let mut body: Value = serde_yaml::from_str(yaml).context("parsing the YAML file")?;
    let object = body
        .as_object_mut()
        .context("the YAML file must be a mapping with a `monitors:` list")?;
    if !object.get("monitors").is_some_and(Value::is_array) {
        bail!("the YAML file must have a `monitors:` list");
    }
    // Flags only ever turn these on; a file may also set them.
    if prune {
        object.insert("prune".into(), Value::Bool(true));
    }
    if dry_run {
        object.insert("dryRun".into(), Value::Bool(true));
    }
    Ok(body)
}

fn names(value: &Value, key: &str) -> String {
    let list: Vec<&str> = value[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if list.is_empty() {
        "(none)".into()
    } else {
        list.join(", ")
    }
}

/// Runs the sync and prints a readable plan. Returns false on a rejection.
pub async fn run(options: SyncOptions<'_>) -> anyhow::Result<bool> {
    let yaml = std::fs::read_to_string(options.file)
        .with_context(|| format!("reading {}", options.file.display()))?;
    let body = request_body(&yaml, options.prune, options.dry_run)?;
    let url = format!("{}/monitors/sync", options.api_url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .put(&url)
        .bearer_auth(options.api_key)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("calling {url}"))?;
    let status = response.status();
    let reply: Value = response
        .json()
        .await
        .with_context(|| format!("reading the reply from {url} (HTTP {status})"))?;
    if status.is_success() {
        let heading = if reply["dryRun"].as_bool() == Some(true) {
            "Sync plan (dry run, nothing applied):"
        } else {
            "Sync applied:"
        };
        println!("{heading}");
        for key in ["created", "updated", "unchanged", "deleted"] {
            println!("  {:<10} {}", format!("{key}:"), names(&reply, key));
        }
        return Ok(true);
    }
    let code = reply["error"]["code"].as_str().unwrap_or("error");
    let message = reply["error"]["message"].as_str().unwrap_or("(no message)");
    eprintln!(
        "Sync rejected ({code}, HTTP {}); nothing was applied: {message}",
        status.as_u16()
    );
    if let Some(details) = reply["error"]["details"].as_object() {
        for (field, problem) in details {
            eprintln!("  {field}: {}", problem.as_str().unwrap_or_default());
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_seed_yaml_and_applies_flags() {
        let yaml = "monitors:\n  - externalId: acme-web\n    label: Acme web\n    regions: [virginia]\n    alertLeadDays: [30, 14, 7]\n";
        let body = request_body(yaml, true, false).unwrap();
        assert_eq!(body["monitors"][0]["externalId"], "acme-web");
        assert_eq!(body["monitors"][0]["alertLeadDays"][1], 14);
        assert_eq!(body["prune"], true);
        assert!(body.get("dryRun").is_none());
        assert!(request_body("- a\n- b\n", false, false).is_err());
        assert!(request_body("monitors: 3\n", false, false).is_err());
    }
}
