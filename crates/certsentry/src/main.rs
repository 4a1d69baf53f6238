//! The `certsentry` binary: the server and the operator's CLI.

mod admin;
mod agent_cmd;
mod alerts_cmd;
mod certwatch_cmd;
mod ct_cmd;
mod dmarc_cmd;
mod sync_cmd;
mod user_cmd;

use certsentry::{config, db, logging};

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use certsentry::runtime::{Runtime, RuntimeConfig};
use certsentry_domain::time::format_ms;
use certsentry_domain::{ApiKeyId, OrgId};
use clap::{Parser, Subcommand};

use crate::config::{GlobalArgs, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "certsentry",
    version,
    about = "Self-hosted monitoring for uptime, certificates, domains and DNS."
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (applies migrations first).
    Serve {
        /// Address to listen on [default: 127.0.0.1:8765].
        #[arg(long, env = "CERTSENTRY_LISTEN", value_name = "ADDR")]
        listen: Option<String>,
        /// Runs every scheduled check at this interval instead of its
        /// monitor's (compressed time for tests and demos).
        #[arg(long, hide = true, value_name = "MS")]
        check_interval_ms: Option<u64>,
    },
    /// Apply database migrations and list them.
    Migrate,
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage environments.
    #[command(subcommand)]
    Env(EnvCommand),
    /// Manage notification channels.
    #[command(subcommand)]
    Channel(alerts_cmd::ChannelCommand),
    /// Run as the certwatch service (a drop-in: its env vars, tables, payload and metrics).
    Certwatch(certwatch_cmd::CertwatchArgs),
    /// Certificate Transparency log positions.
    #[command(subcommand)]
    Ct(ct_cmd::CtCommand),
    /// DMARC domains and their reporting addresses.
    #[command(subcommand)]
    Dmarc(dmarc_cmd::DmarcCommand),
    /// Dashboard users (people who sign in).
    #[command(subcommand)]
    User(user_cmd::UserCommand),
    /// Run as a probe agent: check one region's monitors from where this
    /// runs and report to the server (no database, outbound requests only).
    Agent(agent_cmd::AgentArgs),
    /// Manage probe agents' tokens.
    #[command(subcommand)]
    AgentToken(agent_cmd::AgentTokenCommand),
    /// Tools for webhook receivers.
    #[command(subcommand)]
    Webhook(alerts_cmd::WebhookCommand),
    /// Sync monitors from a monitors.yaml file through the API (key from CERTSENTRY_API_KEY).
    Sync {
        file: PathBuf,
        /// Delete managed monitors missing from the file.
        #[arg(long)]
        prune: bool,
        /// Show the plan without applying it.
        #[arg(long)]
        dry_run: bool,
        /// Base URL of the API.
        #[arg(
            long,
            env = "CERTSENTRY_API_URL",
            default_value = "http://127.0.0.1:8765/api/v1"
        )]
        api_url: String,
    },
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organization; prints its id as the last line.
    Create {
        #[arg(long)]
        name: String,
        /// free, starter, pro, agency, or a plan from the config file.
        #[arg(long, default_value = "agency")]
        plan: String,
    },
    /// List organizations.
    List,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create an API key; prints it once, as the last line.
    Create {
        #[arg(long, value_name = "ORG_ID")]
        org: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// The key may only read.
        #[arg(long)]
        read_only: bool,
    },
    /// List API keys (never their secrets).
    List {
        #[arg(long, value_name = "ORG_ID")]
        org: Option<String>,
    },
    /// Revoke a key; takes effect within a second on running servers.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
enum EnvCommand {
    /// Create an environment; prints its id as the last line.
    Create {
        #[arg(long, value_name = "ORG_ID")]
        org: String,
        #[arg(long)]
        name: String,
    },
    /// List an organization's environments.
    List {
        #[arg(long, value_name = "ORG_ID")]
        org: String,
    },
}

/// Logs to stderr; `CERTSENTRY_LOG` wins over `default`.
#[tokio::main]
async fn main() -> ExitCode {
    certsentry::memory::tune_allocator();
    let cli = Cli::parse();
    match &cli.command {
        // certwatch's LOG_LEVEL, in stdlib logging's names.
        Command::Certwatch(args) => logging::init(
            &certwatch_cmd::log_filter(&args.log_level),
            cli.global.log_format,
        ),
        _ => logging::init("info", cli.global.log_format),
    }
    match run(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let listen_flag = match &cli.command {
        Command::Serve { listen, .. } => listen.clone(),
        _ => None,
    };
    if let Command::Sync {
        file,
        prune,
        dry_run,
        api_url,
    } = &cli.command
    {
        let api_key =
            std::env::var("CERTSENTRY_API_KEY").context("set CERTSENTRY_API_KEY to an API key")?;
        let options = sync_cmd::SyncOptions {
            file,
            prune: *prune,
            dry_run: *dry_run,
            api_url,
            api_key: &api_key,
        };
        let accepted = sync_cmd::run(options).await?;
        return Ok(if accepted {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    if let Command::Certwatch(args) = cli.command {
        certwatch_cmd::run(args, shutdown_signal()).await?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Webhook(command) = cli.command {
        return Ok(if alerts_cmd::webhook(command)? {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let settings = Settings::resolve(&cli.global, listen_flag)?;
    if let Command::Agent(args) = cli.command {
        agent_cmd::agent(&settings, args, shutdown_signal()).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let opened = db::open(&settings).await?;
    let store = opened.store.clone();
    match cli.command {
        Command::Serve {
            check_interval_ms, ..
        } => serve(settings, opened, check_interval_ms).await?,
        Command::Migrate => {
            println!(
                "{}: migrations applied: {:?}",
                opened.description, opened.migrations
            );
        }
        Command::Org(OrgCommand::Create { name, plan }) => {
            let org = admin::create_org(&*store, &settings.plans, &name, &plan).await?;
            println!(
                "Created organization \"{}\" on the {} plan.",
                org.name, org.plan
            );
            println!("{}", org.id);
        }
        Command::Org(OrgCommand::List) => {
            println!("{:<18} {:<10} {:<25} NAME", "ID", "PLAN", "CREATED");
            for org in store.list_orgs().await? {
                println!(
                    "{:<18} {:<10} {:<25} {}",
                    org.id,
                    org.plan,
                    format_ms(org.created_at),
                    org.name
                );
            }
        }
        Command::Key(KeyCommand::Create {
            org,
            name,
            read_only,
        }) => {
            let (key, plaintext) =
                admin::create_key(&*store, &OrgId::from_string(org), &name, read_only).await?;
            let access = if key.read_only {
                "read-only"
            } else {
                "read+write"
            };
            println!(
                "Created {access} API key {} (\"{}\"). It is shown only once:",
                key.id, key.name
            );
            println!("{plaintext}");
        }
        Command::Key(KeyCommand::List { org }) => {
            let org = org.map(OrgId::from_string);
            println!(
                "{:<18} {:<18} {:<10} {:<10} {:<25} {:<25} NAME",
                "ID", "ORG", "PREFIX", "ACCESS", "LAST USED", "REVOKED"
            );
            for key in store.list_api_keys(org.as_ref()).await? {
                println!(
                    "{:<18} {:<18} {:<10} {:<10} {:<25} {:<25} {}",
                    key.id,
                    key.org_id,
                    key.hint,
                    if key.read_only { "read" } else { "read+write" },
                    key.last_used_at
                        .map(format_ms)
                        .unwrap_or_else(|| "-".into()),
                    key.revoked_at.map(format_ms).unwrap_or_else(|| "-".into()),
                    key.name
                );
            }
        }
        Command::Key(KeyCommand::Revoke { id }) => {
            let key = admin::revoke_key(&*store, &ApiKeyId::from_string(id)).await?;
            println!("Revoked API key {} (\"{}\").", key.id, key.name);
        }
        Command::Env(EnvCommand::Create { org, name }) => {
            let env = admin::create_environment(&*store, &OrgId::from_string(org), &name).await?;
            println!("Created environment \"{}\".", env.name);
            println!("{}", env.id);
        }
        Command::Env(EnvCommand::List { org }) => {
            for env in store.list_environments(&OrgId::from_string(org)).await? {
                println!("{:<18} {}", env.id, env.name);
            }
        }
        Command::Channel(command) => alerts_cmd::channel(&*store, command).await?,
        Command::Ct(command) => ct_cmd::run(&*store, command).await?,
        Command::Dmarc(command) => {
            dmarc_cmd::run(
                &*store,
                &settings.plans,
                &settings.dmarc.mail_domain,
                command,
            )
            .await?
        }
        Command::User(command) => user_cmd::run(&*store, &settings.public_url, command).await?,
        Command::AgentToken(command) => agent_cmd::token(&*store, &settings, command).await?,
        Command::Sync { .. } | Command::Webhook(_) | Command::Certwatch(_) | Command::Agent(_) => {
            unreachable!("handled before opening the database")
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    settings: Settings,
    opened: db::Opened,
    check_interval_ms: Option<u64>,
) -> anyhow::Result<()> {
    let store = opened.store;
    if let Some((org, key)) = admin::bootstrap_if_empty(&*store, &settings.plans).await? {
        say(&format!(
            "First start: created organization \"{}\" ({}) on the {} plan and a read+write API key.",
            org.name, org.id, org.plan
        ));
        say("The key is shown only once; store it now:");
        say(&key);
    }
    if let Some(link) =
        certsentry_web::dashboard::setup_link_if_needed(&*store, &settings.public_url).await?
    {
        say(
            "Open this one-time link to create the dashboard's owner account (valid 24 hours; a new one is printed at each start until it is used):",
        );
        say(&link);
    }
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    tracing::info!(
        address = %listener.local_addr()?,
        database = %opened.description,
        allow_private_targets = settings.allow_private_targets,
        "CertSentry {} serving",
        env!("CARGO_PKG_VERSION")
    );
    let mut config = RuntimeConfig::from_settings(&settings)?;
    config.check_interval = check_interval_ms.map(std::time::Duration::from_millis);
    Runtime::build(store, config)
        .await?
        .serve(listener, shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Prints a first-start line for the operator. A closed standard output
/// (a supervisor that keeps none) must not stop the server, so a failed
/// write is ignored, where `println!` would panic.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
