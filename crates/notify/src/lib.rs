//! Alert delivery: payload formats, webhook signing (and verification for
//! receivers), the SSRF-guarded sender, and the persistent outbox worker.

pub mod email;
pub mod format;
pub mod gather;
pub mod http;
pub mod retry;
pub mod sign;
/// An SMTP server that keeps what it receives, for tests.
#[cfg(feature = "testing")]
pub mod smtp_sink;
/// The services' documented request rules, for fakes and snapshot tests.
#[cfg(feature = "testing")]
pub mod testing;
pub mod worker;

pub use sign::{VerifyError, verify};
pub use worker::{Outbox, OutboxConfig, OutboxStats};
