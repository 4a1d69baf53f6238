//! `certsentry serve` as a child process on a free loopback port, for the
//! end-to-end suites that need the real binary (its flags, env vars and
//! restarts). The first start on an empty data dir prints the API key.
#![allow(dead_code)]

pub mod target;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A child process killed (and reaped) when the test lets go of it.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct ServeProcess {
    child: ChildGuard,
    pub base: String,
    /// The key printed on first start (`None` on a restart).
    pub key: Option<String>,
    /// The dashboard's setup link printed on first start.
    pub setup_link: Option<String>,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl ServeProcess {
    /// Starts `serve` on SQLite in `data_dir` with extra env vars, and
    /// waits until it answers.
    pub async fn start(data_dir: &Path, env: &[(&str, &str)]) -> Self {
        Self::start_on(data_dir, free_port(), env).await
    }

    /// As [`start`](Self::start), on `port` (a restart where clients
    /// expect the server back).
    pub async fn start_on(data_dir: &Path, port: u16, env: &[(&str, &str)]) -> Self {
        let first_start = !data_dir.join("certsentry.db").exists();
        Self::start_with(data_dir, port, env, &[], first_start).await
    }

    /// As [`start_on`](Self::start_on), with extra flags, saying whether
    /// this is the database's first start (a second node on Postgres is
    /// not, though its data dir is new).
    pub async fn start_with(
        data_dir: &Path,
        port: u16,
        env: &[(&str, &str)],
        flags: &[&str],
        first_start: bool,
    ) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_certsentry"));
        command
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--allow-private-targets",
            ])
            .args(flags)
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("DATABASE_URL")
            .env_remove("CERTSENTRY_CONFIG")
            .env("CERTSENTRY_LOG", "warn")
            .stdout(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let (mut key, mut setup_link) = (None, None);
        if first_start {
            // The key's three lines, then the setup link's two: all read
            // before the pipe closes, so no line is written to a closed one.
            let mut stdout = BufReader::new(child.stdout.take().unwrap());
            let mut lines = Vec::new();
            for _ in 0..5 {
                let mut line = String::new();
                stdout.read_line(&mut line).unwrap();
                lines.push(line.trim().to_string());
            }
            key = Some(lines[2].clone());
            setup_link = Some(lines[4].clone());
        }
        let process = Self {
            child: ChildGuard(child),
            base: format!("http://127.0.0.1:{port}"),
            key,
            setup_link,
        };
        wait_until_up(&format!("{}/healthz", process.base)).await;
        process
    }

    /// `kill -9`.
    pub fn kill(mut self) {
        self.child.0.kill().unwrap();
        self.child.0.wait().unwrap();
    }

    pub async fn health(&self) -> Value {
        get_json(
            &reqwest::Client::new(),
            format!("{}/healthz", self.base),
            None,
        )
        .await
    }
}

/// `POST url` with a JSON body and the API key; the answer as JSON.
pub async fn post_json(client: &reqwest::Client, url: String, key: &str, body: Value) -> Value {
    let request = client.post(url).bearer_auth(key).json(&body);
    request.send().await.unwrap().json().await.unwrap()
}

/// `GET url` as JSON, with the API key when given.
pub async fn get_json(client: &reqwest::Client, url: String, key: Option<&str>) -> Value {
    let mut request = client.get(url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap().json().await.unwrap()
}

/// `GET url` as text.
pub async fn get_text(client: &reqwest::Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// Creates a monitor that only watches CT for `target`'s domain.
pub async fn create_ct_monitor(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    target: &str,
) -> Value {
    client
        .post(format!("{base}/api/v1/monitors"))
        .bearer_auth(key)
        .json(&serde_json::json!({
            "label": "Example", "target": target,
            "checkSsl": false, "checkDomain": false, "checkDns": false, "checkUptime": false,
            "checkCt": true, "uptimeIntervalSeconds": 3600, "regions": ["virginia"],
            "alertLeadDays": [30]
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until something answers on `url` (up to 10 s).
pub async fn wait_until_up(url: &str) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(url).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing answered on {url}");
}

/// Polls `done` every 100 ms for up to 30 s.
pub async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}
