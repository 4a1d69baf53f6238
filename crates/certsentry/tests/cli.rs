//! The CLI contract, driven through the real binary as scripts would.

mod serve;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serve::{ChildGuard, free_port, wait_until_up};

fn certsentry(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_certsentry"));
    cmd.arg("--data-dir").arg(data_dir);
    for var in [
        "DATABASE_URL",
        "CERTSENTRY_CONFIG",
        "CERTSENTRY_API_KEY",
        "CERTSENTRY_LISTEN",
        "CERTSENTRY_DATA_DIR",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("CERTSENTRY_LOG", "warn");
    cmd
}

fn run_ok(cmd: &mut Command) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(
        status.success(),
        "{cmd:?} failed: {stdout}{}",
        String::from_utf8_lossy(&stderr)
    );
    stdout
}

fn last_line(out: &str) -> String {
    out.lines().last().unwrap_or_default().trim().to_string()
}

#[test]
fn org_key_and_env_commands_print_ids_last() {
    let dir = tempfile::tempdir().unwrap();
    let migrate = run_ok(certsentry(dir.path()).arg("migrate"));
    // Every migration the SQLite store ships is applied.
    let shipped = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../store-sqlite/migrations"
    ))
    .unwrap()
    .count();
    let expected: Vec<String> = (1..=shipped).map(|v| v.to_string()).collect();
    assert!(
        migrate.contains(&format!("migrations applied: [{}]", expected.join(", "))),
        "{migrate}"
    );

    let org = last_line(&run_ok(
        certsentry(dir.path()).args(["org", "create", "--name", "Acme", "--plan", "pro"]),
    ));
    assert_eq!(org.len(), 17, "{org}");
    let list = run_ok(certsentry(dir.path()).args(["org", "list"]));
    assert!(list.contains(&org) && list.contains("pro"), "{list}");

    let key = last_line(&run_ok(certsentry(dir.path()).args([
        "key",
        "create",
        "--org",
        &org,
        "--name",
        "ci",
        "--read-only",
    ])));
    assert!(key.starts_with("csk_") && key.len() >= 36, "{key}");
    let keys = run_ok(certsentry(dir.path()).args(["key", "list", "--org", &org]));
    assert!(
        keys.contains(&key[..8]) && keys.contains("read ") && !keys.contains(&key),
        "{keys}"
    );
    let key_id = keys
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let revoked = run_ok(certsentry(dir.path()).args(["key", "revoke", &key_id]));
    assert!(revoked.contains("Revoked"), "{revoked}");
    let again = certsentry(dir.path())
        .args(["key", "revoke", &key_id])
        .output()
        .unwrap();
    assert!(!again.status.success());

    let env = last_line(&run_ok(certsentry(dir.path()).args([
        "env",
        "create",
        "--org",
        &org,
        "--name",
        "Production",
    ])));
    assert_eq!(env.len(), 17);
    assert!(
        run_ok(certsentry(dir.path()).args(["env", "list", "--org", &org])).contains("Production")
    );

    let bad_plan = certsentry(dir.path())
        .args(["org", "create", "--name", "X", "--plan", "platinum"])
        .output()
        .unwrap();
    assert!(!bad_plan.status.success());
    assert!(String::from_utf8_lossy(&bad_plan.stderr).contains("unknown plan"));
}

/// `channel create` prints the secret once and the id last; `list` never
/// shows the secret; an invalid body is refused naming the field; `delete`
/// removes it, and a second delete fails.
#[test]
fn channel_commands_create_list_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let org = last_line(&run_ok(
        certsentry(dir.path()).args(["org", "create", "--name", "Acme", "--plan", "pro"]),
    ));
    let body = r#"{"name": "Ops hook", "type": "webhook", "url": "https://hooks.example.com/ops"}"#;
    let created =
        run_ok(certsentry(dir.path()).args(["channel", "create", "--org", &org, "--json", body]));
    let id = last_line(&created);
    assert_eq!(id.len(), 17, "{created}");
    let secret = created
        .lines()
        .find_map(|l| l.split_whitespace().find(|w| w.len() == 64))
        .unwrap_or_else(|| panic!("the secret is shown once: {created}"))
        .to_string();

    let list = run_ok(certsentry(dir.path()).args(["channel", "list", "--org", &org]));
    assert!(list.contains(&id) && list.contains("Ops hook"), "{list}");
    assert!(!list.contains(&secret), "list shows no secret: {list}");

    let invalid = certsentry(dir.path())
        .args([
            "channel",
            "create",
            "--org",
            &org,
            "--json",
            r#"{"name": "x", "type": "webhook"}"#,
        ])
        .output()
        .unwrap();
    assert!(!invalid.status.success());
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("url"));

    run_ok(certsentry(dir.path()).args(["channel", "delete", "--org", &org, &id]));
    let list = run_ok(certsentry(dir.path()).args(["channel", "list", "--org", &org]));
    assert!(!list.contains(&id), "{list}");
    let again = certsentry(dir.path())
        .args(["channel", "delete", "--org", &org, &id])
        .output()
        .unwrap();
    assert!(!again.status.success());
}

/// `dmarc domain create` prints the reporting address once and the id
/// last; `list` never shows the address; `rotate` prints a new one; the
/// plan's quota applies; `delete` removes the domain.
#[test]
fn dmarc_domain_commands() {
    let dir = tempfile::tempdir().unwrap();
    let org = last_line(&run_ok(
        certsentry(dir.path()).args(["org", "create", "--name", "Acme", "--plan", "pro"]),
    ));
    let dmarc = |args: &[&str]| {
        let mut cmd = certsentry(dir.path());
        cmd.args([
            "--dmarc-mail-domain",
            "reports.example.net",
            "dmarc",
            "domain",
        ])
        .args(args);
        cmd
    };
    let created = run_ok(&mut dmarc(&[
        "create",
        "--org",
        &org,
        "--domain",
        "Example.COM",
    ]));
    let id = last_line(&created);
    assert_eq!(id.len(), 17, "{created}");
    let address = created
        .split_whitespace()
        .find(|w| w.starts_with("dmarc+"))
        .unwrap_or_else(|| panic!("the address is shown once: {created}"))
        .to_string();
    assert!(address.ends_with("@reports.example.net"), "{address}");
    let list = run_ok(&mut dmarc(&["list", "--org", &org]));
    assert!(list.contains("example.com") && list.contains(&id), "{list}");
    assert!(!list.contains(&address), "{list}");
    let over = dmarc(&["create", "--org", &org, "--domain", "example.org"])
        .output()
        .unwrap();
    assert!(!over.status.success(), "the Pro plan allows one domain");
    let rotated = last_line(&run_ok(&mut dmarc(&["rotate", "--org", &org, &id])));
    assert!(
        rotated.starts_with("dmarc+") && rotated != address,
        "{rotated}"
    );
    run_ok(&mut dmarc(&["delete", "--org", &org, &id]));
    assert!(!run_ok(&mut dmarc(&["list", "--org", &org])).contains(&id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_bootstraps_a_key_syncs_yaml_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = certsentry(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // The first start prints the bootstrap key as the last line of its message.
    let mut key = String::new();
    for _ in 0..3 {
        key.clear();
        stdout.read_line(&mut key).unwrap();
    }
    let key = key.trim().to_string();
    assert!(key.starts_with("csk_"), "{key}");
    let mut server = ChildGuard(child);
    let api = format!("http://127.0.0.1:{port}/api/v1");
    wait_until_up(&format!("http://127.0.0.1:{port}/healthz")).await;
    let listed = reqwest::Client::new()
        .get(format!("{api}/monitors"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);

    let yaml = dir.path().join("monitors.yaml");
    std::fs::write(
        &yaml,
        "monitors:\n  - externalId: acme-web\n    label: Acme web\n    target: acme.example.com\n    checkSsl: true\n    checkDomain: true\n    checkDns: false\n    checkUptime: true\n    uptimeIntervalSeconds: 300\n    regions: [virginia]\n    alertLeadDays: [30, 14, 7]\n  - externalId: acme-db\n    kind: tcp\n    label: Acme DB\n    target: db.acme.example.com\n    tcpPort: 5432\n    uptimeIntervalSeconds: 300\n    regions: [virginia]\n",
    )
    .unwrap();
    let sync = |extra: &[&str]| {
        certsentry(dir.path())
            .env("CERTSENTRY_API_KEY", &key)
            .args(["sync"])
            .arg(&yaml)
            .args(["--api-url", &api])
            .args(extra)
            .output()
            .unwrap()
    };
    let dry = sync(&["--dry-run"]);
    let dry_out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{dry_out}{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(
        dry_out.contains("dry run") && dry_out.contains("created:   acme-web, acme-db"),
        "{dry_out}"
    );
    let applied = sync(&["--prune"]);
    let applied_out = String::from_utf8_lossy(&applied.stdout);
    assert!(
        applied_out.contains("Sync applied")
            && applied_out.contains("created:   acme-web, acme-db"),
        "{applied_out}"
    );
    let again = String::from_utf8_lossy(&sync(&[]).stdout).to_string();
    assert!(again.contains("unchanged: acme-web, acme-db"), "{again}");

    std::fs::write(&yaml, "monitors:\n  - externalId: bad\n    kind: tcp\n    label: Bad\n    target: db.acme.example.com\n    tcpPort: 25\n    uptimeIntervalSeconds: 7\n    regions: [virginia]\n").unwrap();
    let rejected = sync(&[]);
    assert!(!rejected.status.success());
    let stderr = String::from_utf8_lossy(&rejected.stderr);
    assert!(
        stderr.contains("monitors[0].tcpPort")
            && stderr.contains("monitors[0].uptimeIntervalSeconds"),
        "{stderr}"
    );

    // The CLI and the server share the database.
    let orgs = run_ok(certsentry(dir.path()).args(["org", "list"]));
    assert!(orgs.contains("default"), "{orgs}");

    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.0.wait().unwrap();
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );

    // A second start does not bootstrap again.
    let port = free_port();
    let mut second = certsentry(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let second_stdout = second.stdout.take().unwrap();
    let second = ChildGuard(second);
    wait_until_up(&format!("http://127.0.0.1:{port}/healthz")).await;
    drop(second);
    let printed: Vec<String> = BufReader::new(second_stdout)
        .lines()
        .map_while(Result::ok)
        .collect();
    assert!(printed.iter().all(|l| !l.contains("csk_")), "{printed:?}");
    let orgs = run_ok(certsentry(dir.path()).args(["org", "list"]));
    assert_eq!(orgs.lines().count(), 2, "{orgs}");
}

#[test]
fn database_urls_select_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("via-url.db");
    let url = format!("sqlite://{}", file.display());
    let out = run_ok(certsentry(dir.path()).args([
        "--database-url",
        &url,
        "org",
        "create",
        "--name",
        "Url",
    ]));
    assert_eq!(last_line(&out).len(), 17);
    assert!(file.exists(), "the sqlite:// URL chose the file");
    assert!(
        !dir.path().join("certsentry.db").exists(),
        "not the data dir default"
    );

    let bad = certsentry(dir.path())
        .args(["--database-url", "mysql://x", "migrate"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("postgres://"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_url_runs_the_cli_on_postgres() {
    let Some(url) = certsentry_store_postgres::testing::fresh_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let migrate = run_ok(
        certsentry(dir.path())
            .env("DATABASE_URL", &url)
            .arg("migrate"),
    );
    assert!(migrate.starts_with("PostgreSQL"), "{migrate}");
    let org = last_line(&run_ok(
        certsentry(dir.path())
            .env("DATABASE_URL", &url)
            .args(["org", "create", "--name", "Pg"]),
    ));
    let listed = run_ok(
        certsentry(dir.path())
            .env("DATABASE_URL", &url)
            .args(["org", "list"]),
    );
    assert!(listed.contains(&org));
    assert!(!dir.path().join("certsentry.db").exists());
}

/// Distinct idempotency keys among the requests (a delivery may arrive twice).
fn distinct_keys(receiver: &certsentry_probes::testing::WebhookReceiver) -> usize {
    receiver
        .requests()
        .iter()
        .filter_map(|r| r.header("idempotency-key").map(str::to_string))
        .collect::<std::collections::HashSet<_>>()
        .len()
}

/// `kill -9` in the middle of a burst of 1,000 events; after a restart every
/// accepted event is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_burst_loses_no_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("certsentry.toml");
    // Room for a burst: the test sends 1,000 test events through the API.
    std::fs::write(
        &config,
        "[plans.agency]\nwrites_per_minute = 100000\nreads_per_minute = 100000\n",
    )
    .unwrap();
    let port = free_port();
    let start = |dir: &Path| {
        certsentry(dir)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--config")
            .arg(&config)
            .args([
                "--allow-private-targets",
                "--retry-schedule",
                "200ms,500ms,1s,2s",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut child = start(dir.path());
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut key = String::new();
    for _ in 0..3 {
        key.clear();
        stdout.read_line(&mut key).unwrap();
    }
    let key = key.trim().to_string();
    let mut server = ChildGuard(child);
    let api = format!("http://127.0.0.1:{port}/api/v1");
    wait_until_up(&format!("http://127.0.0.1:{port}/healthz")).await;
    let client = reqwest::Client::new();
    // A slow receiver keeps deliveries in flight when the kill lands.
    let receiver =
        certsentry_probes::testing::WebhookReceiver::start(Vec::new(), Duration::from_millis(300))
            .await;
    let url = receiver.url.clone();
    let created: serde_json::Value = client
        .post(format!("{api}/notification-channels"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"name": "sink", "type": "webhook", "url": url}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channel = created["channel"]["id"].as_str().unwrap().to_string();

    let fire = |count: usize| {
        let client = client.clone();
        let (api, key, channel) = (api.clone(), key.clone(), channel.clone());
        async move {
            let mut accepted = 0;
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..count {
                let (client, api, key, channel) =
                    (client.clone(), api.clone(), key.clone(), channel.clone());
                tasks.spawn(async move {
                    client
                        .post(format!("{api}/notification-channels/{channel}/test"))
                        .bearer_auth(&key)
                        .send()
                        .await
                        .map(|r| r.status() == 202)
                        .unwrap_or(false)
                });
                if tasks.len() >= 16
                    && let Some(Ok(true)) = tasks.join_next().await
                {
                    accepted += 1;
                }
            }
            while let Some(done) = tasks.join_next().await {
                if let Ok(true) = done {
                    accepted += 1;
                }
            }
            accepted
        }
    };
    let first = fire(600).await;
    // Deliveries are in flight now; kill without warning.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let delivered_before = distinct_keys(&receiver);
    assert!(first == 600, "accepted {first} of 600");
    // The kill must land mid-burst for the test to mean anything.
    assert!(delivered_before < 600, "all delivered before the kill");
    println!("{delivered_before} of 600 delivered when killed");

    let mut restarted = start(dir.path());
    let _ = restarted.stdout.take();
    server = ChildGuard(restarted);
    wait_until_up(&format!("http://127.0.0.1:{port}/healthz")).await;
    let second = fire(400).await;
    assert_eq!(second, 400);
    for _ in 0..400 {
        if distinct_keys(&receiver) >= 1000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = distinct_keys(&receiver);
    assert_eq!(
        delivered, 1000,
        "{delivered} of 1,000 events delivered ({delivered_before} before the kill)"
    );
    drop(server);
}
