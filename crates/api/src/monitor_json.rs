//! Each monitor's JSON, serialized once per version of the monitor.
//!
//! Reading a monitor and its list pages is the API's hottest path, and
//! rendering a monitor's view (copying its definition, then serializing
//! thirty fields) was most of a read's own work. Where the store keeps its
//! monitors in memory ([`MonitorStore::shares_monitors`], the monitor cache
//! in front of SQLite), every change to a monitor replaces its `Arc`, so the
//! JSON rendered from one `Arc` stays right for as long as the store hands
//! out that same `Arc`. An entry holds a `Weak` of it, which keeps the
//! allocation from being reused while the entry lives, so an address match
//! can never be a different monitor. A store that copies on each read
//! (PostgreSQL) never matches, and nothing is kept.
//!
//! [`MonitorStore::shares_monitors`]: certsentry_store::MonitorStore::shares_monitors

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use certsentry_domain::MonitorId;
use certsentry_domain::monitor::Monitor;

use crate::views::MonitorView;

/// Rendered monitors, by id; see the module's doc.
pub struct MonitorJson {
    enabled: bool,
    entries: RwLock<Entries>,
}

#[derive(Default)]
struct Entries {
    by_id: HashMap<MonitorId, (Weak<Monitor>, Bytes)>,
    /// The size after the last sweep of deleted monitors' entries.
    swept_at: usize,
}

impl MonitorJson {
    /// `enabled` when the store shares its monitors (see the module's doc).
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            entries: RwLock::new(Entries::default()),
        }
    }

    /// The monitor's view as JSON: from the last rendering while the
    /// store still hands out this same `Arc`, else rendered now.
    pub fn view(&self, monitor: &Arc<Monitor>) -> Bytes {
        if self.enabled {
            let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((held, json)) = entries.by_id.get(&monitor.id)
                && std::ptr::eq(held.as_ptr(), Arc::as_ptr(monitor))
            {
                return json.clone();
            }
        }
        let json = Bytes::from(
            serde_json::to_vec(&MonitorView::from(&**monitor))
                .expect("a monitor's view always serializes"),
        );
        if self.enabled {
            let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
            entries
                .by_id
                .insert(monitor.id.clone(), (Arc::downgrade(monitor), json.clone()));
            // Deleted monitors' entries go once the map has doubled.
            if entries.by_id.len() > 2 * entries.swept_at.max(1024) {
                entries.by_id.retain(|_, (held, _)| held.strong_count() > 0);
                entries.swept_at = entries.by_id.len();
            }
        }
        json
    }

    /// `{"monitor": …}`, as `GET /monitors/:id` answers.
    pub fn envelope(&self, monitor: &Arc<Monitor>) -> Response {
        let view = self.view(monitor);
        let mut body = Vec::with_capacity(view.len() + 12);
        body.extend_from_slice(b"{\"monitor\":");
        body.extend_from_slice(&view);
        body.push(b'}');
        json_response(body)
    }

    /// `{"monitors": […], "nextCursor": …}`, as `GET /monitors` answers.
    pub fn list(&self, monitors: &[Arc<Monitor>], next_cursor: Option<&str>) -> Response {
        let views: Vec<Bytes> = monitors.iter().map(|m| self.view(m)).collect();
        let mut body = Vec::with_capacity(views.iter().map(|v| v.len() + 1).sum::<usize>() + 64);
        body.extend_from_slice(b"{\"monitors\":[");
        for (i, view) in views.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(view);
        }
        body.extend_from_slice(b"],\"nextCursor\":");
        body.extend_from_slice(
            &serde_json::to_vec(&next_cursor).expect("an optional string serializes"),
        );
        body.push(b'}');
        json_response(body)
    }
}

fn json_response(body: Vec<u8>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::{MonitorEnvelope, MonitorList};
    use certsentry_domain::OrgId;
    use certsentry_domain::monitor::MonitorSpec;

    fn monitor(label: &str) -> Arc<Monitor> {
        Arc::new(Monitor::new(
            OrgId::generate(),
            MonitorSpec::standard(label, "shop.example.com", vec!["virginia".into()]),
        ))
    }

    async fn body_of(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    #[tokio::test]
    async fn bodies_match_what_serde_writes_for_the_envelopes() {
        let cache = MonitorJson::new(true);
        let (a, b) = (monitor("A"), monitor("B"));
        let one = body_of(cache.envelope(&a)).await;
        let expected = serde_json::to_vec(&MonitorEnvelope {
            monitor: MonitorView::from(&*a),
        })
        .unwrap();
        assert_eq!(one, expected);
        let list = body_of(cache.list(&[a.clone(), b.clone()], Some("next"))).await;
        let expected = serde_json::to_vec(&MonitorList {
            monitors: vec![MonitorView::from(&*a), MonitorView::from(&*b)],
            next_cursor: Some("next".into()),
        })
        .unwrap();
        assert_eq!(list, expected);
        let empty = body_of(cache.list(&[], None)).await;
        assert_eq!(empty, br#"{"monitors":[],"nextCursor":null}"#);
    }

    #[test]
    fn a_changed_monitor_is_rendered_again() {
        let cache = MonitorJson::new(true);
        let first = monitor("Before");
        assert!(String::from_utf8_lossy(&cache.view(&first)).contains("Before"));
        // The store replaces the Arc on a change: same id, new contents.
        let mut changed = (*first).clone();
        changed.spec.label = "After".into();
        let changed = Arc::new(changed);
        assert!(String::from_utf8_lossy(&cache.view(&changed)).contains("After"));
        // The same Arc is served from the cache: the very same bytes.
        let again = cache.view(&changed);
        assert_eq!(again.as_ptr(), cache.view(&changed).as_ptr());
    }

    #[test]
    fn without_shared_monitors_nothing_is_kept() {
        let cache = MonitorJson::new(false);
        let m = monitor("A");
        let _ = cache.view(&m);
        assert!(cache.entries.read().unwrap().by_id.is_empty());
    }
}
