//! One organization's cached monitors, in id order.
//!
//! Why not a `BTreeMap<MonitorId, _>`: finding one monitor among 10,000
//! makes a dozen or more key comparisons, and each comparison of two
//! `MonitorId`s reads both strings through their pointers, scattered on the
//! heap. Under `perf` that search was most of finding a monitor for
//! `GET /monitors/:id` and for a heartbeat ping. Here each key also holds
//! the id's first 16 bytes as one number, inside the tree's node, ordered
//! the way the bytes are; two generated ids (17 bytes) nearly always differ
//! there, so most comparisons never leave the node. Order is still the ids'
//! byte order, which list pages and their cursors rely on.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use certsentry_domain::MonitorId;
use certsentry_domain::monitor::Monitor;

/// An organization's monitors, ordered by id.
#[derive(Default)]
pub(super) struct OrgMonitors {
    by_id: BTreeMap<IdKey, Arc<Monitor>>,
}

impl OrgMonitors {
    pub(super) fn get(&self, id: &MonitorId) -> Option<&Arc<Monitor>> {
        self.by_id.get(Probe::of(id.as_str()).as_key())
    }

    pub(super) fn get_mut(&mut self, id: &MonitorId) -> Option<&mut Arc<Monitor>> {
        self.by_id.get_mut(Probe::of(id.as_str()).as_key())
    }

    /// Adds or replaces the monitor with this one's id.
    pub(super) fn insert(&mut self, monitor: Arc<Monitor>) {
        self.by_id.insert(IdKey::new(monitor.id.clone()), monitor);
    }

    pub(super) fn remove(&mut self, id: &MonitorId) {
        self.by_id.remove(Probe::of(id.as_str()).as_key());
    }

    /// The monitors with ids after `cursor` (all without one), in order.
    pub(super) fn after<'a>(
        &'a self,
        cursor: Option<&str>,
    ) -> impl Iterator<Item = &'a Arc<Monitor>> + use<'a> {
        let probe = cursor.map(Probe::of);
        let start = match &probe {
            Some(probe) => Bound::Excluded(probe.as_key()),
            None => Bound::Unbounded,
        };
        // `range` finds its start at once: the probe need not outlive it.
        self.by_id
            .range::<dyn Key, _>((start, Bound::Unbounded))
            .map(|(_, monitor)| monitor)
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &Arc<Monitor>> {
        self.by_id.values()
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut Arc<Monitor>> {
        self.by_id.values_mut()
    }

    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }
}

/// The first 16 bytes of `id`, big-endian, padded with zero bytes: a
/// smaller number means a smaller id, and equal numbers leave the order to
/// the whole ids.
fn head_of(id: &str) -> u128 {
    let mut head = [0u8; 16];
    let len = id.len().min(16);
    head[..len].copy_from_slice(&id.as_bytes()[..len]);
    u128::from_be_bytes(head)
}

/// A key of the tree, stored ([`IdKey`]) or looked up ([`Probe`]), so that
/// a lookup needs no copy of the id.
trait Key {
    fn head(&self) -> u128;
    fn id(&self) -> &str;
}

fn compare(a: &(impl Key + ?Sized), b: &(impl Key + ?Sized)) -> Ordering {
    a.head().cmp(&b.head()).then_with(|| a.id().cmp(b.id()))
}

impl PartialEq for dyn Key + '_ {
    fn eq(&self, other: &Self) -> bool {
        compare(self, other).is_eq()
    }
}
impl Eq for dyn Key + '_ {}
impl PartialOrd for dyn Key + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for dyn Key + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(self, other)
    }
}

struct IdKey {
    head: u128,
    id: MonitorId,
}

impl IdKey {
    fn new(id: MonitorId) -> Self {
        Self {
            head: head_of(id.as_str()),
            id,
        }
    }
}

impl Key for IdKey {
    fn head(&self) -> u128 {
        self.head
    }
    fn id(&self) -> &str {
        self.id.as_str()
    }
}

impl PartialEq for IdKey {
    fn eq(&self, other: &Self) -> bool {
        compare(self, other).is_eq()
    }
}
impl Eq for IdKey {}
impl PartialOrd for IdKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
/// The same order as `dyn Key`'s, as `Borrow` requires.
impl Ord for IdKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(self, other)
    }
}

impl<'a> Borrow<dyn Key + 'a> for IdKey {
    fn borrow(&self) -> &(dyn Key + 'a) {
        self
    }
}

/// An id being looked up.
struct Probe<'a> {
    head: u128,
    id: &'a str,
}

impl<'a> Probe<'a> {
    fn of(id: &'a str) -> Self {
        Self {
            head: head_of(id),
            id,
        }
    }

    fn as_key(&self) -> &(dyn Key + 'a) {
        self
    }
}

impl Key for Probe<'_> {
    fn head(&self) -> u128 {
        self.head
    }
    fn id(&self) -> &str {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use certsentry_domain::OrgId;
    use certsentry_domain::monitor::MonitorSpec;

    fn monitor(id: &str) -> Arc<Monitor> {
        let mut monitor = Monitor::new(
            OrgId::generate(),
            MonitorSpec::standard("m", "shop.example.com", vec!["virginia".into()]),
        );
        monitor.id = MonitorId::from_string(id);
        Arc::new(monitor)
    }

    fn ids<'a>(monitors: impl Iterator<Item = &'a Arc<Monitor>>) -> Vec<String> {
        monitors.map(|m| m.id.to_string()).collect()
    }

    /// Ids that share their first 16 bytes, ids shorter than 16 bytes and
    /// ids that are prefixes of others: the order must be the bytes' order.
    #[test]
    fn order_and_lookups_follow_the_ids_bytes() {
        let mut written: Vec<String> = [
            "cmgz1aaa0000zzzz",
            "cmgz1aaa0000zzzz1",
            "cmgz1aaa0000zzzz0",
            "cmgz1aaa0000zzzy9",
            "b",
            "b\u{0}",
            "ba",
            "",
            "czzzzzzzzzzzzzzzzzzzzzzzzz",
            "c0",
        ]
        .map(String::from)
        .into();
        written.extend((0..200).map(|_| MonitorId::generate().to_string()));
        let mut cache = OrgMonitors::default();
        for id in written.iter().rev() {
            cache.insert(monitor(id));
        }
        let mut sorted = written.clone();
        sorted.sort();
        assert_eq!(ids(cache.values()), sorted);
        assert_eq!(cache.len(), written.len());
        for (i, id) in sorted.iter().enumerate() {
            let key = MonitorId::from_string(id.clone());
            assert_eq!(cache.get(&key).map(|m| m.id.to_string()), Some(id.clone()));
            assert_eq!(ids(cache.after(Some(id))), sorted[i + 1..], "after {id:?}");
        }
        assert_eq!(ids(cache.after(None)), sorted);
        // A cursor that is not an id resumes where it would sort.
        assert_eq!(ids(cache.after(Some("b\u{0}\u{0}"))), sorted[3..]);
        assert!(cache.get(&MonitorId::from_string("b\u{0}\u{0}")).is_none());
        cache.remove(&MonitorId::from_string("ba"));
        assert!(cache.get(&MonitorId::from_string("ba")).is_none());
        assert_eq!(cache.len(), written.len() - 1);
    }
}
