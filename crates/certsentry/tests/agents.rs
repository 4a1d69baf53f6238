//! Probe agents end to end, as real processes: `certsentry serve` (two
//! nodes on PostgreSQL for the outage rule, when one is configured) and
//! `certsentry agent` children on loopback, agent tokens made with the
//! CLI, and a target that answers each region by the `User-Agent` its
//! agent sends (each agent names its region there). Checks run every
//! 400 ms (`--check-interval-ms`) so that minutes of monitoring fit in
//! seconds; leases keep their real length (60 s at least).

mod serve;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use serve::target::Target;
use serve::{ChildGuard, ServeProcess, free_port, get_json, wait_for};

/// `serve` on SQLite in `data_dir`, with the read limit lifted: the tests
/// poll the API far more often than a plan allows.
async fn serve(data_dir: &Path, port: Option<u16>) -> ServeProcess {
    let config = data_dir.join("certsentry.toml");
    std::fs::write(&config, "[plans.agency]\nreads_per_minute = 1000000\n").unwrap();
    let env = [("CERTSENTRY_CONFIG", config.to_str().unwrap())];
    ServeProcess::start_on(data_dir, port.unwrap_or_else(free_port), &env).await
}

fn certsentry(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_certsentry"));
    cmd.arg("--data-dir").arg(data_dir);
    for var in [
        "DATABASE_URL",
        "CERTSENTRY_CONFIG",
        "CERTSENTRY_AGENT_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("CERTSENTRY_LOG", "warn");
    cmd
}

/// `certsentry agent-token create --region R`: the token, its last line.
fn agent_token(data_dir: &Path, region: &str) -> String {
    agent_token_in(data_dir, None, region)
}

/// As [`agent_token`], in the database `database_url` names when given.
fn agent_token_in(data_dir: &Path, database_url: Option<&str>, region: &str) -> String {
    let mut command = certsentry(data_dir);
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    let out = command
        .args(["agent-token", "create", "--region", region])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string()
}

/// `certsentry agent` for `region`, its buffer in its own directory,
/// checking every 400 ms.
fn agent(server: &str, region: &str, token: &str, buffer: &Path) -> ChildGuard {
    agent_checking_every(server, region, token, buffer, 400)
}

/// As [`agent`], checking every `interval_ms`.
fn agent_checking_every(
    server: &str,
    region: &str,
    token: &str,
    buffer: &Path,
    interval_ms: u32,
) -> ChildGuard {
    let child = certsentry(buffer)
        .args([
            "agent",
            "--server",
            server,
            "--region",
            region,
            "--allow-private-targets",
            "--check-interval-ms",
            &interval_ms.to_string(),
        ])
        .env("CERTSENTRY_AGENT_TOKEN", token)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    ChildGuard(child)
}

struct Api {
    base: String,
    key: String,
    client: reqwest::Client,
}

impl Api {
    async fn get(&self, path: &str) -> Value {
        get_json(
            &self.client,
            format!("{}/api/v1/{path}", self.base),
            Some(&self.key),
        )
        .await
    }

    async fn monitor(&self, label: &str, target: &str, regions: &[&str]) -> String {
        let made: Value = self
            .client
            .post(format!("{}/api/v1/monitors", self.base))
            .bearer_auth(&self.key)
            .json(&json!({
                "label": label, "target": target, "regions": regions,
                "checkSsl": false, "checkDomain": false, "checkDns": false,
                "checkUptime": true, "uptimeIntervalSeconds": 60, "alertLeadDays": [7]
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        made["monitor"]["id"].as_str().expect("created").to_string()
    }

    /// The monitor's results of one region, oldest first, every page.
    async fn results_in(&self, monitor: &str, region: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = self
                .get(&format!("monitors/{monitor}/results?limit=500{cursor}"))
                .await;
            let results = page["results"]
                .as_array()
                .unwrap_or_else(|| panic!("{page}"));
            all.extend(results.iter().cloned());
            match page["nextCursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
        all.retain(|r| r["region"] == region);
        all.reverse();
        all
    }

    async fn events(&self, monitor: &str, event_type: &str) -> usize {
        self.get(&format!("events?monitor={monitor}&type={event_type}"))
            .await["events"]
            .as_array()
            .unwrap()
            .len()
    }
}

/// The jobs each agent of `region` holds, as `GET /api/v1/regions` says.
async fn held_jobs(api: &Api, region: &str) -> Vec<u64> {
    let regions = api.get("regions").await;
    let region = regions["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == region)
        .unwrap()
        .clone();
    let mut jobs: Vec<u64> = region["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["jobs"].as_u64().unwrap())
        .collect();
    jobs.sort();
    jobs
}

/// When a result was checked, in milliseconds.
fn at(result: &Value) -> i64 {
    certsentry_domain::time::parse_datetime(result["createdAt"].as_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_needs_two_regions_and_tokens_open_only_their_region() {
    let dir = tempfile::tempdir().unwrap();
    // Two server nodes on PostgreSQL, the agents spread over both; one node
    // on SQLite where no PostgreSQL is configured (said in the output).
    let database_url = certsentry_store_postgres::testing::fresh_database().await;
    let nodes = match &database_url {
        Some(url) => {
            let config = dir.path().join("certsentry.toml");
            std::fs::write(&config, "[plans.agency]\nreads_per_minute = 1000000\n").unwrap();
            let env = [
                ("DATABASE_URL", url.as_str()),
                ("CERTSENTRY_CONFIG", config.to_str().unwrap()),
            ];
            let first =
                ServeProcess::start_with(&dir.path().join("a"), free_port(), &env, &[], true).await;
            let second =
                ServeProcess::start_with(&dir.path().join("b"), free_port(), &env, &[], false)
                    .await;
            vec![first, second]
        }
        None => vec![serve(dir.path(), None).await],
    };
    let server = &nodes[0];
    let api = Api {
        base: server.base.clone(),
        key: server.key.clone().unwrap(),
        client: reqwest::Client::new(),
    };
    let target = Target::default();
    let url = target.start().await;
    let mut agents = Vec::new();
    let mut tokens = BTreeMap::new();
    for (i, region) in ["virginia", "dublin", "singapore"].into_iter().enumerate() {
        let token = agent_token_in(dir.path(), database_url.as_deref(), region);
        let buffer = dir.path().join(format!("agent-{region}"));
        let node = &nodes[i % nodes.len()];
        agents.push(agent(&node.base, region, &token, &buffer));
        tokens.insert(region, token);
    }
    wait_for("every region served by its agent", async || {
        let regions = api.get("regions").await;
        regions["regions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["servedBy"] == "agents")
    })
    .await;

    let monitor = api
        .monitor("shop", &url, &["virginia", "dublin", "singapore"])
        .await;
    wait_for("results from every region", async || {
        let mut all = true;
        for region in ["virginia", "dublin", "singapore"] {
            all &= api.results_in(&monitor, region).await.len() >= 2;
        }
        all
    })
    .await;
    assert_eq!(
        target.seen_in("server"),
        0,
        "the server leaves agent regions alone"
    );
    assert_eq!(
        api.get(&format!("monitors/{monitor}")).await["monitor"]["lastStatus"],
        "up"
    );

    // Failing only for dublin: many consecutive failures, no outage.
    target.fail_in(&["dublin"]);
    let before = target.seen_in("dublin");
    wait_for("dublin's failures", async || {
        target.seen_in("dublin") >= before + 6
    })
    .await;
    wait_for("dublin's failures stored", async || {
        let dublin = api.results_in(&monitor, "dublin").await;
        dublin.iter().rev().take(4).all(|r| r["status"] == "fail")
    })
    .await;
    assert_eq!(
        api.events(&monitor, "uptime.down").await,
        0,
        "one region is not enough"
    );
    assert_eq!(
        api.get(&format!("monitors/{monitor}")).await["monitor"]["lastStatus"],
        "up"
    );

    // Failing for two: one outage, then one recovery.
    target.fail_in(&["dublin", "virginia"]);
    wait_for("uptime.down", async || {
        api.events(&monitor, "uptime.down").await == 1
    })
    .await;
    target.fail_in(&[]);
    wait_for("uptime.up", async || {
        api.events(&monitor, "uptime.up").await == 1
    })
    .await;
    let settle = target.seen_in("virginia") + 4;
    wait_for("a few more checks", async || {
        target.seen_in("virginia") >= settle
    })
    .await;
    assert_eq!(
        api.events(&monitor, "uptime.down").await,
        1,
        "exactly one outage"
    );
    assert_eq!(api.events(&monitor, "uptime.up").await, 1);

    // Tokens: only their own region's protocol.
    let client = reqwest::Client::new();
    let jobs = |region: &str| format!("{}/agent/v1/regions/{region}/jobs", server.base);
    let dublin_token = &tokens["dublin"];
    let other = client
        .post(jobs("virginia"))
        .bearer_auth(dublin_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 403, "another region's jobs");
    let api_call = client
        .get(format!("{}/api/v1/monitors", server.base))
        .bearer_auth(dublin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(api_call.status(), 401, "an agent token is no API key");
    let with_key = client
        .post(jobs("dublin"))
        .bearer_auth(&api.key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(with_key.status(), 401, "an API key is no agent token");

    // Singapore's only agent dies: after a minute of silence the region is
    // unavailable (a warning), its monitor is not down; a new agent brings
    // the region back.
    let singapore = agents.remove(2);
    drop(singapore);
    let region_events = async |event_type: &str| {
        api.get(&format!("events?type={event_type}")).await["events"]
            .as_array()
            .unwrap()
            .clone()
    };
    let mut unavailable = Vec::new();
    for _ in 0..100 {
        unavailable = region_events("region.unavailable").await;
        if !unavailable.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(unavailable.len(), 1, "region.unavailable once");
    assert_eq!(unavailable[0]["severity"], "warning");
    assert_eq!(unavailable[0]["monitor"]["id"], "region:singapore");
    assert_eq!(
        api.get(&format!("monitors/{monitor}")).await["monitor"]["lastStatus"],
        "up"
    );
    assert_eq!(
        api.events(&monitor, "uptime.down").await,
        1,
        "no outage from silence"
    );
    let _back = agent(
        &nodes[nodes.len() - 1].base,
        "singapore",
        &tokens["singapore"],
        &dir.path().join("agent-singapore"),
    );
    wait_for("region.available", async || {
        region_events("region.available").await.len() == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agents_jobs_go_to_another_after_its_lease() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), None).await;
    let api = Api {
        base: server.base.clone(),
        key: server.key.clone().unwrap(),
        client: reqwest::Client::new(),
    };
    let target = Target::default();
    let url = target.start().await;
    // Checks a second apart: two agents on one monitor check it in the
    // same slot (slots follow the wall clock), within a few ms of each
    // other, while one agent's consecutive checks are a second apart give
    // or take how late each started. At 400 ms, a check that started
    // 250 ms late on a loaded machine (the record's time is when the
    // check started) looked like a second agent.
    let first = agent_checking_every(
        &server.base,
        "dublin",
        &agent_token(dir.path(), "dublin"),
        &dir.path().join("first"),
        1000,
    );
    let a = api.monitor("a", &format!("{url}?a"), &["dublin"]).await;
    let b = api.monitor("b", &format!("{url}?b"), &["dublin"]).await;
    wait_for("the first agent checks both", async || {
        api.results_in(&a, "dublin").await.len() >= 2
            && api.results_in(&b, "dublin").await.len() >= 2
    })
    .await;
    let second = agent_checking_every(
        &server.base,
        "dublin",
        &agent_token(dir.path(), "dublin"),
        &dir.path().join("second"),
        1000,
    );
    // The second agent takes its share: one of the two monitors.
    wait_for("the jobs shared", async || {
        held_jobs(&api, "dublin").await == vec![1, 1]
    })
    .await;
    drop(second); // kill -9
    let killed_at = certsentry_domain::time::now_ms();
    let mut taken_over = false;
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (ra, rb) = (
            api.results_in(&a, "dublin").await,
            api.results_in(&b, "dublin").await,
        );
        let latest = |r: &[Value]| r.last().map_or(0, at);
        if latest(&ra) > killed_at + 1_000 && latest(&rb) > killed_at + 1_000 {
            taken_over = true;
            break;
        }
    }
    assert!(taken_over, "the first agent took the killed one's job back");
    let held = held_jobs(&api, "dublin").await;
    assert!(held.contains(&2), "one agent holds both: {held:?}");
    for (name, monitor) in [("a", &a), ("b", &b)] {
        let results = api.results_in(monitor, "dublin").await;
        let times: Vec<i64> = results.iter().map(at).collect();
        let gap = times.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        assert!(
            gap <= 90_000,
            "{name}: no check was lost for longer than a lease (60 s) and a poll: {gap} ms"
        );
        let crowded: Vec<String> = results
            .windows(2)
            .filter(|w| at(&w[1]) - at(&w[0]) < 150)
            .map(|w| format!("{} then {}", w[0], w[1]))
            .collect();
        assert!(
            crowded.is_empty(),
            "{name}: never checked by two agents at once (killed at {killed_at}): {crowded:?}"
        );
    }
    drop(first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_cut_off_uploads_its_buffer_when_the_server_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = serve(dir.path(), Some(port)).await;
    let key = server.key.clone().unwrap();
    let api = Api {
        base: server.base.clone(),
        key,
        client: reqwest::Client::new(),
    };
    let target = Target::default();
    let url = target.start().await;
    let _agent = agent(
        &server.base,
        "singapore",
        &agent_token(dir.path(), "singapore"),
        &dir.path().join("buffer"),
    );
    let monitor = api.monitor("shop", &url, &["singapore"]).await;
    wait_for("the agent's first results", async || {
        api.results_in(&monitor, "singapore").await.len() >= 2
    })
    .await;

    // Five minutes without a server.
    server.kill();
    let cut_at = certsentry_domain::time::now_ms();
    let seen_before = target.seen_in("singapore");
    tokio::time::sleep(Duration::from_secs(300)).await;
    let checked_offline = target.seen_in("singapore") - seen_before;
    assert!(
        checked_offline >= 500,
        "it kept checking: {checked_offline}"
    );
    let back_at = certsentry_domain::time::now_ms();
    let _server = serve(dir.path(), Some(port)).await;

    // Everything the target answered up to now arrives, once.
    let seen = target.seen_in("singapore");
    let mut stored = Vec::new();
    for _ in 0..60 {
        stored = api.results_in(&monitor, "singapore").await;
        if stored.len() >= seen {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        stored.len() >= seen,
        "{} stored, {seen} checked",
        stored.len()
    );
    assert!(
        stored.len() <= target.seen_in("singapore"),
        "nothing stored twice: {} stored, {} checked",
        stored.len(),
        target.seen_in("singapore")
    );
    let offline = stored
        .iter()
        .filter(|r| (cut_at..back_at).contains(&at(r)))
        .count();
    assert!(
        offline + 2 >= checked_offline,
        "the offline window's checks are in /results: {offline} of {checked_offline}"
    );
    let ids: HashSet<&str> = stored.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), stored.len());
}
