//! The `certsentry` library half: what the binary and its tests share.
//! [`runtime`] is the composition root; [`config`] resolves flags,
//! `CERTSENTRY_*` variables and the TOML file; [`db`] opens the store.

pub mod config;
pub mod db;
pub mod logging;
pub mod memory;
pub mod runtime;
