//! The probe agent (`certsentry agent`): a process with no database and no
//! inbound port that runs one region's uptime and TCP checks where it
//! stands and uploads what it saw to the server, over the versioned JSON
//! protocol in [`protocol`].
//!
//! - [`sync`] holds the region's jobs: it long-polls the server, which
//!   renews the agent's leases and hands it new or changed jobs.
//! - The engine's scheduler runs the held jobs on their intervals; each
//!   check's observation goes to the [`spool`].
//! - [`spool`] keeps results on disk until the server has them (bounded
//!   by age and size), so an agent cut off from the server keeps checking
//!   and uploads its buffer when the server is back.

pub mod connection;
pub mod protocol;
pub mod run;
pub mod spool;
pub mod sync;

pub use run::{AgentConfig, AgentError, run};
