//! `certsentry certwatch`: runs in place of the certwatch service, from its
//! env vars, against its PostgreSQL tables, with its alert JSON, metrics
//! and `/healthz`. Everything the mode needs is in this crate:
//!
//! - [`service`]: certstream → watch list → `public.alerts` → webhook, on
//!   the `ct` crate's parsing and sources and `notify`'s sender and retry;
//! - [`tables`]: the contract with certwatch's tables, and [`postgres`]
//!   its implementation (with [`postgres::SCHEMA`], applied by the operator);
//! - [`http`]: the two anonymous endpoints certwatch serves.

pub mod http;
pub mod postgres;
pub mod service;
pub mod tables;
