//! Certificate Transparency. This first part is pure: RFC 6962 log entry
//! parsing, DNS name normalization, and the watch list that decides which
//! certificates concern a watched domain. The feeds (certstream, RFC 6962
//! and tiled logs) and the inventory check build on it.

pub mod certstream;
pub mod certstream_client;
pub mod facts;
pub mod leaf;
pub mod log;
pub mod merkle;
pub mod names;
pub mod watch;

pub use watch::WatchList;
