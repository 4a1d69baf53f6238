//! The tables of a certwatch deployment, which `certsentry certwatch` runs
//! against in certwatch's place. Upstream systems own
//! `public.intent_current` (the watched names) and `public.certs` (the
//! load balancers' inventory); they are only read. `public.alerts` is the
//! only table written.
//!
//! An alert row is written when a certificate matches, before its grace
//! window ends (`decided_at` empty, severity provisional), and decided
//! afterwards. A row is the durable record of an accepted alert: it is
//! delivered, retried and swept from the table, so a restart loses none.

use std::time::Duration;

use async_trait::async_trait;

use certsentry_store::StoreResult;

/// The hashes a logged certificate can be known by; lowercase hex, empty
/// when unknown (a lite certstream entry has no TBS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertKeys {
    pub fingerprint_sha1: String,
    pub cert_sha256: String,
    pub tbs_sha256: String,
}

impl CertKeys {
    /// Every spelling upstream inventories use: lowercase and uppercase
    /// hex, with and without colons between bytes.
    pub fn spellings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for hash in [&self.fingerprint_sha1, &self.cert_sha256, &self.tbs_sha256] {
            if hash.is_empty() {
                continue;
            }
            let lower = hash.to_ascii_lowercase();
            let upper = hash.to_ascii_uppercase();
            let colons = |h: &str| {
                h.as_bytes()
                    .chunks(2)
                    .map(|pair| String::from_utf8_lossy(pair).into_owned())
                    .collect::<Vec<_>>()
                    .join(":")
            };
            out.extend([colons(&upper), colons(&lower), lower, upper]);
        }
        out
    }
}

/// A matched certificate, as first recorded.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub keys: CertKeys,
    /// certwatch's alert JSON; its `severity` is the provisional one until
    /// the alert is decided.
    pub payload: serde_json::Value,
    /// Known at once (in the inventory): decided now.
    pub decided: bool,
    /// Queue it for the webhook now (a decided alert with a webhook set).
    pub deliver: bool,
}

/// An alert row.
#[derive(Debug, Clone)]
pub struct StoredAlert {
    pub id: i64,
    pub keys: CertKeys,
    pub payload: serde_json::Value,
    /// Delivery attempts so far.
    pub attempts: u32,
}

#[async_trait]
pub trait CertwatchTables: Send + Sync {
    /// `public.intent_current.fqdn`, as stored.
    async fn watched_names(&self) -> StoreResult<Vec<String>>;
    /// Whether `public.certs` holds any of the keys, in any spelling.
    async fn in_inventory(&self, keys: &CertKeys) -> StoreResult<bool>;
    /// Writes the alert row unless one exists for its `tbs_sha256` (the
    /// other half of a precert/certificate pair, or a replay); its id.
    async fn insert_alert(&self, alert: &NewAlert) -> StoreResult<Option<i64>>;
    /// Undecided alerts recorded at least `grace` ago, oldest first.
    async fn undecided_alerts(&self, grace: Duration, limit: u32) -> StoreResult<Vec<StoredAlert>>;
    /// Decides an alert: its final payload and severity, queued for the
    /// webhook when `deliver`. `false` if it was decided already.
    async fn decide_alert(
        &self,
        id: i64,
        payload: &serde_json::Value,
        deliver: bool,
    ) -> StoreResult<bool>;
    /// Decided, undelivered alerts whose next attempt is due, oldest first.
    async fn due_deliveries(&self, limit: u32) -> StoreResult<Vec<StoredAlert>>;
    /// Records `attempts` more delivery attempts: delivered, or failed with
    /// `error` and tried again after `retry_in`.
    async fn record_delivery(
        &self,
        id: i64,
        attempts: u32,
        error: Option<&str>,
        retry_in: Duration,
    ) -> StoreResult<()>;
    /// Deletes alerts recorded more than `retention` ago; how many.
    async fn prune_alerts(&self, retention: Duration) -> StoreResult<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_spelled_every_way_inventories_do() {
        let keys = CertKeys {
            fingerprint_sha1: "9414f0d3".into(),
            ..CertKeys::default()
        };
        assert_eq!(
            keys.spellings(),
            vec!["94:14:F0:D3", "94:14:f0:d3", "9414f0d3", "9414F0D3"]
        );
        assert!(CertKeys::default().spellings().is_empty());
    }
}
