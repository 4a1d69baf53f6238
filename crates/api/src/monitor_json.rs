//! Each monitor's JSON, serialized once per version of the monitor.
//!
//! What is kept is the whole `GET /monitors/:id` body, `{"monitor":…}`:
//! that answer is then the kept bytes themselves (a reference count, no
//! copy), and a list page copies the view out of it.
//!
//! Reading a monitor and its list pages is the API's hottest path, and
//! rendering a monitor's view (copying its definition, then serializing
//! thirty fields) was most of a read's own work. Where the store keeps its
//! monitors in memory ([`MonitorStore::shares_monitors`], the monitor cache
//! in front of SQLite), every change to a monitor replaces its `Arc`, so the
//! JSON rendered from one `Arc` stays right for as long as the store hands
//! out that same `Arc`. Entries are found by the `Arc`'s address, and each
//! holds a `Weak` of it, which keeps the allocation from being reused while
//! the entry lives, so an address match can never be a different monitor.
//! (Keyed by monitor id, comparing the ids' strings, scattered on the heap,
//! was a tenth of a list page's time.) A store that copies on each read
//! (PostgreSQL) never matches, and nothing is kept.
//!
//! [`MonitorStore::shares_monitors`]: certsentry_store::MonitorStore::shares_monitors

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use certsentry_domain::monitor::Monitor;

use crate::views::MonitorView;

/// Rendered monitors, by id; see the module's doc.
pub struct MonitorJson {
    enabled: bool,
    entries: RwLock<Entries>,
}

#[derive(Default)]
struct Entries {
    /// By the address of the `Arc` rendered; see the module's doc. The
    /// bytes are the monitor's envelope, `{"monitor":…}`.
    by_address: HashMap<usize, (Weak<Monitor>, Bytes)>,
    /// The size after the last sweep of dropped versions' entries.
    swept_at: usize,
}

fn address(monitor: &Arc<Monitor>) -> usize {
    Arc::as_ptr(monitor) as usize
}

impl Entries {
    /// The envelope rendered from this very `Arc`, if any.
    fn get(&self, monitor: &Arc<Monitor>) -> Option<&Bytes> {
        // The entry's `Weak` pins the address, so a hit is this `Arc`.
        self.by_address.get(&address(monitor)).map(|(_, json)| json)
    }
}

/// What an envelope holds around the monitor's view.
const ENVELOPE_OPEN: &[u8] = b"{\"monitor\":";
const ENVELOPE_CLOSE: &[u8] = b"}";

/// The view inside an envelope made by [`MonitorJson::rendered`].
fn view_in(envelope: &[u8]) -> &[u8] {
    &envelope[ENVELOPE_OPEN.len()..envelope.len() - ENVELOPE_CLOSE.len()]
}

impl MonitorJson {
    /// `enabled` when the store shares its monitors (see the module's doc).
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            entries: RwLock::new(Entries::default()),
        }
    }

    /// The monitor's view as JSON.
    pub fn view(&self, monitor: &Arc<Monitor>) -> Bytes {
        let envelope = self.rendered(monitor);
        let view = view_in(&envelope);
        envelope.slice_ref(view)
    }

    /// `{"monitor":…}`: from the last rendering while the store still hands
    /// out this same `Arc`, else rendered now.
    fn rendered(&self, monitor: &Arc<Monitor>) -> Bytes {
        if self.enabled {
            let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(json) = entries.get(monitor) {
                return json.clone();
            }
        }
        let mut body = Vec::with_capacity(1024);
        body.extend_from_slice(ENVELOPE_OPEN);
        serde_json::to_writer(&mut body, &MonitorView::from(&**monitor))
            .expect("a monitor's view always serializes");
        body.extend_from_slice(ENVELOPE_CLOSE);
        let json = Bytes::from(body);
        if self.enabled {
            let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
            entries
                .by_address
                .insert(address(monitor), (Arc::downgrade(monitor), json.clone()));
            // Entries of versions no longer held (a monitor changed or was
            // deleted) go once the map has doubled.
            if entries.by_address.len() > 2 * entries.swept_at.max(1024) {
                entries
                    .by_address
                    .retain(|_, (held, _)| held.strong_count() > 0);
                entries.swept_at = entries.by_address.len();
            }
        }
        json
    }

    /// `{"monitor": …}`, as `GET /monitors/:id` answers.
    pub fn envelope(&self, monitor: &Arc<Monitor>) -> Response {
        json_response(self.rendered(monitor))
    }

    /// `{"monitors": […], "nextCursor": …}`, as `GET /monitors` answers.
    pub fn list(&self, monitors: &[Arc<Monitor>], next_cursor: Option<&str>) -> Response {
        let mut body = self.cached_views(monitors).unwrap_or_else(|| {
            let views: Vec<Bytes> = monitors.iter().map(|m| self.view(m)).collect();
            let mut body =
                Vec::with_capacity(views.iter().map(|v| v.len() + 1).sum::<usize>() + 64);
            append_views(&mut body, views.iter().map(|v| &v[..]));
            body
        });
        body.extend_from_slice(b"],\"nextCursor\":");
        body.extend_from_slice(
            &serde_json::to_vec(&next_cursor).expect("an optional string serializes"),
        );
        body.push(b'}');
        json_response(body)
    }
}

impl MonitorJson {
    /// `{"monitors":[` and every monitor's view, all under one read lock,
    /// or `None` when one of them was never rendered (or has changed since).
    ///
    /// Why one lock for the page: taking the lock and cloning the `Bytes`
    /// for each of a page's hundred monitors, on threads that all share
    /// those counters, was a third of a list request's time under `perf`.
    fn cached_views(&self, monitors: &[Arc<Monitor>]) -> Option<Vec<u8>> {
        if !self.enabled {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let mut views = Vec::with_capacity(monitors.len());
        for monitor in monitors {
            views.push(view_in(entries.get(monitor)?));
        }
        let mut body = Vec::with_capacity(views.iter().map(|v| v.len() + 1).sum::<usize>() + 64);
        append_views(&mut body, views.into_iter());
        Some(body)
    }
}

/// `{"monitors":[` and the views, comma-separated.
fn append_views<'a>(body: &mut Vec<u8>, views: impl Iterator<Item = &'a [u8]>) {
    body.extend_from_slice(b"{\"monitors\":[");
    for (i, view) in views.enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(view);
    }
}

/// `body`, already JSON, as a response with its content type.
pub(crate) fn json_response(body: impl IntoResponse) -> Response {
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
        let expected = serde_json::to_vec(&MonitorEnvelope {
            monitor: MonitorView::from(&*a),
        })
        .unwrap();
        // Rendered, then served from the cache.
        for _ in 0..2 {
            assert_eq!(body_of(cache.envelope(&a)).await, expected);
        }
        // `b` was never rendered: the page is rendered view by view, and
        // the second time it comes whole from the cache.
        let expected = serde_json::to_vec(&MonitorList {
            monitors: vec![MonitorView::from(&*a), MonitorView::from(&*b)],
            next_cursor: Some("next".into()),
        })
        .unwrap();
        for _ in 0..2 {
            let list = body_of(cache.list(&[a.clone(), b.clone()], Some("next"))).await;
            assert_eq!(list, expected);
        }
        assert!(cache.cached_views(&[a.clone(), b.clone()]).is_some());
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
    fn entries_of_dropped_versions_are_swept() {
        let cache = MonitorJson::new(true);
        let kept = monitor("Kept");
        let _ = cache.view(&kept);
        for _ in 0..3000 {
            let _ = cache.view(&monitor("Gone"));
        }
        let entries = cache.entries.read().unwrap();
        assert!(
            entries.by_address.len() < 2100,
            "{}",
            entries.by_address.len()
        );
        assert!(entries.get(&kept).is_some());
    }

    #[test]
    fn without_shared_monitors_nothing_is_kept() {
        let cache = MonitorJson::new(false);
        let m = monitor("A");
        let _ = cache.view(&m);
        assert!(cache.entries.read().unwrap().by_address.is_empty());
    }
}
