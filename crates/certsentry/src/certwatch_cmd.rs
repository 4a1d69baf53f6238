//! `certsentry certwatch`: runs as the certwatch service does, from its own
//! environment variables with its defaults, against its Postgres tables.
//! An existing deployment switches binaries and keeps its config.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use certsentry_certwatch::postgres::{PgCertwatch, SCHEMA};
use certsentry_certwatch::service::{Certwatch, CertwatchConfig};
use clap::Args;

/// certwatch's env vars, with its defaults. Durations are seconds and may
/// have a fraction, as Python's float() would take them.
#[derive(Debug, Clone, Args)]
pub struct CertwatchArgs {
    /// Print schema.sql (creates certs and alerts) and exit.
    #[arg(long)]
    pub print_schema: bool,
    /// Postgres connection string (required).
    #[arg(long, env = "POSTGRES_DSN", hide_env_values = true, value_name = "DSN")]
    pub postgres_dsn: Option<String>,
    /// Upstream certstream-server (`--certstream`, so as not to shadow serve's `--certstream-url`).
    #[arg(
        id = "certwatch_certstream_url",
        long = "certstream",
        env = "CERTSTREAM_URL",
        default_value = "ws://localhost:8080/full-stream",
        value_name = "URL"
    )]
    pub certstream_url: String,
    /// Bind address.
    #[arg(long, env = "API_HOST", default_value = "127.0.0.1")]
    pub api_host: String,
    /// Bind port.
    #[arg(long, env = "API_PORT", default_value_t = 8765)]
    pub api_port: u16,
    /// Where alerts are POSTed; unset: observer mode (log only).
    #[arg(long, env = "WEBHOOK_URL", hide_env_values = true)]
    pub webhook_url: Option<String>,
    /// Per-attempt timeout.
    #[arg(long, env = "WEBHOOK_TIMEOUT_S", default_value_t = 10.0)]
    pub webhook_timeout_s: f64,
    /// How often to prune.
    #[arg(long, env = "CLEANUP_INTERVAL_S", default_value_t = 3600.0)]
    pub cleanup_interval_s: f64,
    /// Keep alerts this long (30 days).
    #[arg(long, env = "ALERT_RETENTION_S", default_value_t = 2_592_000.0)]
    pub alert_retention_s: f64,
    /// Wait this long for upstream to land a fingerprint in public.certs before flagging.
    #[arg(long, env = "SUSPICIOUS_GRACE_S", default_value_t = 10.0)]
    pub suspicious_grace_s: f64,
    /// How often to re-read public.intent_current.
    #[arg(long, env = "WATCH_REFRESH_INTERVAL_S", default_value_t = 60.0)]
    pub watch_refresh_interval_s: f64,
    /// Logging level (DEBUG, INFO, WARNING, ERROR, CRITICAL).
    #[arg(long, env = "LOG_LEVEL", default_value = "INFO")]
    pub log_level: String,
    /// The waits after failed attempts of one delivery round (CertSentry's).
    #[arg(
        long,
        env = "CERTSENTRY_CERTWATCH_RETRY_DELAYS",
        default_value = "1,4,16",
        value_delimiter = ','
    )]
    pub retry_delays_s: Vec<f64>,
    /// How often undelivered alerts are swept and retried (CertSentry's).
    #[arg(long, env = "CERTSENTRY_CERTWATCH_SWEEP_S", default_value_t = 30.0)]
    pub sweep_interval_s: f64,
}

/// The tracing filter for a stdlib logging level name.
pub fn log_filter(level: &str) -> String {
    match level.trim().to_ascii_uppercase().as_str() {
        "DEBUG" | "NOTSET" => "debug",
        "INFO" => "info",
        "WARNING" | "WARN" => "warn",
        "ERROR" | "CRITICAL" | "FATAL" => "error",
        _ => return level.to_string(),
    }
    .to_string()
}

fn seconds(name: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .with_context(|| format!("{name}: {value} is not a duration in seconds"))
}

pub async fn run(
    args: CertwatchArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if args.print_schema {
        print!("{SCHEMA}");
        return Ok(());
    }
    let Some(dsn) = args.postgres_dsn.as_deref() else {
        bail!(
            "POSTGRES_DSN is required (a Postgres connection string, e.g. postgresql://user:pw@host:5432/db)"
        );
    };
    let mut config = CertwatchConfig::new(args.certstream_url.clone());
    config.webhook_url = args.webhook_url.clone().filter(|u| !u.trim().is_empty());
    config.webhook_timeout = seconds("WEBHOOK_TIMEOUT_S", args.webhook_timeout_s)?;
    config.cleanup_interval =
        seconds("CLEANUP_INTERVAL_S", args.cleanup_interval_s)?.max(Duration::from_secs(1));
    config.alert_retention = seconds("ALERT_RETENTION_S", args.alert_retention_s)?;
    config.grace = seconds("SUSPICIOUS_GRACE_S", args.suspicious_grace_s)?;
    config.watch_refresh = seconds("WATCH_REFRESH_INTERVAL_S", args.watch_refresh_interval_s)?
        .max(Duration::from_millis(100));
    config.retry_delays = args
        .retry_delays_s
        .iter()
        .map(|s| seconds("CERTSENTRY_CERTWATCH_RETRY_DELAYS", *s))
        .collect::<anyhow::Result<_>>()?;
    config.sweep_interval = seconds("CERTSENTRY_CERTWATCH_SWEEP_S", args.sweep_interval_s)?
        .max(Duration::from_millis(100));
    if let Some(url) = &config.webhook_url {
        reqwest::Url::parse(url).with_context(|| "WEBHOOK_URL is not a URL")?;
    }

    let tables = Arc::new(PgCertwatch::connect(dsn).await?);
    let service = Certwatch::new(config.clone(), tables);
    let entries = service
        .refresh_watch_list()
        .await
        .context("reading public.intent_current")?;
    let address = format!("{}:{}", args.api_host, args.api_port);
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| format!("listening on {address}"))?;
    tracing::info!(
        address = %listener.local_addr()?,
        watch_entries = entries,
        certstream = %config.certstream_url,
        mode = if config.webhook_url.is_some() { "webhook" } else { "observer (log only)" },
        "certwatch (CertSentry {}) running",
        env!("CARGO_PKG_VERSION")
    );
    let worker = tokio::spawn(service.clone().run());
    certsentry_certwatch::http::serve(listener, service, shutdown).await?;
    worker.abort();
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdlib_level_names_become_tracing_filters() {
        assert_eq!(log_filter("INFO"), "info");
        assert_eq!(log_filter("warning"), "warn");
        assert_eq!(log_filter("CRITICAL"), "error");
        assert_eq!(log_filter("DEBUG"), "debug");
        assert_eq!(log_filter("certsentry_ct=debug"), "certsentry_ct=debug");
    }
}
