//! The watch list, with certwatch's matching rules:
//! - an entry `example.org` matches `example.org` and every subdomain;
//! - a leading `*.` on an entry is stripped;
//! - a wildcard name `*.X` matches when its expansion (the names one label
//!   below X) overlaps an entry's subtree: when the entry is X or an
//!   ancestor of X, or a direct child of X.
//!
//! Lookups walk the name's suffixes in two hash sets, so a match costs
//! O(labels) whatever the number of entries.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use crate::names::normalize;

/// Watched names, each with who watches it (`O`: an organization and
/// monitor in the server, nothing in certwatch mode).
#[derive(Debug, Clone)]
pub struct WatchList<O = ()> {
    /// Normalized entry → its watchers.
    entries: HashMap<String, Vec<O>, RandomState>,
    /// Parent domain → its watched direct children (for wildcard names).
    children: HashMap<String, Vec<String>, RandomState>,
}

impl<O> Default for WatchList<O> {
    fn default() -> Self {
        Self {
            entries: HashMap::default(),
            children: HashMap::default(),
        }
    }
}

/// One certificate name that fell under a watch entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'a, O> {
    /// The certificate's name (possibly `*.X`).
    pub dns_name: &'a str,
    pub entry: &'a str,
    pub wildcard: bool,
    pub watchers: &'a [O],
}

impl<O> WatchList<O> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `entry` for `watcher`; returns `false` if it is not a DNS name.
    pub fn insert_for(&mut self, entry: &str, watcher: O) -> bool {
        let Some(name) = normalize(entry) else {
            return false;
        };
        let name = name.strip_prefix("*.").map(str::to_string).unwrap_or(name);
        match self.entries.get_mut(&name) {
            Some(watchers) => watchers.push(watcher),
            None => {
                if let Some((_, parent)) = name.split_once('.') {
                    self.children
                        .entry(parent.to_string())
                        .or_default()
                        .push(name.clone());
                }
                self.entries.insert(name, vec![watcher]);
            }
        }
        true
    }

    /// Distinct entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry `name` (normalized, possibly `*.X`) falls under.
    pub fn hits<'a>(&'a self, name: &'a str) -> Vec<Hit<'a, O>> {
        let (wildcard, base) = match name.strip_prefix("*.") {
            Some(base) => (true, base),
            None => (false, name),
        };
        let mut out = Vec::new();
        let mut hit = |entry: &'a str, watchers: &'a [O]| {
            out.push(Hit {
                dns_name: name,
                entry,
                wildcard,
                watchers,
            })
        };
        // The name itself or any of its ancestors is an entry.
        let mut suffix = base;
        loop {
            if let Some((entry, watchers)) = self.entries.get_key_value(suffix) {
                hit(entry, watchers);
            }
            match suffix.split_once('.') {
                Some((_, parent)) => suffix = parent,
                None => break,
            }
        }
        // `*.X` also covers watched direct children of X.
        if wildcard && let Some(children) = self.children.get(base) {
            for child in children {
                if let Some((entry, watchers)) = self.entries.get_key_value(child.as_str()) {
                    hit(entry, watchers);
                }
            }
        }
        out
    }

    /// The most specific entry `name` falls under, if any.
    pub fn matching_entry<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.hits(name).first().map(|hit| hit.entry)
    }

    /// Whether any of a certificate's names matches.
    pub fn matches_any<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> bool {
        names.into_iter().any(|n| self.matching_entry(n).is_some())
    }
}

impl WatchList<()> {
    /// Adds an entry with no watcher detail (certwatch's flat list).
    pub fn insert(&mut self, entry: &str) -> bool {
        self.insert_for(entry, ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> WatchList {
        let mut w = WatchList::new();
        for e in entries {
            assert!(w.insert(e), "{e}");
        }
        w
    }

    #[test]
    fn entries_match_themselves_and_subdomains() {
        let w = list(&["example.org", "*.shop.example.net"]);
        assert_eq!(w.matching_entry("example.org"), Some("example.org"));
        assert_eq!(w.matching_entry("a.b.example.org"), Some("example.org"));
        assert_eq!(w.matching_entry("notexample.org"), None);
        assert_eq!(w.matching_entry("org"), None);
        // The leading `*.` of an entry is stripped.
        assert_eq!(
            w.matching_entry("shop.example.net"),
            Some("shop.example.net")
        );
        assert_eq!(w.matching_entry("example.net"), None);
        assert!(!w.clone().insert("192.0.2.1"));
    }

    #[test]
    fn wildcards_overlap_by_expansion() {
        let w = list(&["shop.example.com", "deep.a.example.net"]);
        // *.example.com covers shop.example.com.
        assert_eq!(w.matching_entry("*.example.com"), Some("shop.example.com"));
        // *.shop.example.com is inside the entry's subtree.
        assert_eq!(
            w.matching_entry("*.shop.example.com"),
            Some("shop.example.com")
        );
        // *.example.net covers x.example.net, never deep.a.example.net.
        assert_eq!(w.matching_entry("*.example.net"), None);
        assert_eq!(
            w.matching_entry("*.a.example.net"),
            Some("deep.a.example.net")
        );
        assert!(w.matches_any(["other.org", "*.example.com"]));
        let hits = w.hits("*.example.com");
        assert_eq!(hits.len(), 1);
        assert!(hits[0].wildcard);
        assert!(!w.matches_any(["other.org"]));
    }

    #[test]
    fn every_watcher_of_every_enclosing_entry_is_hit() {
        let mut w = WatchList::new();
        w.insert_for("example.org", "org1");
        w.insert_for("shop.example.org", "org2");
        w.insert_for("*.shop.example.org", "org3");
        let hits = w.hits("a.shop.example.org");
        let entries: Vec<(&str, &[&str])> = hits.iter().map(|h| (h.entry, h.watchers)).collect();
        assert_eq!(
            entries,
            vec![
                ("shop.example.org", &["org2", "org3"][..]),
                ("example.org", &["org1"][..])
            ]
        );
        // A wildcard one level up covers the watched child.
        let hits = w.hits("*.example.org");
        assert_eq!(hits.len(), 2);
    }

    #[test]
    fn large_lists_stay_exact() {
        let mut w = WatchList::new();
        for i in 0..100_000 {
            w.insert(&format!("client{i}.example"));
        }
        assert_eq!(w.len(), 100_000);
        assert_eq!(
            w.matching_entry("www.client99999.example"),
            Some("client99999.example")
        );
        assert_eq!(w.matching_entry("www.client100000.example"), None);
    }
}
