//! Settings from flags, `CERTSENTRY_*` env vars and an optional TOML file.
//! A flag or env var beats the file; the file beats the built-in default.

mod dashboard;
mod dmarc;
pub use dashboard::DashboardArgs;
use dashboard::DashboardFile;
use dmarc::DmarcFile;
pub use dmarc::{DmarcArgs, DmarcSettings, ImapSettings, Secret, SmtpSettings};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use certsentry_domain::plan::{Plan, Plans};
use clap::Args;
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8765";
pub const DEFAULT_DATA_DIR: &str = "./certsentry-data";
pub const DEFAULT_REGIONS: &str = "virginia,dublin,singapore";

/// Options every subcommand accepts, so the CLI and a running server can share a database.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Log line format: `text` for people, `json` (one object per line) for log shippers.
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
    /// TOML configuration file.
    #[arg(long, global = true, env = "CERTSENTRY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the embedded SQLite database [default: ./certsentry-data].
    #[arg(long, global = true, env = "CERTSENTRY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// `postgres://...` switches to PostgreSQL; `sqlite://PATH` is also accepted.
    #[arg(long, global = true, env = "DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// Let monitor targets resolve to private, loopback or link-local addresses.
    #[arg(long, global = true, env = "CERTSENTRY_ALLOW_PRIVATE_TARGETS", num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    pub allow_private_targets: Option<bool>,
    /// Comma-separated probe region names [default: virginia,dublin,singapore].
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_REGIONS",
        value_delimiter = ',',
        value_name = "LIST"
    )]
    pub regions: Option<Vec<String>>,
    /// PEM file of extra CA certificates probes trust (an internal CA).
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_PROBE_CA_FILE",
        value_name = "FILE"
    )]
    pub probe_ca_file: Option<PathBuf>,
    /// Per-phase probe timeout in seconds [default: 10].
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_PROBE_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub probe_timeout: Option<u64>,
    /// Pause between two handshakes of a TLS grade scan with one server, in milliseconds [default: 25].
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_TLS_SCAN_GAP_MS",
        value_name = "MS"
    )]
    pub tls_scan_gap: Option<u64>,
    /// Nameservers for DNS checks, `ip` or `ip:port`, comma-separated [default: the system's].
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_DNS_SERVERS",
        value_delimiter = ',',
        value_name = "LIST"
    )]
    pub dns_servers: Option<Vec<String>>,
    /// RDAP bootstrap file (`dns.json`), a path or URL [default: IANA's, downloaded and cached in the data dir].
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_RDAP_BOOTSTRAP",
        value_name = "PATH|URL"
    )]
    pub rdap_bootstrap: Option<String>,
    /// WHOIS server (`host[:port]`) asked for every domain [default: the one whois.iana.org names].
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_WHOIS_SERVER",
        value_name = "HOST[:PORT]"
    )]
    pub whois_server: Option<String>,
    /// Webhook attempt timeout in seconds [default: 15].
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_WEBHOOK_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub webhook_timeout: Option<u64>,
    /// Delays between delivery retries [default: 5s,5m,30m,2h,5h,10h,10h].
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_RETRY_SCHEDULE",
        value_name = "LIST"
    )]
    pub retry_schedule: Option<String>,
    /// Emailed when the outbox disables a failing channel (needs --operator-smtp-url).
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_OPERATOR_EMAIL",
        value_name = "ADDRESS"
    )]
    pub operator_email: Option<String>,
    /// SMTP server for operator email: `smtp://host:25`, `smtp://user:pass@host:587?tls=required`, `smtps://user:pass@host:465`.
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_OPERATOR_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub operator_smtp_url: Option<String>,
    /// How long chat messages wait so that a burst to one channel (more than 10) goes as one summary; 0 sends each at once [default: 10].
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_CHAT_GROUP_SECONDS",
        value_name = "SECONDS"
    )]
    pub chat_group_seconds: Option<u64>,
    /// Telegram's bot API base URL (for a proxy or a test server).
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_TELEGRAM_API_URL",
        value_name = "URL"
    )]
    pub telegram_api_url: Option<String>,
    /// PagerDuty's Events API v2 URL (for a proxy or a test server).
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_PAGERDUTY_EVENTS_URL",
        value_name = "URL"
    )]
    pub pagerduty_events_url: Option<String>,
    #[command(flatten)]
    pub ct: CtArgs,
    #[command(flatten)]
    pub dmarc: DmarcArgs,
    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

/// Certificate Transparency sources (`serve`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CtArgs {
    /// certstream-server websocket (`wss://…/full-stream`); unset: no certstream source.
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_CERTSTREAM_URL",
        value_name = "URL"
    )]
    pub certstream_url: Option<String>,
    /// CT log list (v3 JSON), a path or URL; unset: no direct log tailing.
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_CT_LOG_LIST",
        value_name = "PATH|URL"
    )]
    pub ct_log_list: Option<String>,
    /// Where a log seen for the first time starts: `end` (default), `beginning` or an entry index.
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_CT_START",
        value_name = "end|beginning|INDEX"
    )]
    pub ct_start: Option<String>,
    /// Per-log exceptions to --ct-start: `LOG=end|beginning|INDEX`, LOG being the log id, URL or description; comma-separated.
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_CT_LOG_START",
        value_delimiter = ',',
        value_name = "LOG=WHERE"
    )]
    pub ct_log_start: Option<Vec<String>>,
    /// Seconds a CT match waits for the inventory before it is suspicious (default 10).
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_SUSPICIOUS_GRACE_S",
        value_name = "SECONDS"
    )]
    pub suspicious_grace: Option<u64>,
    /// Seconds between rebuilds of the CT watch list from the monitors (default 60).
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_CT_WATCH_REFRESH_S",
        value_name = "SECONDS"
    )]
    pub ct_watch_refresh: Option<u64>,
    /// Seconds a caught-up log waits before asking for a new tree head (default 15).
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_CT_POLL_S",
        value_name = "SECONDS"
    )]
    pub ct_poll_interval: Option<u64>,
    /// Least milliseconds between two requests to one log (default 250).
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_CT_PACING_MS",
        value_name = "MS"
    )]
    pub ct_pacing: Option<u64>,
    /// This server's public base URL, for links in alerts (default `http://<listen>`).
    #[arg(long, global = true, env = "CERTSENTRY_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The CT settings.
#[derive(Debug, Clone)]
pub struct CtSettings {
    pub certstream_url: Option<String>,
    pub log_list: Option<String>,
    pub start: certsentry_ct::sources::StartRules,
    pub grace: std::time::Duration,
    pub watch_refresh: std::time::Duration,
    pub poll_interval: std::time::Duration,
    pub pacing: std::time::Duration,
    pub public_url: String,
}

impl Default for CtSettings {
    /// No feed; the timings `certsentry serve` uses when none is set.
    fn default() -> Self {
        Self {
            certstream_url: None,
            log_list: None,
            start: Default::default(),
            grace: std::time::Duration::from_secs(10),
            watch_refresh: std::time::Duration::from_secs(60),
            poll_interval: std::time::Duration::from_secs(15),
            pacing: std::time::Duration::from_millis(250),
            public_url: format!("http://{DEFAULT_LISTEN}"),
        }
    }
}

/// The optional TOML file. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    allow_private_targets: Option<bool>,
    regions: Option<Vec<String>>,
    probe_ca_file: Option<PathBuf>,
    probe_timeout: Option<u64>,
    tls_scan_gap: Option<u64>,
    dns_servers: Option<Vec<String>>,
    rdap_bootstrap: Option<String>,
    whois_server: Option<String>,
    webhook_timeout: Option<u64>,
    retry_schedule: Option<String>,
    operator_email: Option<String>,
    operator_smtp_url: Option<String>,
    certstream_url: Option<String>,
    ct_log_list: Option<String>,
    ct_start: Option<String>,
    /// `[ct_log_start]`: log id, URL or description = `end`, `beginning` or an index.
    #[serde(default)]
    ct_log_start: BTreeMap<String, String>,
    suspicious_grace: Option<u64>,
    ct_watch_refresh: Option<u64>,
    ct_poll_interval: Option<u64>,
    ct_pacing: Option<u64>,
    public_url: Option<String>,
    /// `[plans.NAME]` tables overlay the built-in plan of that name, key by key.
    #[serde(default)]
    plans: BTreeMap<String, toml::Table>,
    #[serde(default)]
    dmarc: DmarcFile,
    telegram_api_url: Option<String>,
    pagerduty_events_url: Option<String>,
    chat_group_seconds: Option<u64>,
    trusted_header: Option<String>,
    trusted_proxies: Option<String>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This server's public base URL (`--public-url`, default `http://<listen>`).
    pub public_url: String,
    pub listen: String,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub allow_private_targets: bool,
    pub regions: Vec<String>,
    pub plans: Plans,
    pub probe_ca_file: Option<PathBuf>,
    pub probe_timeout_seconds: u64,
    pub tls_scan_gap_ms: u64,
    pub dns_servers: Vec<std::net::SocketAddr>,
    pub rdap_bootstrap: Option<String>,
    pub whois_server: Option<String>,
    pub webhook_timeout_seconds: u64,
    pub chat_group_seconds: u64,
    pub retry_policy: certsentry_notify::retry::RetryPolicy,
    pub operator: Option<certsentry_notify::email::OperatorMail>,
    pub ct: CtSettings,
    pub dmarc: DmarcSettings,
    /// Where chat and paging services are reached, and links point.
    pub services: certsentry_notify::format::chat::Services,
    /// The dashboard's sign-in by a proxy's header, when configured.
    pub trusted_header: Option<certsentry_web::TrustedHeader>,
    /// The dashboard's sign-in with GitHub, when configured.
    pub github: Option<certsentry_web::dashboard::github::GithubSignIn>,
    /// The dashboard's single sign-on, when configured.
    pub oidc: Option<certsentry_web::dashboard::oidc::OidcSignIn>,
}

impl Settings {
    pub fn resolve(args: &GlobalArgs, listen_flag: Option<String>) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        let regions = args
            .regions
            .clone()
            .or(file.regions)
            .unwrap_or_else(|| DEFAULT_REGIONS.split(',').map(String::from).collect());
        let regions: Vec<String> = regions
            .into_iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        if regions.is_empty() {
            bail!("at least one region must be configured (--regions / CERTSENTRY_REGIONS)");
        }
        let listen = listen_flag
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let ct = &args.ct;
        let defaults = CtSettings::default();
        let secs = |v: Option<u64>, default: std::time::Duration| {
            v.map_or(default, std::time::Duration::from_secs)
        };
        let ct = CtSettings {
            certstream_url: ct.certstream_url.clone().or(file.certstream_url),
            log_list: ct.ct_log_list.clone().or(file.ct_log_list),
            start: start_rules(ct, file.ct_start, file.ct_log_start)?,
            grace: secs(
                ct.suspicious_grace.or(file.suspicious_grace),
                defaults.grace,
            ),
            watch_refresh: secs(
                ct.ct_watch_refresh.or(file.ct_watch_refresh),
                defaults.watch_refresh,
            )
            .max(std::time::Duration::from_secs(1)),
            poll_interval: secs(
                ct.ct_poll_interval.or(file.ct_poll_interval),
                defaults.poll_interval,
            )
            .max(std::time::Duration::from_secs(1)),
            pacing: ct
                .ct_pacing
                .or(file.ct_pacing)
                .map_or(defaults.pacing, std::time::Duration::from_millis),
            public_url: ct
                .public_url
                .clone()
                .or(file.public_url)
                .unwrap_or_else(|| format!("http://{listen}")),
        };
        let dmarc = DmarcSettings::resolve(&args.dmarc, file.dmarc, &ct.public_url)?;
        let defaults = certsentry_notify::format::chat::Services::default();
        let services = certsentry_notify::format::chat::Services {
            public_url: Some(ct.public_url.clone()),
            telegram_api_url: args
                .telegram_api_url
                .clone()
                .or(file.telegram_api_url)
                .unwrap_or(defaults.telegram_api_url),
            pagerduty_events_url: args
                .pagerduty_events_url
                .clone()
                .or(file.pagerduty_events_url)
                .unwrap_or(defaults.pagerduty_events_url),
        };
        let trusted_header = dashboard::trusted_header(
            &args.dashboard,
            &DashboardFile {
                trusted_header: file.trusted_header.clone(),
                trusted_proxies: file.trusted_proxies.clone(),
            },
        )?;
        let github = dashboard::github(&args.dashboard)?;
        let oidc = dashboard::oidc(&args.dashboard)?;
        Ok(Self {
            trusted_header,
            github,
            oidc,
            public_url: ct.public_url.clone(),
            services,
            ct,
            dmarc,
            listen,
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| DEFAULT_DATA_DIR.into()),
            database_url: args.database_url.clone().or(file.database_url),
            allow_private_targets: args
                .allow_private_targets
                .or(file.allow_private_targets)
                .unwrap_or(false),
            regions,
            plans: overlay_plans(file.plans)?,
            probe_ca_file: args.probe_ca_file.clone().or(file.probe_ca_file),
            probe_timeout_seconds: args
                .probe_timeout
                .or(file.probe_timeout)
                .unwrap_or(10)
                .max(1),
            tls_scan_gap_ms: args
                .tls_scan_gap
                .or(file.tls_scan_gap)
                .unwrap_or(25)
                .min(10_000),
            dns_servers: parse_dns_servers(
                args.dns_servers
                    .clone()
                    .or(file.dns_servers)
                    .unwrap_or_default(),
            )?,
            webhook_timeout_seconds: args
                .webhook_timeout
                .or(file.webhook_timeout)
                .unwrap_or(15)
                .max(1),
            chat_group_seconds: args
                .chat_group_seconds
                .or(file.chat_group_seconds)
                .unwrap_or(10)
                .min(60),
            retry_policy: match args.retry_schedule.clone().or(file.retry_schedule) {
                Some(list) => certsentry_notify::retry::RetryPolicy::parse(&list)
                    .map_err(|e| anyhow::anyhow!("--retry-schedule: {e}"))?,
                None => certsentry_notify::retry::RetryPolicy::default(),
            },
            operator: match (
                args.operator_email.clone().or(file.operator_email),
                args.operator_smtp_url.clone().or(file.operator_smtp_url),
            ) {
                (Some(address), Some(smtp_url)) => {
                    Some(certsentry_notify::email::OperatorMail { smtp_url, address })
                }
                (None, None) => None,
                _ => bail!(
                    "operator email needs both --operator-email and --operator-smtp-url \
                     (CERTSENTRY_OPERATOR_EMAIL, CERTSENTRY_OPERATOR_SMTP_URL)"
                ),
            },
            rdap_bootstrap: args.rdap_bootstrap.clone().or(file.rdap_bootstrap),
            whois_server: args.whois_server.clone().or(file.whois_server),
        })
    }
}

/// `--ct-start` and its per-log exceptions (flags and env beat the file).
fn start_rules(
    args: &CtArgs,
    file_start: Option<String>,
    file_per_log: BTreeMap<String, String>,
) -> anyhow::Result<certsentry_ct::sources::StartRules> {
    use certsentry_ct::sources::{StartAt, StartRules};
    let default = match args.ct_start.clone().or(file_start) {
        Some(s) => s
            .parse()
            .map_err(|e: String| anyhow::anyhow!("CERTSENTRY_CT_START: {e}"))?,
        None => StartAt::End,
    };
    let per_log = match &args.ct_log_start {
        Some(list) => list
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| StartRules::parse_exception(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("CERTSENTRY_CT_LOG_START: {e}"))?,
        None => file_per_log
            .into_iter()
            .map(|(log, start)| {
                start
                    .parse()
                    .map(|start| (log.clone(), start))
                    .map_err(|e: String| anyhow::anyhow!("[ct_log_start] {log:?}: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    Ok(StartRules { default, per_log })
}

/// `ip` or `ip:port` (IPv6 as `[::1]:53`); port 53 by default.
fn parse_dns_servers(list: Vec<String>) -> anyhow::Result<Vec<std::net::SocketAddr>> {
    list.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<std::net::SocketAddr>()
                .or_else(|_| {
                    s.parse::<std::net::IpAddr>()
                        .map(|ip| std::net::SocketAddr::new(ip, 53))
                })
                .with_context(|| format!("invalid DNS server {s:?}: expected ip or ip:port"))
        })
        .collect()
}

fn load_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}

/// Applies `[plans.NAME]` tables on top of the built-in plans.
fn overlay_plans(tables: BTreeMap<String, toml::Table>) -> anyhow::Result<Plans> {
    let builtin = Plans::default();
    let mut overrides = BTreeMap::new();
    for (name, table) in tables {
        let base = builtin.get(&name).cloned().unwrap_or_else(|| Plan {
            display_name: name.clone(),
            ..Plan::default()
        });
        let mut merged = toml::Table::try_from(&base).context("encoding a built-in plan")?;
        merged.extend(table);
        let plan: Plan = merged
            .try_into()
            .with_context(|| format!("invalid [plans.{name}] in the config file"))?;
        overrides.insert(name, plan);
    }
    Ok(builtin.with_overrides(overrides))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_tables_overlay_the_builtin_plan() {
        let file: FileConfig = toml::from_str(
            "regions = [\"eu\"]\n[plans.starter]\nmax_monitors = 25\nwrites_per_minute = 5\n[plans.enterprise]\nmax_monitors = 5000\n",
        )
        .unwrap();
        let plans = overlay_plans(file.plans).unwrap();
        let starter = plans.get("starter").unwrap();
        assert_eq!((starter.max_monitors, starter.writes_per_minute), (25, 5));
        assert_eq!(
            starter.display_name, "Starter",
            "untouched keys keep the built-in value"
        );
        assert_eq!(plans.get("enterprise").unwrap().max_monitors, 5000);
        assert!(plans.get("agency").unwrap().audit_logs);
    }

    #[test]
    fn dns_servers_take_ip_or_ip_port() {
        let parsed = parse_dns_servers(vec![
            "192.0.2.53".into(),
            "127.0.0.1:5353".into(),
            "[::1]:53".into(),
        ])
        .unwrap();
        assert_eq!(
            parsed.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            vec!["192.0.2.53:53", "127.0.0.1:5353", "[::1]:53"]
        );
        assert!(parse_dns_servers(vec!["dns.example".into()]).is_err());
    }

    #[test]
    fn per_log_starts_come_from_the_flag_or_the_file() {
        use certsentry_ct::sources::StartAt;
        let file: FileConfig = toml::from_str(
            "ct_start = \"beginning\"\n[ct_log_start]\n\"abc=\" = \"end\"\n\"https://ct.example/log/\" = \"42\"\n",
        )
        .unwrap();
        let rules = start_rules(&CtArgs::default(), file.ct_start, file.ct_log_start).unwrap();
        assert_eq!(rules.default, StartAt::Beginning);
        assert_eq!(
            rules.per_log,
            vec![
                ("abc=".to_string(), StartAt::End),
                ("https://ct.example/log/".to_string(), StartAt::Index(42)),
            ]
        );
        let flags = CtArgs {
            ct_log_start: Some(vec!["abc==7".into()]),
            ..CtArgs::default()
        };
        let rules = start_rules(&flags, None, BTreeMap::new()).unwrap();
        assert_eq!(rules.default, StartAt::End);
        assert_eq!(rules.per_log, vec![("abc=".to_string(), StartAt::Index(7))]);
        let bad = CtArgs {
            ct_log_start: Some(vec!["abc=soon".into()]),
            ..CtArgs::default()
        };
        assert!(start_rules(&bad, None, BTreeMap::new()).is_err());
    }

    #[test]
    fn unknown_plan_keys_are_errors() {
        let mut tables = BTreeMap::new();
        tables.insert(
            "pro".to_string(),
            toml::from_str::<toml::Table>("max_monitorz = 1").unwrap(),
        );
        assert!(overlay_plans(tables).is_err());
    }
}
