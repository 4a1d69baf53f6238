//! `certsentry channel …` (notification channels, on the database like the
//! other admin commands) and `certsentry webhook verify` (for receivers).

use std::path::PathBuf;

use anyhow::{Context, bail};
use certsentry_api::inputs::ChannelInput;
use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::channel::{Channel, SigningScheme, validate_channel};
use certsentry_domain::time::now_ms;
use certsentry_domain::{ChannelId, OrgId};
use certsentry_store::Store;
use clap::Subcommand;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Create a channel from a JSON body (the API's fields); prints the
    /// secret once, then the id as the last line.
    Create {
        #[arg(long, value_name = "ORG_ID")]
        org: String,
        /// The body, e.g. '{"name":"Ops","type":"webhook","url":"https://…"}', or @FILE.
        #[arg(long, value_name = "JSON")]
        json: String,
    },
    /// List channels (never their secrets).
    List {
        #[arg(long, value_name = "ORG_ID")]
        org: String,
    },
    /// Delete a channel.
    Delete {
        #[arg(long, value_name = "ORG_ID")]
        org: String,
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Check a received webhook's signature; exits 0 if valid, 1 if not.
    Verify {
        /// certsentry, standard-webhooks or hmac-sha256.
        #[arg(long)]
        scheme: String,
        #[arg(long, env = "CERTSENTRY_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
        /// The request headers, one `Name: value` per line.
        #[arg(long, value_name = "FILE")]
        headers: PathBuf,
        /// The raw request body.
        #[arg(long, value_name = "FILE")]
        body: PathBuf,
        /// The header of the hmac-sha256 scheme [default: X-Signature].
        #[arg(long)]
        signature_header: Option<String>,
    },
}

fn read_body(json: &str) -> anyhow::Result<String> {
    match json.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {path}")),
        None => Ok(json.to_string()),
    }
}

pub async fn channel(store: &dyn Store, command: ChannelCommand) -> anyhow::Result<()> {
    match command {
        ChannelCommand::Create { org, json } => {
            let org = OrgId::from_string(org);
            store
                .get_org(&org)
                .await?
                .with_context(|| format!("no organization with id {org}"))?;
            let input: ChannelInput = serde_json::from_str(&read_body(&json)?)
                .context("the channel body is not valid")?;
            let spec = match validate_channel(input.into(), None) {
                Ok(spec) => spec,
                Err(errors) => {
                    for (field, problem) in errors.iter() {
                        eprintln!("{field}: {problem}");
                    }
                    bail!("the channel was not created");
                }
            };
            let channel = Channel::new(org.clone(), spec);
            let audit = AuditEvent::new(
                &org,
                &Actor::cli(),
                "notificationChannel.create",
                "notificationChannel",
                channel.id.as_str(),
                json!({ "name": channel.spec.name }),
            );
            store.create_channel(&channel, &audit).await?;
            println!("Created channel \"{}\".", channel.spec.name);
            if let Some(secret) = &channel.secret {
                println!("Signing secret (shown only once): {secret}");
            }
            println!("{}", channel.id);
        }
        ChannelCommand::List { org } => {
            println!(
                "{:<18} {:<8} {:<18} {:<18} {:<8} NAME",
                "ID", "TYPE", "FORMAT", "SIGNING", "ENABLED"
            );
            for c in store.list_channels(&OrgId::from_string(org)).await? {
                println!(
                    "{:<18} {:<8} {:<18} {:<18} {:<8} {}",
                    c.id,
                    c.spec.channel_type.as_str(),
                    c.spec.format.as_str(),
                    c.spec.signing.as_str(),
                    c.spec.enabled,
                    c.spec.name
                );
            }
        }
        ChannelCommand::Delete { org, id } => {
            let org = OrgId::from_string(org);
            let audit = AuditEvent::new(
                &org,
                &Actor::cli(),
                "notificationChannel.delete",
                "notificationChannel",
                &id,
                json!({}),
            );
            store
                .delete_channel(&org, &ChannelId::from_string(&id), &audit)
                .await
                .with_context(|| format!("deleting channel {id}"))?;
            println!("Deleted channel {id}.");
        }
    }
    Ok(())
}

/// Returns whether the signature is valid.
pub fn webhook(command: WebhookCommand) -> anyhow::Result<bool> {
    let WebhookCommand::Verify {
        scheme,
        secret,
        headers,
        body,
        signature_header,
    } = command;
    let scheme = SigningScheme::parse(&scheme)
        .filter(|s| *s != SigningScheme::None)
        .with_context(|| {
            format!("unknown scheme {scheme:?}: use certsentry, standard-webhooks or hmac-sha256")
        })?;
    let header_text = std::fs::read_to_string(&headers)
        .with_context(|| format!("reading {}", headers.display()))?;
    let headers: Vec<(String, String)> = header_text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let body = std::fs::read(&body).with_context(|| format!("reading {}", body.display()))?;
    match certsentry_notify::verify(
        scheme,
        &secret,
        &headers,
        &body,
        now_ms() / 1000,
        signature_header.as_deref(),
    ) {
        Ok(()) => {
            println!("valid {} signature", scheme.as_str());
            Ok(true)
        }
        Err(e) => {
            println!("invalid: {e}");
            Ok(false)
        }
    }
}
