//! A source's counters, shared by the feed readers that fill them
//! (`certstream_client`, the log tailers in `sources`) and by `/healthz` and
//! `/metrics`, which read them.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// One source's health, for `/healthz` and `/metrics`.
#[derive(Debug, Default)]
pub struct SourceStats {
    pub connected: AtomicBool,
    pub entries: AtomicU64,
    pub malformed: AtomicU64,
    pub reconnects: AtomicU64,
    /// certstream keep-alives.
    pub heartbeats: AtomicU64,
    /// certstream messages of other types, by `message_type` (rare).
    pub other_messages: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
    /// Milliseconds; 0 before the first entry.
    pub last_entry_at: AtomicI64,
    /// Entries known to the source but not yet processed: tree size minus
    /// position for a log, queued messages for certstream.
    pub backlog: AtomicU64,
    /// Entries per second over the last sampling period (f64 bits).
    rate_bits: AtomicU64,
    sampled_entries: AtomicU64,
}

impl SourceStats {
    pub fn entries_per_second(&self) -> f64 {
        f64::from_bits(self.rate_bits.load(Ordering::Relaxed))
    }

    /// Updates the rate from the entries counted since the last sample.
    pub fn sample(&self, period: Duration) {
        let now = self.entries.load(Ordering::Relaxed);
        let before = self.sampled_entries.swap(now, Ordering::Relaxed);
        let rate = now.saturating_sub(before) as f64 / period.as_secs_f64().max(1e-3);
        self.rate_bits.store(rate.to_bits(), Ordering::Relaxed);
    }
}
