//! The ping journal: healthy heartbeat pings are appended to a database
//! of their own and folded into `check_results` and `heartbeats` in bulk.
//!
//! Why a journal: storing a ping in place touches two pages nobody else in
//! its batch touches (the monitor's leaf of the `(monitor_id, id)` result
//! index and its `heartbeats` row), so every ping cost about two 4 KiB WAL
//! frames, and `perf`/`strace` of `certsentry-bench pings --store-only`
//! showed the writer spending its time writing those frames (≈300
//! `pwrite`s a commit of 64 pings). An append to the journal fills pages in
//! order, a few per batch; a fold of thousands of pings writes each touched
//! index page and heartbeat row once.
//!
//! Why a database of its own: a fold takes about 90 ms at
//! [`FOLD_AT_ROWS`], and SQLite has one writer per database. In the main
//! database it held that writer, so no ping was acknowledged meanwhile and
//! the HTTP side idled for a fifth of the time under a stream of pings. In
//! its own file the journal has its own writer: pings keep being appended
//! while the main writer folds, on a task of its own.
//!
//! What stays true:
//! - a ping is durable when its journal append commits, so a `200` still
//!   means the ping is stored, and a journal left by a crash is folded by
//!   the first read (or the folding task) after start;
//! - every read of results or heartbeats folds first, so nobody (the API,
//!   the heartbeat watcher's miss claim) sees a ping missing that was
//!   acknowledged;
//! - a ping is folded once: the main database keeps the last journal `seq`
//!   folded (`ping_journal_folded`), written in the fold's transaction, and
//!   a fold takes only rows above it; the journal's delete of folded rows
//!   comes after, and losing it to a crash costs nothing but space;
//! - a monitor deleted meanwhile keeps no history: the fold drops pings of
//!   monitors that no longer exist, as the direct path does;
//! - the latest ping wins: a fold never moves `last_ping_at` backwards past
//!   a ping written directly (a status change, which skips the journal).
//!
//! Only backends with one in-process writer journal ([`SqlBackend::ping_journal`],
//! SQLite on a file): the pending count lives in this process, which on a
//! Postgres shared by several nodes would not see the others' journals.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use certsentry_domain as d;

use super::*;
use crate::*;

/// Pending pings that make the folding task fold.
///
/// A fold holds the main writer while it runs (about 90 ms at this size in
/// `certsentry-bench pings`), so checks and API writes wait meanwhile, and
/// so does a read, which folds first; its cost per ping falls as it grows,
/// because each index page it rewrites takes more rows (27, 15 and 10 µs a
/// ping at 4,096, 16,384 and 65,536 rows with 30,000 monitors, timed on a
/// copy of the schema). This size keeps those waits under about a tenth of
/// a second.
const FOLD_AT_ROWS: u64 = 16_384;
/// How long a ping may wait in the journal while no read folds it.
const FOLD_AFTER: Duration = Duration::from_secs(1);
/// How often the folding task looks at the journal's age when no append
/// wakes it.
const FOLD_TICK: Duration = Duration::from_millis(250);

/// What this process has appended and not yet folded.
#[derive(Debug)]
pub(crate) struct PingJournal {
    pending: Mutex<Pending>,
    /// Wakes the folding task when an append makes a fold due.
    fold_wanted: tokio::sync::Notify,
    /// Held from a fold's start until its rows are uncounted, so the
    /// folding task and a read's fold take turns and each uncounts only
    /// what it moved.
    folding: tokio::sync::Mutex<()>,
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
            fold_wanted: tokio::sync::Notify::new(),
            folding: tokio::sync::Mutex::new(()),
        }
    }

    fn pending(&self) -> Pending {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn has_pending(&self) -> bool {
        self.pending().rows > 0
    }

    /// Whether the folding task should fold now.
    fn fold_due(&self) -> bool {
        let pending = self.pending();
        pending.rows >= FOLD_AT_ROWS || pending.oldest.is_some_and(|t| t.elapsed() >= FOLD_AFTER)
    }

    /// Counts `rows` whose append has committed, and wakes the folding
    /// task if that makes a fold due.
    fn appended(&self, rows: u64) {
        let due = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.rows += rows;
            pending.oldest.get_or_insert_with(Instant::now);
            pending.rows >= FOLD_AT_ROWS
        };
        if due {
            self.fold_wanted.notify_one();
        }
    }

    /// The rows a fold starting now will move. Taken before the fold
    /// begins its transaction, which is when its snapshot of the journal is
    /// taken (the main writer's `BEGIN IMMEDIATE` begins a read of the
    /// journal, attached read-only): every row counted so far was committed
    /// before (an append counts its rows only after its commit), so the
    /// fold sees it. Rows committed between the two are moved and still
    /// counted, which only costs an early fold.
    fn rows_to_fold(&self) -> u64 {
        self.pending().rows
    }

    /// Uncounts the `rows` a committed fold moved.
    ///
    /// Why not reset to zero: appends commit while a fold runs (the journal
    /// has its own writer); resetting would forget their rows, and reads
    /// would then skip folding and miss acknowledged pings. What remains
    /// counted may also include rows the fold already moved (counted
    /// late), which only costs an early fold.
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
        && record.certificate.is_none()
        && record.ping.is_some()
        && matches!(record.results.as_slice(), [r] if r.check_type == d::check::CheckType::Heartbeat)
}

impl<B: SqlBackend> SqlStore<B> {
    /// Whether this store journals pings (see [`SqlBackend::ping_journal`]).
    pub(crate) fn journals_pings(&self) -> bool {
        self.backend.ping_journal().is_some()
    }

    /// Starts the task that folds the journal when enough is pending or
    /// the oldest ping has waited [`FOLD_AFTER`]. It holds the backend
    /// weakly and ends once the store is dropped.
    pub(super) fn start_folding(&self) {
        if self.journals_pings() {
            tokio::spawn(fold_when_due(
                Arc::downgrade(&self.backend),
                self.pings.clone(),
            ));
        }
    }

    /// Appends journaled pings to the journal and commits them there: one
    /// statement, which SQLite commits by itself, when they fit one, else
    /// one transaction. Never waits for a fold: that runs on the main
    /// writer, and the journal has its own.
    pub(crate) async fn append_pings(&self, records: &[&CheckRecord]) -> StoreResult<()> {
        let Some(journal) = self.backend.ping_journal() else {
            return Ok(());
        };
        if records.is_empty() {
            return Ok(());
        }
        if records.len() <= APPEND_ROWS {
            journal_insert::<B>(records.iter().copied())
                .build()
                .execute(Reader(&journal.pool))
                .await?;
        } else {
            let mut tx = Tx::<B>(journal.pool.begin().await?);
            for chunk in records.chunks(APPEND_ROWS) {
                journal_insert::<B>(chunk.iter().copied())
                    .build()
                    .execute(&mut tx)
                    .await?;
            }
            tx.commit().await?;
        }
        self.pings.appended(records.len() as u64);
        Ok(())
    }

    /// Folds the journal before a read of results or heartbeats, so every
    /// acknowledged ping is visible to it. Free when nothing is pending.
    pub(crate) async fn settle_pings(&self) -> StoreResult<()> {
        if !self.journals_pings() || !self.pings.has_pending() {
            return Ok(());
        }
        fold_pending(&*self.backend, &self.pings).await
    }
}

/// The folding task: folds whenever an append makes a fold due, or the
/// oldest pending ping has waited [`FOLD_AFTER`], until the store goes.
async fn fold_when_due<B: SqlBackend>(backend: Weak<B>, pings: Arc<PingJournal>) {
    loop {
        // Woken by an append, or on the tick to look at the journal's age.
        let _ = tokio::time::timeout(FOLD_TICK, pings.fold_wanted.notified()).await;
        let Some(backend) = backend.upgrade() else {
            return;
        };
        if !pings.fold_due() {
            continue;
        }
        if let Err(e) = fold_pending(&*backend, &pings).await {
            // Nothing is lost: the pings stay in the journal, reads fold
            // before they read (and report the error), and the next tick
            // tries again.
            tracing::warn!(error = %e, "folding the ping journal failed");
        }
    }
}

/// Folds what is pending on the main writer, uncounts it, then deletes
/// the folded rows from the journal.
async fn fold_pending<B: SqlBackend>(backend: &B, pings: &PingJournal) -> StoreResult<()> {
    let Some(journal) = backend.ping_journal() else {
        return Ok(());
    };
    let _turn = pings.folding.lock().await;
    // A fold that held the turn before may have moved everything.
    if !pings.has_pending() {
        return Ok(());
    }
    let rows = pings.rows_to_fold();
    let mut tx = Tx::<B>(backend.begin_write().await?);
    let upto = fold(&mut tx, &journal.id).await?;
    tx.commit().await?;
    pings.folded(rows);
    if let Some(upto) = upto {
        // Only space is at stake here: the mark already skips these rows.
        if let Err(e) = query::<B>("DELETE FROM ping_journal WHERE seq <= $1")
            .bind(upto)
            .execute(Reader(&journal.pool))
            .await
        {
            tracing::warn!(error = %e, "emptying the folded ping journal failed");
        }
    }
    Ok(())
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

/// Moves every journaled ping above the fold mark of journal `journal_id`
/// (of a live monitor) into `check_results`, and its monitor's latest into
/// `heartbeats`, and moves the mark: all in `tx`, on the main writer, which
/// sees the journal as `journal.ping_journal`. Returns the new mark, if
/// there was anything to fold.
///
/// The journal is read in this transaction's snapshot of it, taken when
/// the transaction began: appends committed later wait for the next fold.
///
/// A result id already stored is skipped rather than allowed to fail the
/// fold, which would fail every read after it.
///
/// The results go in by monitor: each lands in the `(monitor_id, id)`
/// index next to the one before it, so a fold reads and rewrites each
/// index page once, where journal order (by arrival, monitors at random)
/// sent consecutive rows to pages far apart, most of them out of the
/// writer's 2 MiB page cache.
async fn fold<B: SqlBackend>(tx: &mut Tx<B>, journal_id: &str) -> StoreResult<Option<i64>> {
    let mark: i64 = query::<B>("SELECT seq FROM ping_journal_folded WHERE journal_id = $1")
        .bind(journal_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.get("seq"))
        .transpose()?
        .unwrap_or(0);
    let upto: Option<i64> = query::<B>("SELECT max(seq) AS upto FROM journal.ping_journal")
        .fetch_one(&mut *tx)
        .await?
        .get("upto")?;
    let Some(upto) = upto.filter(|&upto| upto > mark) else {
        return Ok(None);
    };
    query::<B>(
        "INSERT INTO check_results (id, org_id, monitor_id, check_type, status, degraded, \
         region, latency_ms, http_status, error, details, created_at) \
         SELECT id, org_id, monitor_id, check_type, status, degraded, region, latency_ms, \
         http_status, error, details, created_at FROM journal.ping_journal j \
         WHERE j.seq > $1 AND j.seq <= $2 \
         AND EXISTS (SELECT 1 FROM monitors m WHERE m.id = j.monitor_id) \
         ORDER BY monitor_id, id \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(mark)
    .bind(upto)
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
         FROM journal.ping_journal WHERE seq > $1 AND seq <= $2) j \
         WHERE newest = 1 AND EXISTS (SELECT 1 FROM monitors m WHERE m.id = j.monitor_id) \
         ON CONFLICT (monitor_id) DO UPDATE SET last_ping_at = excluded.last_ping_at, \
         last_ping_ok = excluded.last_ping_ok, missed = FALSE \
         WHERE excluded.last_ping_at >= heartbeats.last_ping_at",
    )
    .bind(mark)
    .bind(upto)
    .execute(&mut *tx)
    .await?;
    query::<B>(
        "INSERT INTO ping_journal_folded (journal_id, seq) VALUES ($1, $2) \
         ON CONFLICT (journal_id) DO UPDATE SET seq = excluded.seq",
    )
    .bind(journal_id)
    .bind(upto)
    .execute(&mut *tx)
    .await?;
    Ok(Some(upto))
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
