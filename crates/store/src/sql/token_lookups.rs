//! Heartbeat token lookups, many to a query.
//!
//! Why: without the monitor cache (PostgreSQL, where other nodes change
//! monitors), every ping looked its token up with a query of its own, and
//! `perf` of `certsentry-bench pings --database-url …` put about half of the
//! server's samples in those round trips: sqlx's pool hand-offs and the
//! kernel waking the database's process and ours again for each one. Here a
//! lookup that arrives while another is in flight waits for it, then goes
//! with every other waiting token in one `IN` (or `= ANY`) query, as the
//! check writer gathers writes.
//!
//! What stays true: a lookup's query starts after the lookup was asked for,
//! so a token rotated or a monitor deleted before a ping arrived is not
//! found for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use certsentry_domain::monitor::Monitor;
use sqlx::Pool;
use tokio::sync::oneshot;

use super::monitors::monitor_from_row;
use super::{MONITOR_COLUMNS, Reader, SqlBackend, fetch_in};
use crate::{StoreError, StoreResult};

/// Tokens per query: both backends cap bound values, and SQLite binds each.
const TOKENS_PER_QUERY: usize = 1000;

type Found = StoreResult<Option<Arc<Monitor>>>;

/// The lookups waiting for a query, shared with the task that runs them.
#[derive(Default)]
pub(crate) struct TokenLookups {
    queue: Arc<Mutex<Queue>>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<(String, oneshot::Sender<Found>)>,
    /// Whether a task is running queries for the queue.
    draining: bool,
}

impl TokenLookups {
    /// The monitor whose heartbeat token is `token`, found in a query with
    /// whatever other tokens are waiting.
    pub(crate) async fn find<B: SqlBackend>(&self, pool: &Pool<B::Db>, token: &str) -> Found {
        let (answer, answered) = oneshot::channel();
        let start_draining = {
            let mut queue = lock(&self.queue);
            queue.waiting.push((token.to_owned(), answer));
            !std::mem::replace(&mut queue.draining, true)
        };
        if start_draining {
            let draining = Draining {
                queue: self.queue.clone(),
                emptied: false,
            };
            tokio::spawn(drain::<B>(draining, pool.clone()));
        }
        answered
            .await
            .map_err(|_| StoreError::Backend("the heartbeat token lookup stopped".into()))?
    }
}

fn lock(queue: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    queue.lock().unwrap_or_else(|p| p.into_inner())
}

/// The drain task's hold on the queue. If the task ends any other way than
/// by finding the queue empty (a panic, its runtime shutting down), the
/// drop lets the next lookup start a new task, and the waiting lookups hear
/// that theirs stopped instead of waiting forever.
struct Draining {
    queue: Arc<Mutex<Queue>>,
    /// Set, under the lock, when the task found the queue empty and
    /// stopped: the lookups queued after that belong to the next task,
    /// which the drop must leave alone.
    emptied: bool,
}

impl Drop for Draining {
    fn drop(&mut self) {
        if self.emptied {
            return;
        }
        let mut queue = lock(&self.queue);
        queue.draining = false;
        queue.waiting.clear();
    }
}

/// Runs queries until no lookup is waiting.
async fn drain<B: SqlBackend>(mut draining: Draining, pool: Pool<B::Db>) {
    loop {
        let batch: Vec<_> = {
            let mut queue = lock(&draining.queue);
            if queue.waiting.is_empty() {
                queue.draining = false;
                draining.emptied = true;
                return;
            }
            let take = queue.waiting.len().min(TOKENS_PER_QUERY);
            queue.waiting.drain(..take).collect()
        };
        let tokens: Vec<&str> = batch.iter().map(|(token, _)| token.as_str()).collect();
        match find_all::<B>(&pool, &tokens).await {
            Ok(found) => {
                for (token, answer) in batch {
                    let _ = answer.send(Ok(found.get(&token).cloned()));
                }
            }
            Err(e) => {
                for (_, answer) in batch {
                    let _ = answer.send(Err(copy_for_a_waiter(&e)));
                }
            }
        }
    }
}

/// `e` again, for one of the lookups that shared its query (`StoreError`
/// is not `Clone`). The kinds a lookup can meet keep their kind, so
/// "unavailable" still answers 503; anything else keeps its message.
fn copy_for_a_waiter(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(why) => StoreError::Unavailable(why.clone()),
        StoreError::Corrupt(what) => StoreError::Corrupt(what.clone()),
        other => StoreError::Backend(other.to_string().into()),
    }
}

/// The monitors of `tokens`, by token.
async fn find_all<B: SqlBackend>(
    pool: &Pool<B::Db>,
    tokens: &[&str],
) -> StoreResult<HashMap<String, Arc<Monitor>>> {
    let rows = fetch_in::<B, _>(
        Reader::<B>(pool),
        MONITOR_COLUMNS,
        "monitors",
        "heartbeat_token",
        tokens,
    )
    .await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in &rows {
        let monitor = monitor_from_row(row)?;
        if let Some(token) = monitor.heartbeat_token.clone() {
            found.insert(token, Arc::new(monitor));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A queue holding one later lookup, after a drain task's guard
    /// dropped: `emptied` says how the task ended.
    fn after_guard_dropped(emptied: bool) -> (Arc<Mutex<Queue>>, oneshot::Receiver<Found>) {
        let (answer, answered) = oneshot::channel();
        let queue = Arc::new(Mutex::new(Queue {
            waiting: vec![("tok_later".into(), answer)],
            draining: true,
        }));
        drop(Draining {
            queue: queue.clone(),
            emptied,
        });
        (queue, answered)
    }

    #[test]
    fn a_task_that_emptied_the_queue_leaves_the_next_tasks_lookups_alone() {
        // The task found the queue empty and stopped; a lookup then queued
        // and started the next task before the first one's guard dropped.
        let (queue, mut answered) = after_guard_dropped(true);
        let queue = lock(&queue);
        assert_eq!(queue.waiting.len(), 1, "the later lookup still waits");
        assert!(queue.draining, "the next task still drains");
        assert!(matches!(
            answered.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        ));
    }

    #[test]
    fn a_task_that_died_lets_its_waiters_go_and_the_next_lookup_start_again() {
        let (queue, mut answered) = after_guard_dropped(false);
        let queue = lock(&queue);
        assert!(queue.waiting.is_empty());
        assert!(!queue.draining);
        assert!(matches!(
            answered.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
    }
}
