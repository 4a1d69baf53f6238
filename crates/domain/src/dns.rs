//! DNS record snapshots and the change-confirmation rule.
//!
//! Record sets are compared normalized: sorted, lowercased, without the
//! trailing dot, TTL ignored. NXDOMAIN and NODATA are states a record type
//! can be in (a record disappearing is a change worth knowing). SERVFAIL,
//! timeouts and other errors are failures of the check, never changes: for
//! comparison the type keeps its last known state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The record types a DNS check queries.
pub const RECORD_TYPES: [&str; 7] = ["A", "AAAA", "CNAME", "MX", "NS", "TXT", "CAA"];

/// What one record type looked like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "values", rename_all = "lowercase")]
pub enum RrState {
    Records(Vec<String>),
    Nxdomain,
    Nodata,
    Servfail,
    Timeout,
    Error(String),
}

impl RrState {
    /// Whether this is an answer (records, NXDOMAIN, NODATA) rather than a failure.
    pub fn is_answer(&self) -> bool {
        matches!(self, Self::Records(_) | Self::Nxdomain | Self::Nodata)
    }
}

/// Normalizes one RR set: lowercase, no trailing dots, sorted, no duplicates.
pub fn normalize(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = values
        .into_iter()
        .map(|v| v.trim().to_lowercase().trim_end_matches('.').to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Record type → state.
pub type DnsSnapshot = BTreeMap<String, RrState>;

/// A confirmed change: the record types that differ, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsChange {
    pub before: DnsSnapshot,
    pub after: DnsSnapshot,
}

/// Per-monitor memory of the last confirmed answers and a pending candidate.
#[derive(Debug, Clone, Default)]
pub struct DnsChangeTracker {
    confirmed: Option<DnsSnapshot>,
    pending: Option<DnsSnapshot>,
}

impl DnsChangeTracker {
    /// Feeds one check's snapshot. A change is confirmed only when the same
    /// new answers are seen on two consecutive checks.
    pub fn observe(&mut self, snapshot: &DnsSnapshot) -> Option<DnsChange> {
        let Some(confirmed) = &self.confirmed else {
            self.confirmed = Some(
                snapshot
                    .iter()
                    .filter(|(_, s)| s.is_answer())
                    .map(|(t, s)| (t.clone(), s.clone()))
                    .collect(),
            );
            return None;
        };
        // Failures keep the last known state: they are not changes.
        let mut candidate = confirmed.clone();
        for (record_type, state) in snapshot {
            if state.is_answer() {
                candidate.insert(record_type.clone(), state.clone());
            }
        }
        if &candidate == confirmed {
            self.pending = None;
            return None;
        }
        if self.pending.as_ref() == Some(&candidate) {
            let differing = |from: &DnsSnapshot, to: &DnsSnapshot| -> DnsSnapshot {
                from.iter()
                    .filter(|(t, s)| to.get(*t) != Some(*s))
                    .map(|(t, s)| (t.clone(), s.clone()))
                    .collect()
            };
            let change = DnsChange {
                before: differing(confirmed, &candidate),
                after: differing(&candidate, confirmed),
            };
            self.confirmed = Some(candidate);
            self.pending = None;
            return Some(change);
        }
        self.pending = Some(candidate);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(a: &[&str], mx: RrState) -> DnsSnapshot {
        let mut s = DnsSnapshot::new();
        s.insert(
            "A".into(),
            RrState::Records(normalize(a.iter().map(|v| v.to_string()))),
        );
        s.insert("MX".into(), mx);
        s
    }

    #[test]
    fn normalizes_record_sets() {
        assert_eq!(
            normalize(vec![
                "10 MX2.Example.com.".into(),
                "10 mx1.example.com".into(),
                "10 mx1.example.com.".into()
            ]),
            vec!["10 mx1.example.com", "10 mx2.example.com"]
        );
    }

    #[test]
    fn a_change_needs_two_consecutive_sightings() {
        let mut t = DnsChangeTracker::default();
        let before = snapshot(&["192.0.2.1"], RrState::Nodata);
        let after = snapshot(&["192.0.2.2"], RrState::Nodata);
        assert_eq!(t.observe(&before), None, "baseline");
        assert_eq!(t.observe(&after), None, "seen once");
        assert_eq!(t.observe(&before), None, "flapped back: not confirmed");
        assert_eq!(t.observe(&after), None);
        let change = t.observe(&after).expect("seen twice in a row");
        assert_eq!(
            change.before["A"],
            RrState::Records(vec!["192.0.2.1".into()])
        );
        assert_eq!(
            change.after["A"],
            RrState::Records(vec!["192.0.2.2".into()])
        );
        assert!(!change.before.contains_key("MX"), "only differing types");
        assert_eq!(t.observe(&after), None, "no repeat");
    }

    #[test]
    fn failures_are_not_changes_but_nodata_is() {
        let mut t = DnsChangeTracker::default();
        let base = snapshot(
            &["192.0.2.1"],
            RrState::Records(vec!["10 mx.example.com".into()]),
        );
        t.observe(&base);
        let servfail = snapshot(&["192.0.2.1"], RrState::Servfail);
        assert_eq!(t.observe(&servfail), None);
        assert_eq!(
            t.observe(&servfail),
            None,
            "SERVFAIL twice is still not a change"
        );
        let timeout = snapshot(&["192.0.2.1"], RrState::Timeout);
        assert_eq!(t.observe(&timeout), None);
        let gone = snapshot(&["192.0.2.1"], RrState::Nodata);
        assert_eq!(t.observe(&gone), None);
        let change = t.observe(&gone).expect("MX removal confirmed");
        assert_eq!(change.after["MX"], RrState::Nodata);
    }
}
