//! Certificate Transparency: finding every certificate issued for a
//! watched domain.
//!
//! - Parsing lives in `certsentry-ct-parse` (pure, fuzzed) and is
//!   re-exported here: RFC 6962 entries ([`leaf`]), certstream messages
//!   ([`certstream`]), certificate facts and `tbs_sha256` ([`facts`],
//!   [`tbs`]), names ([`names`]), Merkle trees ([`merkle`]) and the watch
//!   list ([`watch`]).
//! - Sources: the certstream websocket ([`certstream_client`]), RFC 6962
//!   logs ([`log`]), static-ct-api tiled logs ([`tiled`]), from a v3 log
//!   list ([`log_list`]).
//! - [`pipeline`]: entries → matches → findings (known or suspicious after
//!   the grace window) → `ct.new_certificate` events in the store's outbox.

pub mod certstream_client;
pub mod log;
pub mod log_list;
pub mod metrics;
pub mod pipeline;
pub mod source_stats;
pub mod sources;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tiled;

pub use certsentry_ct_parse::{
    WatchList, certstream, facts, issuance, leaf, merkle, names, tbs, watch,
};
