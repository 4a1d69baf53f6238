//! The check engine: probe → observation → result → rule → monitor state.
//!
//! [`Checker`] runs one monitor's checks now (used by `POST …/check` and by
//! the scheduler). In this release every region is served by the local node:
//! a check "in dublin" runs here and is labelled dublin, so the multi-region
//! outage rule already applies and a remote agent can take a region over later.

pub mod checker;
pub mod results;

pub use checker::Checker;
