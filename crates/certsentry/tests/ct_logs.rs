//! Tailing CT logs end to end, through the real binary: one fake log serves
//! the same certificates over RFC 6962 and static-ct-api. A server tailing
//! either API finds the same issuances, and a `kill -9` in the middle
//! followed by a restart misses no entry and reads none twice.

mod serve;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use certsentry_ct::testing::{FakeEntry, FakeLog, Issued, TestCa, log_list_json, pem};
use certsentry_probes::testing::WebhookReceiver;
use serde_json::{Value, json};
use serve::{ServeProcess, create_ct_monitor, get_json, wait_for};

const LOG_ID: &str = "dGVzdC1sb2ctaWQtMDAwMDAwMDAwMDAwMDAwMDAwMDA=";

struct Certificates {
    /// Unknown, on a watched subdomain: suspicious.
    shop: Issued,
    /// In the inventory: known.
    api: Issued,
    /// Not watched.
    other: Issued,
    /// Unknown, logged only after the restart.
    mail: Issued,
}

impl Certificates {
    fn new() -> Self {
        let ca = TestCa::new("Fake CA");
        Self {
            shop: ca.issue(&["shop.example.org"], 1),
            api: ca.issue(&["api.example.org"], 2),
            other: ca.issue(&["www.other.net"], 3),
            mail: ca.issue(&["mail.example.org", "*.mail.example.org"], 4),
        }
    }

    fn first_half(&self) -> Vec<FakeEntry> {
        vec![
            FakeEntry::precertificate(&self.shop),
            FakeEntry::precertificate(&self.api),
            FakeEntry::precertificate(&self.other),
            FakeEntry::certificate(&self.shop),
            FakeEntry::certificate(&self.other),
        ]
    }

    fn second_half(&self) -> Vec<FakeEntry> {
        vec![
            FakeEntry::certificate(&self.api),
            FakeEntry::precertificate(&self.mail),
            FakeEntry::certificate(&self.mail),
        ]
    }
}

/// What both runs must agree on about a finding (ids, times and the log
/// link differ by run and API).
fn comparable(finding: &Value) -> String {
    let mut f = finding.clone();
    for volatile in ["id", "monitorId", "foundAt", "decidedAt", "certLink"] {
        f.as_object_mut().unwrap().remove(volatile);
    }
    f.to_string()
}

fn ct_source_entries(health: &Value) -> u64 {
    health["ct"]["sources"][0]["entries"].as_u64().unwrap()
}

/// Runs one server over `list` with a restart in the middle; returns the
/// findings, the suspicious alerts' names, and the entries each run read.
async fn run(
    api: &str,
    log: &FakeLog,
    certs: &Certificates,
    list: &Path,
) -> (Vec<Value>, Vec<Vec<String>>, (u64, u64)) {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("CERTSENTRY_CT_LOG_LIST", list.to_str().unwrap()),
        ("CERTSENTRY_CT_START", "beginning"),
        ("CERTSENTRY_CT_POLL_S", "1"),
        ("CERTSENTRY_CT_PACING_MS", "0"),
        ("CERTSENTRY_SUSPICIOUS_GRACE_S", "1"),
        ("CERTSENTRY_CT_WATCH_REFRESH_S", "1"),
    ];
    let server = ServeProcess::start(dir.path(), &env).await;
    let key = server.key.clone().unwrap();
    let client = reqwest::Client::new();
    let base = server.base.clone();

    let created = create_ct_monitor(&client, &base, &key, "www.example.org").await;
    assert!(created["monitor"]["id"].is_string(), "[{api}] {created}");
    let pem = pem(&certs.api.certificate);
    let known = client
        .post(format!("{base}/api/v1/ct/known-certificates"))
        .bearer_auth(&key)
        .json(&json!({"pem": pem}))
        .send()
        .await
        .unwrap();
    assert_eq!(known.status(), 201);
    let spotter = WebhookReceiver::start(Vec::new(), Duration::ZERO).await;
    let channel = client
        .post(format!("{base}/api/v1/notification-channels"))
        .bearer_auth(&key)
        .json(&json!({
            "name": "spotter", "type": "webhook", "url": spotter.url,
            "format": "certspotter", "events": ["ct.new_certificate"]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(channel.status(), 201);
    wait_for("the watch list and the log", async || {
        let health = server.health().await;
        health["ct"]["watchEntries"] == 1 && health["ct"]["sources"][0]["connected"] == true
    })
    .await;

    // The first half, read and alerted; then kill -9.
    log.publish();
    let first_half = certs.first_half().len() as u64;
    // The alert's delivery must be recorded before the kill: one sent but
    // not yet recorded is sent again after a restart (at least once), and
    // that repeat would pass for the second half's alert below.
    wait_for(
        "the first half, its alert delivered and recorded",
        async || {
            let deliveries =
                get_json(&client, format!("{base}/api/v1/deliveries"), Some(&key)).await;
            let recorded = deliveries["deliveries"].as_array().is_some_and(|all| {
                !all.is_empty() && all.iter().all(|d| d["status"] == "delivered")
            });
            ct_source_entries(&server.health().await) == first_half
                && spotter.len() == 1
                && recorded
        },
    )
    .await;
    let health = server.health().await;
    assert_eq!(health["ct"]["sources"][0]["backlog"], 0, "[{api}] {health}");
    assert_eq!(
        health["ct"]["sources"][0]["malformed"], 0,
        "[{api}] {health}"
    );
    let read_before = ct_source_entries(&health);
    server.kill();

    // The rest is logged while the server is down.
    log.append(certs.second_half());
    log.publish();
    let total = first_half + certs.second_half().len() as u64;
    let server = ServeProcess::start(dir.path(), &env).await;
    assert!(server.key.is_none(), "a restart keeps the database");
    wait_for("the second half", async || {
        ct_source_entries(&server.health().await) == total - first_half && spotter.len() == 2
    })
    .await;
    // Every entry is read; wait until every finding is decided and every
    // delivery settled, so a repeat, if one were coming, would be here.
    let listed = |path: &'static str| {
        let (client, key, base) = (client.clone(), key.clone(), server.base.clone());
        async move { get_json(&client, format!("{base}/api/v1/{path}"), Some(&key)).await }
    };
    wait_for(
        "every finding decided and every delivery settled",
        async || {
            let findings = listed("ct/certificates").await;
            let deliveries = listed("deliveries").await;
            let decided = findings["certificates"]
                .as_array()
                .is_some_and(|all| all.iter().all(|f| !f["decidedAt"].is_null()));
            let settled = deliveries["deliveries"]
                .as_array()
                .is_some_and(|all| all.iter().all(|d| d["status"] == "delivered"));
            decided && settled
        },
    )
    .await;
    let findings = listed("ct/certificates").await;
    let read_after = ct_source_entries(&server.health().await);
    assert_eq!(spotter.len(), 2, "[{api}] one alert per unknown issuance");
    let alerted: Vec<Vec<String>> = spotter
        .requests()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            serde_json::from_value(body["issuance"]["dns_names"].clone()).unwrap()
        })
        .collect();
    drop(server);

    // The stored position covers the whole log, with every root checked.
    let logs = std::process::Command::new(env!("CARGO_BIN_EXE_certsentry"))
        .args(["ct", "logs", "--data-dir"])
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let listing = String::from_utf8(logs.stdout).unwrap();
    let row: Vec<&str> = listing
        .lines()
        .find(|l| l.starts_with(LOG_ID))
        .unwrap_or_else(|| panic!("[{api}] no position listed: {listing}"))
        .split_whitespace()
        .collect();
    let total = total.to_string();
    assert_eq!(
        (row[1], row[2]),
        (total.as_str(), total.as_str()),
        "[{api}] position and verified size: {listing}"
    );

    // `ct forget` drops the position (the next start follows the start
    // rules again); forgetting it twice says there is nothing to forget.
    let ct = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_certsentry"))
            .arg("ct")
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let forgot = ct(&["forget", LOG_ID]);
    assert!(forgot.status.success(), "[{api}] {forgot:?}");
    let listing = String::from_utf8(ct(&["logs"]).stdout).unwrap();
    assert!(!listing.contains(LOG_ID), "[{api}] still listed: {listing}");
    let again = ct(&["forget", LOG_ID]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no stored position"));

    let findings = findings["certificates"].as_array().unwrap().clone();
    (findings, alerted, (read_before, read_after))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc6962_and_tiled_logs_give_the_same_findings_across_a_restart() {
    let certs = Certificates::new();
    let mut results = Vec::new();
    for api in ["rfc6962", "tiled"] {
        // A fresh log per run: the first half is published once the server watches.
        let log = FakeLog::start().await;
        log.set_page_limit(2); // get-entries answers come back short
        log.append(certs.first_half());
        let list = tempfile::NamedTempFile::new().unwrap();
        let json = match api {
            "rfc6962" => log_list_json(&[("Fake Log", LOG_ID, &log.rfc6962_url)], &[]),
            _ => log_list_json(&[], &[("Fake Log", LOG_ID, &log.tiled_url)]),
        };
        std::fs::write(list.path(), json).unwrap();
        let (findings, alerted, (before, after)) = run(api, &log, &certs, list.path()).await;
        let total = (certs.first_half().len() + certs.second_half().len()) as u64;
        assert_eq!(
            before + after,
            total,
            "[{api}] every entry read exactly once across the restart"
        );
        if api == "rfc6962" {
            assert!(
                log.served_rfc6962().iter().all(|n| *n == 1),
                "no entry fetched twice: {:?}",
                log.served_rfc6962()
            );
        }
        let states: BTreeSet<(String, String)> = findings
            .iter()
            .map(|f| {
                (
                    f["dnsNames"][0].as_str().unwrap().to_string(),
                    f["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            states,
            BTreeSet::from([
                ("*.mail.example.org".to_string(), "suspicious".to_string()),
                ("api.example.org".to_string(), "known".to_string()),
                ("shop.example.org".to_string(), "suspicious".to_string()),
            ]),
            "[{api}] one finding per issuance: {findings:?}"
        );
        assert_eq!(
            alerted.iter().map(|n| n[0].as_str()).collect::<Vec<_>>(),
            vec!["shop.example.org", "*.mail.example.org"],
            "[{api}]"
        );
        results.push(findings.iter().map(comparable).collect::<BTreeSet<_>>());
    }
    assert_eq!(
        results[0], results[1],
        "both APIs give the same findings, field for field"
    );
}
