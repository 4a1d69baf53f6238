//! The finished days of each status page's monitors, kept between renders.
//!
//! A page shows 90 days per monitor: 45,000 day cells for 500 monitors.
//! Only today's cells change with every check; the 89 days before it
//! change only when late results arrive. So a render reads today's cells
//! from the store and takes the finished days from here, re-reading them
//! when the day turns, when the page's monitors change, and at least every
//! [`REREAD_FINISHED_EVERY`] (so late results show within that).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use certsentry_domain::{MonitorId, StatusPageId};
use certsentry_store::StoreResult;
use certsentry_store::prelude::*;

/// How stale the finished days may be: a late result shows within this.
pub const REREAD_FINISHED_EVERY: Duration = Duration::from_secs(600);

/// Checks and failed checks, by monitor and day (`YYYY-MM-DD`).
pub type DayCells = HashMap<MonitorId, HashMap<String, (u64, u64)>>;

struct Kept {
    first_day: String,
    last_day: String,
    monitors: Vec<MonitorId>,
    read_at: Instant,
    cells: Arc<DayCells>,
}

/// The finished days of every page rendered lately.
#[derive(Default)]
pub struct FinishedDays {
    pages: Mutex<HashMap<StatusPageId, Kept>>,
}

/// A render's day cells: the finished days (shared, not copied) and today.
pub struct Cells {
    pub finished: Arc<DayCells>,
    pub today: DayCells,
    pub today_key: String,
}

impl Cells {
    /// `(checks, failed)` of `monitor` on `day`.
    pub fn get(&self, monitor: &MonitorId, day: &str) -> (u64, u64) {
        let from = if day == self.today_key {
            &self.today
        } else {
            &*self.finished
        };
        from.get(monitor)
            .and_then(|days| days.get(day))
            .copied()
            .unwrap_or((0, 0))
    }
}

async fn read(
    store: &dyn Store,
    monitors: &[MonitorId],
    from: &str,
    to: &str,
) -> StoreResult<DayCells> {
    let mut cells: DayCells = HashMap::new();
    for (monitor, day, checks, failed) in store.list_daily_checks(monitors, from, to).await? {
        cells
            .entry(monitor)
            .or_default()
            .insert(day, (checks, failed));
    }
    Ok(cells)
}

impl FinishedDays {
    /// The cells of `monitors` from `first_day` through `yesterday`, and
    /// today's.
    pub async fn cells(
        &self,
        store: &dyn Store,
        page: &StatusPageId,
        monitors: &[MonitorId],
        first_day: &str,
        yesterday: &str,
        today: &str,
    ) -> StoreResult<Cells> {
        let kept = {
            let pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
            pages
                .get(page)
                .filter(|k| {
                    k.first_day == first_day
                        && k.last_day == yesterday
                        && k.monitors == monitors
                        && k.read_at.elapsed() < REREAD_FINISHED_EVERY
                })
                .map(|k| k.cells.clone())
        };
        let finished = match kept {
            Some(cells) => cells,
            None => {
                let read_at = Instant::now();
                let cells = Arc::new(read(store, monitors, first_day, yesterday).await?);
                let mut pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
                // Pages not rendered for a while are dropped.
                pages.retain(|_, k| k.read_at.elapsed() < REREAD_FINISHED_EVERY);
                pages.insert(
                    page.clone(),
                    Kept {
                        first_day: first_day.to_string(),
                        last_day: yesterday.to_string(),
                        monitors: monitors.to_vec(),
                        read_at,
                        cells: cells.clone(),
                    },
                );
                cells
            }
        };
        Ok(Cells {
            finished,
            today: read(store, monitors, today, today).await?,
            today_key: today.to_string(),
        })
    }
}
