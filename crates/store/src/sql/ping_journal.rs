//! The ping journal: healthy heartbeat pings are appended to one table and
//! folded into `check_results` and `heartbeats` in bulk.
//!
//! Why: storing a ping in place touches two pages nobody else in its batch
//! touches (the monitor's leaf of the `(monitor_id, id)` result index and
//! its `heartbeats` row), so every ping cost about two 4 KiB WAL frames, and
//! `perf`/`strace` of `certsentry-bench pings --store-only` showed the
//! writer spending its time writing those frames (≈300 `pwrite`s a commit of
//! 64 pings). An append to the journal fills pages in order, a few per
//! batch; a fold of thousands of pings writes each touched index page and
//! heartbeat row once.
//!
//! What stays true:
//! - a ping is durable when its journal append commits, so a `200` still
//!   means the ping is stored, and a journal left by a crash is folded by
//!   the first read after start;
//! - every read of results or heartbeats folds first, so nobody (the API,
//!   the heartbeat watcher's miss claim) sees a ping missing that was
//!   acknowledged;
//! - a monitor deleted meanwhile keeps no history: the fold drops pings of
//!   monitors that no longer exist, as the direct path does;
//! - the latest ping wins: a fold never moves `last_ping_at` backwards past
//!   a ping written directly (a status change, which skips the journal).
//!
//! Only backends with one in-process writer journal ([`SqlBackend::JOURNALS_PINGS`],
//! SQLite): the pending count lives in this process, which on a Postgres
//! shared by several nodes would not see the others' journals.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use certsentry_domain as d;

use super::*;
use crate::*;

/// Pending pings that make the next write fold first.
///
/// A fold holds the one writer while it runs (about 90 ms at this size in
/// `certsentry-bench pings`), so no ping is acknowledged meanwhile; its
/// cost per ping falls as it grows, because each index page it rewrites
/// takes more rows (27, 15 and 10 µs a ping at 4,096, 16,384 and 65,536
/// rows with 30,000 monitors, timed on a copy of the schema). This size
/// keeps the stall, and a read's wait for the fold before it, under about
/// a tenth of a second.
const FOLD_AT_ROWS: u64 = 16_384;
/// How long a ping may wait in the journal while writes keep coming.
const FOLD_AFTER: Duration = Duration::from_secs(1);

/// What this process has appended and not yet folded.
#[derive(Debug)]
pub(crate) struct PingJournal {
    pending: Mutex<Pending>,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    rows: u64,
    oldest: Option<Instant>,
}

impl PingJournal {
    /// At open the journal may hold what a crash left: the first read folds.
    pub(crate) fn new() -> Self {
        Self {
            pending: Mutex::new(Pending {
                rows: 1,
                oldest: Some(Instant::now()),
            }),
        }
    }

    fn pending(&self) -> Pending {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn has_pending(&self) -> bool {
        self.pending().rows > 0
    }

    /// Whether a write should fold before appending more.
    fn fold_due(&self) -> bool {
        let pending = self.pending();
        pending.rows >= FOLD_AT_ROWS || pending.oldest.is_some_and(|t| t.elapsed() >= FOLD_AFTER)
    }

    fn appended(&self, rows: u64) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.rows += rows;
        pending.oldest.get_or_insert_with(Instant::now);
    }

    /// The rows a fold starting now will move. Taken once the fold holds
    /// the write connection: every row counted so far was committed before
    /// (a write counts its rows only after its commit), so the fold sees it.
    fn rows_to_fold(&self) -> u64 {
        self.pending().rows
    }

    /// Uncounts the `rows` a committed fold moved.
    ///
    /// Why not reset to zero: a write can commit between the fold's commit
    /// and this call (a read's [`SqlStore::settle_pings`] folds beside the
    /// check writer); resetting would forget its rows, and reads would then
    /// skip folding and miss acknowledged pings. What remains counted may
    /// also include rows the fold already moved (counted late), which only
    /// costs an early fold.
    fn folded(&self, rows: u64) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.rows = pending.rows.saturating_sub(rows);
        if pending.rows == 0 {
            pending.oldest = None;
        }
    }
}

/// Whether `record` may go through the journal: a heartbeat ping that
/// changes no monitor state, with its one result.
pub(crate) fn journaled(record: &CheckRecord) -> bool {
    record.state.is_none()
        && record.ping.is_some()
        && matches!(record.results.as_slice(), [r] if r.check_type == d::check::CheckType::Heartbeat)
}

impl<B: SqlBackend> SqlStore<B> {
    /// Appends journaled pings inside `tx`, folding first when the journal
    /// is due. The caller commits, then calls [`Self::pings_committed`].
    pub(crate) async fn append_pings(
        &self,
        tx: &mut Tx<B>,
        records: &[&CheckRecord],
    ) -> StoreResult<JournalWrite> {
        // A backend without the journal has no table to fold (Postgres).
        if !B::JOURNALS_PINGS {
            return Ok(JournalWrite {
                folded: None,
                appended: 0,
            });
        }
        let folded = self.pings.fold_due().then(|| self.pings.rows_to_fold());
        if folded.is_some() {
            fold(tx).await?;
        }
        for chunk in records.chunks(APPEND_ROWS) {
            journal_insert::<B>(chunk.iter().copied())
                .build()
                .execute(&mut *tx)
                .await?;
        }
        Ok(JournalWrite {
            folded,
            appended: records.len() as u64,
        })
    }

    /// Appends `batch` as one statement outside any transaction, when it
    /// holds journaled pings only, fits one statement, and the journal is
    /// not due a fold: SQLite commits a lone statement by itself, so the
    /// batch costs one round trip to SQLite's thread instead of three
    /// (`BEGIN`, `INSERT`, `COMMIT`). Whether it did; if not, the caller
    /// writes the batch in a transaction.
    pub(crate) async fn append_pings_alone(&self, batch: &[CheckRecord]) -> StoreResult<bool> {
        if !B::JOURNALS_PINGS
            || batch.is_empty()
            || batch.len() > APPEND_ROWS
            || !batch.iter().all(journaled)
            || self.pings.fold_due()
        {
            return Ok(false);
        }
        journal_insert::<B>(batch.iter())
            .build()
            .execute(self.write_alone())
            .await?;
        self.pings.appended(batch.len() as u64);
        Ok(true)
    }

    /// Records what a committed [`Self::append_pings`] did.
    pub(crate) fn pings_committed(&self, write: JournalWrite) {
        if let Some(rows) = write.folded {
            self.pings.folded(rows);
        }
        if write.appended > 0 {
            self.pings.appended(write.appended);
        }
    }

    /// Folds the journal before a read of results or heartbeats, so every
    /// acknowledged ping is visible to it. Free when nothing is pending.
    pub(crate) async fn settle_pings(&self) -> StoreResult<()> {
        if !B::JOURNALS_PINGS || !self.pings.has_pending() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let rows = self.pings.rows_to_fold();
        fold(&mut tx).await?;
        tx.commit().await?;
        self.pings.folded(rows);
        Ok(())
    }
}

/// Journal rows per `INSERT`: 14 values each, well under SQLite's 32,766.
const APPEND_ROWS: usize = 1000;

/// `INSERT INTO ping_journal …` of journaled records.
fn journal_insert<'r, B: SqlBackend>(
    records: impl Iterator<Item = &'r CheckRecord>,
) -> SqlBuilder<B> {
    let mut query = SqlBuilder::<B>::new(format!(
        "INSERT INTO ping_journal ({RESULT_COLUMNS}, last_ping_at, last_ping_ok) "
    ));
    query.push_values(records, |mut row, record| {
        let ping = record
            .ping
            .as_ref()
            .expect("journaled records carry a ping");
        super::results::bind_result(&mut row, &record.results[0]);
        row.push_bind(ping.last_ping_at)
            .push_bind(ping.last_ping_ok);
    });
    query
}

/// What one append did, applied to the pending count after its commit.
pub(crate) struct JournalWrite {
    /// The rows counted when it folded, if it did.
    folded: Option<u64>,
    appended: u64,
}

/// Moves every journaled ping of a live monitor into `check_results` and
/// its monitor's latest into `heartbeats`, then empties the journal.
///
/// A fold rides in the writer's transactions, so a row it could not move
/// would fail every write after it: a result id already stored is skipped
/// rather than allowed to wedge the journal.
///
/// The results go in by monitor: each lands in the `(monitor_id, id)`
/// index next to the one before it, so a fold reads and rewrites each
/// index page once, where journal order (by arrival, monitors at random)
/// sent consecutive rows to pages far apart, most of them out of the
/// writer's 2 MiB page cache.
async fn fold<B: SqlBackend>(tx: &mut Tx<B>) -> StoreResult<()> {
    query::<B>(
        "INSERT INTO check_results (id, org_id, monitor_id, check_type, status, degraded, \
         region, latency_ms, http_status, error, details, created_at) \
         SELECT id, org_id, monitor_id, check_type, status, degraded, region, latency_ms, \
         http_status, error, details, created_at FROM ping_journal j \
         WHERE EXISTS (SELECT 1 FROM monitors m WHERE m.id = j.monitor_id) \
         ORDER BY monitor_id, id \
         ON CONFLICT (id) DO NOTHING",
    )
    .execute(&mut *tx)
    .await?;
    // The latest ping per monitor: the highest last_ping_at, the later
    // append on a tie. The WHERE of the SELECT also lets SQLite parse the
    // upsert that follows it.
    query::<B>(
        "INSERT INTO heartbeats (monitor_id, org_id, last_ping_at, last_ping_ok, missed) \
         SELECT monitor_id, org_id, last_ping_at, last_ping_ok, FALSE FROM \
         (SELECT monitor_id, org_id, last_ping_at, last_ping_ok, ROW_NUMBER() OVER \
         (PARTITION BY monitor_id ORDER BY last_ping_at DESC, seq DESC) AS newest \
         FROM ping_journal) j \
         WHERE newest = 1 AND EXISTS (SELECT 1 FROM monitors m WHERE m.id = j.monitor_id) \
         ON CONFLICT (monitor_id) DO UPDATE SET last_ping_at = excluded.last_ping_at, \
         last_ping_ok = excluded.last_ping_ok, missed = FALSE \
         WHERE excluded.last_ping_at >= heartbeats.last_ping_at",
    )
    .execute(&mut *tx)
    .await?;
    query::<B>("DELETE FROM ping_journal")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fold_uncounts_only_what_was_counted_when_it_began() {
        let journal = PingJournal::new();
        // What a crash may have left counts as pending until a fold.
        assert!(journal.has_pending());
        let at_open = journal.rows_to_fold();
        journal.folded(at_open);
        assert!(!journal.has_pending());

        journal.appended(3);
        let folding = journal.rows_to_fold();
        // A write commits while the fold commits, and counts its rows first.
        journal.appended(2);
        journal.folded(folding);
        assert!(journal.has_pending(), "the later write's rows stay pending");
        assert_eq!(journal.pending().rows, 2);
        assert!(journal.pending().oldest.is_some());

        journal.folded(journal.rows_to_fold());
        assert!(!journal.has_pending());
        assert!(journal.pending().oldest.is_none());
    }
}
