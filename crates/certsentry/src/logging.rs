//! Log output: `tracing` lines on stderr, filtered by `CERTSENTRY_LOG`.
//!
//! Colour is for people at a terminal: it is off when stdout or stderr is
//! not a terminal (systemd, `docker logs`, `serve | cat`) and whenever
//! `NO_COLOR` is set. `--log-format json` writes one JSON object per line,
//! with the current span's fields (an HTTP request's `request_id`,
//! method and path) and the span list, for log shippers.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Whether to colour: both streams are terminals and `NO_COLOR` is unset
/// (<https://no-color.org>: any value, even empty, turns colour off).
pub fn use_colour() -> bool {
    std::env::var_os("NO_COLOR").is_none()
        && std::io::stderr().is_terminal()
        && std::io::stdout().is_terminal()
}

/// Installs the global subscriber. `default` is the filter when
/// `CERTSENTRY_LOG` is unset.
pub fn init(default: &str, format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("CERTSENTRY_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(use_colour()).init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}
