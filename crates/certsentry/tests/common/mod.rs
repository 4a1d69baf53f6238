//! Shared harness: the whole runtime (`certsentry::runtime`, as
//! `certsentry serve` builds it) on 127.0.0.1:0 over each store backend.
#![allow(dead_code)]

pub mod web;

use std::sync::Arc;

use std::time::Duration;

use certsentry::runtime::{Launched, Runtime, RuntimeConfig};
use certsentry_api::ApiConfig;
use certsentry_domain::apikey::new_api_key;
use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::org::Org;
use certsentry_domain::time::now_ms;
use certsentry_domain::{ApiKeyId, OrgId};
use certsentry_store::Store;
use certsentry_store_postgres::PostgresBackend;
use certsentry_store_sqlite::SqliteBackend;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Every backend to run a test against: SQLite always, Postgres when configured.
pub async fn backends() -> Vec<(&'static str, Arc<dyn Store>)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteBackend::open(&dir.path().join("api.db"))
        .await
        .unwrap();
    std::mem::forget(dir);
    // As `certsentry serve` runs SQLite: behind the write-through monitor cache.
    let cached = certsentry_store::CachedStore::load(sqlite).await.unwrap();
    let mut stores: Vec<(&'static str, Arc<dyn Store>)> = vec![("sqlite", Arc::new(cached))];
    if let Some(url) = certsentry_store_postgres::testing::fresh_database().await {
        stores.push((
            "postgres",
            Arc::new(PostgresBackend::connect(&url).await.unwrap()),
        ));
    }
    stores
}

pub struct Harness {
    pub backend: &'static str,
    pub server: Launched,
    pub store: Arc<dyn Store>,
    pub org: OrgId,
    pub key: String,
    pub key_id: ApiKeyId,
    client: reqwest::Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The error envelope's code, asserting the envelope's shape.
    pub fn code(&self) -> &str {
        assert!(
            self.body["error"]["message"].is_string(),
            "no error envelope: {}",
            self.body
        );
        self.body["error"]["code"].as_str().unwrap()
    }

    pub fn detail(&self, field: &str) -> Option<&str> {
        self.body["error"]["details"][field].as_str()
    }
}

pub async fn add_org(store: &dyn Store, plan: &str) -> OrgId {
    let org = Org {
        id: OrgId::generate(),
        name: format!("{plan} org"),
        plan: plan.into(),
        created_at: now_ms(),
    };
    let audit = AuditEvent::new(
        &org.id,
        &Actor::cli(),
        "organization.create",
        "organization",
        org.id.as_str(),
        json!({}),
    );
    store.create_org(&org, &audit).await.unwrap();
    org.id
}

pub async fn add_key(store: &dyn Store, org: &OrgId, read_only: bool) -> (ApiKeyId, String) {
    let name = if read_only { "reader" } else { "writer" };
    let (key, plaintext) = new_api_key(org, name, read_only);
    let audit = AuditEvent::new(
        org,
        &Actor::cli(),
        "apiKey.create",
        "apiKey",
        key.id.as_str(),
        json!({}),
    );
    store.create_api_key(&key, &audit).await.unwrap();
    (key.id, plaintext)
}

impl Harness {
    pub async fn start(
        backend: &'static str,
        store: Arc<dyn Store>,
        plan: &str,
        configure: impl FnOnce(&mut ApiConfig),
    ) -> Self {
        Self::start_runtime(backend, store, plan, |runtime| configure(&mut runtime.api)).await
    }

    /// As [`Harness::start`], configuring the whole runtime (CT feeds, the outbox).
    pub async fn start_runtime(
        backend: &'static str,
        store: Arc<dyn Store>,
        plan: &str,
        configure: impl FnOnce(&mut RuntimeConfig),
    ) -> Self {
        let mut api = ApiConfig {
            allow_private_targets: true,
            ..ApiConfig::default()
        };
        // The real DMARC samples are from 2018, past every plan's retention:
        // the runtime's first retention pass, which runs whenever its task
        // is scheduled, pruned one mid-test about once in a hundred loaded
        // runs (a second upload stored anew, a new source not alerted).
        api.plans.set_dmarc_retention_days(100 * 366);
        let mut config = RuntimeConfig {
            outbox: certsentry_notify::OutboxConfig {
                policy: certsentry_notify::retry::RetryPolicy::parse("200ms,200ms,200ms").unwrap(),
                timeout: Duration::from_secs(5),
                allow_private_targets: true,
                poll: Duration::from_millis(50),
                // Short, so chat tests don't wait; the grouping test sets its own.
                chat_group_window: Duration::from_millis(200),
                ..Default::default()
            },
            api,
            // Tests run checks through `POST …/check` and sweep heartbeats
            // by hand, so that no background pass races their counts.
            scheduler: false,
            heartbeat_sweep: Duration::from_secs(3600),
            ptr_lookups: false,
            ..RuntimeConfig::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        // The links the dashboard hands out point at this server.
        config.web.public_url = format!("http://{}", listener.local_addr().unwrap());
        configure(&mut config);
        config.outbox.allow_private_targets = config.api.allow_private_targets;
        let org = add_org(&*store, plan).await;
        let (key_id, key) = add_key(&*store, &org, false).await;
        let server = Runtime::build(store.clone(), config)
            .await
            .unwrap()
            .launch_with_tcp_listener(listener)
            .unwrap();
        Self {
            backend,
            server,
            store,
            org,
            key,
            key_id,
            client: reqwest::Client::new(),
        }
    }

    pub async fn request_with(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<String>,
    ) -> Reply {
        let url = if path.starts_with('/') {
            self.server.url(path)
        } else {
            format!("{}/{path}", self.server.api_url())
        };
        let mut request = self.client.request(method, url);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        assert_ne!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "[{}] 500: {body}",
            self.backend
        );
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request_with(Method::GET, path, Some(&self.key), None)
            .await
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.request_with(Method::POST, path, Some(&self.key), Some(body.to_string()))
            .await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.request_with(Method::PATCH, path, Some(&self.key), Some(body.to_string()))
            .await
    }
    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.request_with(Method::PUT, path, Some(&self.key), Some(body.to_string()))
            .await
    }
    /// POSTs raw bytes (a file upload) with the harness's key.
    pub async fn post_bytes(&self, path: &str, bytes: Vec<u8>) -> Reply {
        let response = self
            .client
            .post(format!("{}/{path}", self.server.api_url()))
            .bearer_auth(&self.key)
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "500: {body}");
        Reply {
            status,
            headers,
            body,
        }
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.request_with(Method::DELETE, path, Some(&self.key), None)
            .await
    }
}

/// The seed's "Create a monitor" body.
pub fn seed_standard() -> Value {
    json!({
        "label": "Client: Acme Corp",
        "target": "acme.example.com",
        "checkSsl": true,
        "checkDomain": true,
        "checkDns": false,
        "checkUptime": true,
        "uptimeIntervalSeconds": 300,
        "regions": ["virginia"],
        "alertLeadDays": [30, 14, 7, 3, 1]
    })
}

pub fn seed_tcp() -> Value {
    json!({
        "kind": "tcp",
        "label": "Postgres",
        "target": "db.acme.example.com",
        "tcpPort": 5432,
        "uptimeIntervalSeconds": 300,
        "regions": ["virginia"]
    })
}

pub fn seed_heartbeat() -> Value {
    json!({
        "kind": "heartbeat",
        "label": "Nightly backup",
        "heartbeatIntervalSeconds": 86400,
        "heartbeatGraceSeconds": 3600
    })
}

pub fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

impl Harness {
    /// The requests `receiver` got, once it has at least `n` of them. If
    /// they do not come within 10 seconds, the failure shows the org's
    /// events and delivery log, so that a missing delivery says whether it
    /// was never queued, is still pending, or failed (and with what error).
    pub async fn delivered(
        &self,
        receiver: &certsentry_probes::testing::WebhookReceiver,
        n: usize,
    ) -> Vec<certsentry_probes::testing::ReceivedRequest> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while receiver.len() < n && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let requests = receiver.requests();
        if requests.len() < n {
            let events = self.get("events").await.body;
            let deliveries = self.get("deliveries").await.body;
            panic!(
                "[{}] {} of {n} requests arrived\nevents: {events}\ndeliveries: {deliveries}",
                self.backend,
                requests.len()
            );
        }
        requests
    }
}
