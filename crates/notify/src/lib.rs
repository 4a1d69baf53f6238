//! Alert delivery: payload formats, webhook signing (and verification for
//! receivers), the SSRF-guarded sender, and the persistent outbox worker.

pub mod email;
pub mod format;
pub mod http;
pub mod retry;
pub mod sign;
pub mod worker;

pub use sign::{VerifyError, verify};
pub use worker::{Outbox, OutboxConfig, OutboxStats};
