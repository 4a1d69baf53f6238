//! DMARC intake: from the bytes that arrive (a mail, an upload) to report
//! summaries. `extract` finds report files in mail, zip and gzip (bounded,
//! so a bomb is refused with a reason); `aggregate` reads aggregate
//! reports as a stream; `tlsrpt` recognizes SMTP TLS reports (RFC 8460),
//! which arrive at the same addresses and must not count as broken DMARC.
//! No network and no database: the API and the SMTP listener store what
//! this returns.

pub mod aggregate;
pub mod extract;
#[cfg(feature = "intake")]
pub mod imap;
#[cfg(feature = "intake")]
pub mod ingest;
#[cfg(feature = "intake")]
pub mod ptr;
#[cfg(feature = "intake")]
pub mod smtp;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tlsrpt;
mod utf8;

pub use aggregate::{parse_aggregate, parse_aggregate_reader};
pub use extract::{Extracted, Limits, extract};
#[cfg(feature = "intake")]
pub use ingest::{Imported, Intake, IntakeError, IntakeStats};

/// Why a file or a report could not be read. The message is shown to
/// users as the import's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not a DMARC report: {0}")]
    NotAReport(String),
    #[error("unreadable XML: {0}")]
    Xml(String),
    #[error("{0}")]
    Archive(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("no report found: {0}")]
    NothingFound(String),
}
