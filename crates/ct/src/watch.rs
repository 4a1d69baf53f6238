//! The watch list, with certwatch's matching rules:
//! - an entry `example.org` matches `example.org` and every subdomain;
//! - a leading `*.` on an entry is stripped;
//! - a wildcard name `*.X` matches when its expansion (the names one label
//!   below X) overlaps an entry's subtree: when the entry is X or an
//!   ancestor of X, or a direct child of X.
//!
//! Lookups walk the name's suffixes in two hash sets, so a match costs
//! O(labels) whatever the number of entries.

use std::collections::{HashMap, HashSet};

use crate::names::normalize;

#[derive(Debug, Clone, Default)]
pub struct WatchList {
    /// Normalized entries.
    entries: HashSet<String>,
    /// Parent domain → one of its watched direct children (for wildcard names).
    children: HashMap<String, String>,
}

impl WatchList {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry; returns `false` if it is not a DNS name.
    pub fn insert(&mut self, entry: &str) -> bool {
        let Some(name) = normalize(entry) else {
            return false;
        };
        let name = name.strip_prefix("*.").map(str::to_string).unwrap_or(name);
        if self.entries.insert(name.clone())
            && let Some((_, parent)) = name.split_once('.')
        {
            self.children
                .entry(parent.to_string())
                .or_insert_with(|| name.clone());
        }
        true
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry that `name` (already normalized, possibly `*.X`) falls
    /// under, if any: the most specific matching entry.
    pub fn matching_entry(&self, name: &str) -> Option<&str> {
        let (wildcard, base) = match name.strip_prefix("*.") {
            Some(base) => (true, base),
            None => (false, name),
        };
        // The name itself or any of its ancestors is an entry.
        let mut suffix = base;
        loop {
            if let Some(entry) = self.entries.get(suffix) {
                return Some(entry);
            }
            match suffix.split_once('.') {
                Some((_, parent)) => suffix = parent,
                None => break,
            }
        }
        // `*.X` also covers watched direct children of X.
        if wildcard {
            return self.children.get(base).map(String::as_str);
        }
        None
    }

    /// Whether any of a certificate's names matches.
    pub fn matches_any<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> bool {
        names.into_iter().any(|n| self.matching_entry(n).is_some())
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
        assert!(!w.matches_any(["other.org"]));
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
