//! Certificate Transparency: finding every certificate issued for a
//! watched domain.
//!
//! - Parsing (pure): RFC 6962 entries ([`leaf`]), certstream messages
//!   ([`certstream`]), certificate facts and Cert Spotter's `tbs_sha256`
//!   ([`facts`], and `certsentry_domain::ct_tbs`), names ([`names`]) and the watch list ([`watch`]).
//! - Sources: the certstream websocket ([`certstream_client`]), RFC 6962
//!   logs ([`log`]), static-ct-api tiled logs ([`tiled`]), from a v3 log
//!   list ([`log_list`]).
//! - [`pipeline`]: entries → matches → findings (known or suspicious after
//!   the grace window) → `ct.new_certificate` events in the store's outbox.
//! - [`certwatch`]: the drop-in replacement for the certwatch service.

pub mod certstream;
pub mod certstream_client;
pub mod certwatch;
pub mod facts;
pub mod issuance;
pub mod leaf;
pub mod log;
pub mod log_list;
pub mod merkle;
pub mod names;
pub mod pipeline;
pub mod sources;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tiled;
pub mod watch;

pub use certsentry_domain::ct_tbs as tbs;
pub use watch::WatchList;
