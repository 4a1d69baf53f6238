//! One row of `certsentry-bench all`'s table: a measured figure, the bare
//! baseline of the same run, their ratio and the goal it is held to.
//!
//! Each benchmark runs as its own process (so that one's memory and threads
//! never weigh on the next), and hands its rows back to `all` as JSON lines
//! in the file named by `CERTSENTRY_BENCH_FIGURES`.

use std::io::Write as _;

use serde::{Deserialize, Serialize};

/// Where a child benchmark appends its figures for `all`.
pub const FIGURES_ENV: &str = "CERTSENTRY_BENCH_FIGURES";

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Goal {
    /// Faster is better: the ratio to the baseline at least this.
    RatioAtLeast(f64),
    /// Costlier than the baseline by at most this factor (CPU per check).
    RatioAtMost(f64),
    /// An absolute floor on the figure itself (a rate the issue sets).
    AtLeast(f64),
    /// An absolute ceiling on the figure itself (memory).
    AtMost(f64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// What was measured, e.g. "heartbeat pings, persisted".
    pub path: String,
    /// `sqlite`, `postgres`, or `-` for a path without a store.
    pub store: String,
    pub value: f64,
    pub unit: String,
    /// The bare loop of the same run, in the same unit; `None` for a
    /// figure held to an absolute goal.
    pub baseline: Option<f64>,
    pub goal: Goal,
    /// The absolute figure the issue states beside the ratio, for the table.
    pub goal_text: String,
    /// Whether the run lost nothing (every acknowledged ping stored, every
    /// event delivered): a run that lost something fails whatever its speed.
    pub complete: bool,
}

impl Figure {
    pub fn ratio(&self) -> Option<f64> {
        self.baseline.map(|b| self.value / b)
    }

    pub fn meets_goal(&self) -> bool {
        self.complete
            && match (self.goal, self.ratio()) {
                (Goal::RatioAtLeast(goal), Some(ratio)) => ratio >= goal,
                (Goal::RatioAtMost(goal), Some(ratio)) => ratio <= goal,
                (Goal::AtLeast(floor), _) => self.value >= floor,
                (Goal::AtMost(ceiling), _) => self.value <= ceiling,
                _ => false,
            }
    }
}

/// Hands `figures` to a parent `all` run, if there is one.
pub fn report(figures: &[Figure]) -> anyhow::Result<()> {
    let Ok(path) = std::env::var(FIGURES_ENV) else {
        return Ok(());
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    for figure in figures {
        writeln!(file, "{}", serde_json::to_string(figure)?)?;
    }
    Ok(())
}

/// Reads what children appended to `path`.
pub fn read(path: &std::path::Path) -> anyhow::Result<Vec<Figure>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| Ok(serde_json::from_str(line)?))
        .collect()
}
