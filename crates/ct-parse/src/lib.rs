//! The pure parsers of Certificate Transparency, with no I/O, so that the
//! fuzz targets and the TLS probe depend on them alone:
//! - RFC 6962 log entries ([`leaf`]) and certstream messages ([`certstream`]);
//! - certificate facts ([`facts`]: names, key hash, issuer, validity, serial)
//!   and Cert Spotter's `tbs_sha256` ([`tbs`]), shared by CT and the TLS probe;
//! - names ([`names`]), the watch list ([`watch`]) and Merkle trees ([`merkle`]);
//! - [`issuance`]: an entry turned into what matching and alerts need.
//!
//! Bad input is an error, never a panic (`fuzz/`).

pub mod certstream;
pub mod facts;
pub mod issuance;
pub mod leaf;
mod lenient;
pub mod merkle;
pub mod names;
pub mod tbs;
pub mod watch;

pub use watch::WatchList;
