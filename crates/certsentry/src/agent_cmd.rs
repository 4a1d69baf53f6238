//! `certsentry agent` (the probe agent: no database, outbound requests
//! only) and `certsentry agent-token` (its region-scoped tokens, made on
//! the server's database).

use std::time::Duration;

use anyhow::{Context, bail};
use certsentry_agent::spool::SpoolLimits;
use certsentry_agent::{AgentConfig, run};
use certsentry_domain::AgentTokenId;
use certsentry_domain::agent::new_agent_token;
use certsentry_domain::time::{format_ms, now_ms};
use certsentry_store::{Store, StoreError};
use clap::{Args, Subcommand};

use crate::config::Settings;

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The server's base URL, such as https://certsentry.example.com
    /// (plain http only to a loopback server or with --allow-private-targets).
    #[arg(long, env = "CERTSENTRY_AGENT_SERVER", value_name = "URL")]
    server: String,
    /// The region this agent checks from (one of the server's --regions).
    #[arg(long, env = "CERTSENTRY_AGENT_REGION")]
    region: String,
    /// The agent token (`certsentry agent-token create`), scoped to --region.
    #[arg(long, env = "CERTSENTRY_AGENT_TOKEN", hide_env_values = true)]
    token: String,
    /// How many of the region's jobs this agent takes at most.
    #[arg(long, env = "CERTSENTRY_AGENT_CAPACITY", default_value_t = 10_000)]
    capacity: u32,
    /// Checks in flight at once.
    #[arg(long, env = "CERTSENTRY_AGENT_CONCURRENCY", default_value_t = 256)]
    concurrency: usize,
    /// The offline buffer's limit in megabytes (the oldest results go first).
    #[arg(long, env = "CERTSENTRY_AGENT_BUFFER_MB", default_value_t = 100)]
    buffer_mb: u64,
    /// The offline buffer's limit in hours.
    #[arg(long, env = "CERTSENTRY_AGENT_BUFFER_HOURS", default_value_t = 24)]
    buffer_hours: u64,
    /// Runs every check at this interval instead of its monitor's
    /// (compressed time for tests and demos).
    #[arg(long, hide = true, value_name = "MS")]
    check_interval_ms: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum AgentTokenCommand {
    /// Create a token for one region's agents; prints its id, then the
    /// token itself as the last line (shown only once).
    Create {
        #[arg(long)]
        region: String,
        /// A name to tell agents apart [default: the region and a number].
        #[arg(long)]
        name: Option<String>,
    },
    /// List the agent tokens and when each was last used.
    List,
    /// Revoke a token: its agent is refused at once and its jobs go to the
    /// region's other agents (or back to the server when none is left).
    Revoke { id: String },
}

/// Runs the agent until SIGINT or SIGTERM.
pub async fn agent(
    settings: &Settings,
    args: AgentArgs,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    if !settings.regions.iter().any(|r| r == &args.region) {
        tracing::warn!(region = %args.region, known = ?settings.regions, "the region is not in --regions here; the server decides");
    }
    let server = url::Url::parse(&args.server)
        .with_context(|| format!("--server {:?} is not a URL", args.server))?;
    let config = AgentConfig {
        server,
        token: args.token,
        probe: certsentry::runtime::probe_config(settings)?,
        spool_dir: settings
            .data_dir
            .join(format!("agent-buffer-{}", args.region)),
        region: args.region,
        spool_limits: SpoolLimits {
            max_bytes: args.buffer_mb * 1024 * 1024,
            max_age: Duration::from_secs(args.buffer_hours * 3600),
        },
        capacity: args.capacity,
        max_concurrent: args.concurrency.max(1),
        interval_override: args.check_interval_ms.map(Duration::from_millis),
    };
    run(config, shutdown).await?;
    Ok(())
}

pub async fn token(
    store: &dyn Store,
    settings: &Settings,
    command: AgentTokenCommand,
) -> anyhow::Result<()> {
    match command {
        AgentTokenCommand::Create { region, name } => {
            if !settings.regions.iter().any(|r| r == &region) {
                bail!(
                    "unknown region \"{region}\"; one of: {}",
                    settings.regions.join(", ")
                );
            }
            let name = match name {
                Some(name) => name,
                None => {
                    let same = store
                        .list_agent_tokens()
                        .await?
                        .iter()
                        .filter(|t| t.region == region)
                        .count();
                    format!("{region}-{}", same + 1)
                }
            };
            let (token, plaintext) = new_agent_token(&region, &name);
            store.create_agent_token(&token).await?;
            println!(
                "Created agent token {} (\"{}\") for the region {region}. It is shown only once:",
                token.id, token.name
            );
            println!("{plaintext}");
        }
        AgentTokenCommand::List => {
            println!(
                "{:<18} {:<12} {:<10} {:<25} {:<25} NAME",
                "ID", "REGION", "PREFIX", "LAST SEEN", "REVOKED"
            );
            for token in store.list_agent_tokens().await? {
                println!(
                    "{:<18} {:<12} {:<10} {:<25} {:<25} {}",
                    token.id,
                    token.region,
                    token.hint,
                    token.last_seen_at.map_or_else(|| "-".into(), format_ms),
                    token.revoked_at.map_or_else(|| "-".into(), format_ms),
                    token.name
                );
            }
        }
        AgentTokenCommand::Revoke { id } => {
            match store
                .revoke_agent_token(&AgentTokenId::from_string(id.clone()), now_ms())
                .await
            {
                Ok(token) => println!("Revoked agent token {} (\"{}\").", token.id, token.name),
                Err(StoreError::NotFound) => bail!("no agent token {id}"),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
