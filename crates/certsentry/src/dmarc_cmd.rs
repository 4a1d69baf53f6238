//! `certsentry dmarc domain …`: the DMARC domains, on the database like the
//! other admin commands. The reporting address is printed once, on create
//! and rotate; only its hash is kept.

use anyhow::{Context, bail};
use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::dmarc::{
    DEFAULT_FAILURE_RATE_THRESHOLD_PCT, DmarcDomain, PREVIOUS_TOKEN_GRACE_MS, RuaToken,
    normalize_domain, reporting_address, validate_threshold,
};
use certsentry_domain::time::{format_ms, now_ms};
use certsentry_domain::{DmarcDomainId, OrgId};
use certsentry_store::{Store, StoreError};
use clap::Subcommand;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum DmarcCommand {
    /// DMARC domains and their reporting addresses.
    #[command(subcommand)]
    Domain(DomainCommand),
}

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Add a domain; prints its reporting address once, then its id as the last line.
    Create {
        #[arg(long, value_name = "ORG_ID")]
        org: String,
        #[arg(long)]
        domain: String,
        /// Failure rate, in percent, over which a report alerts (1-100).
        #[arg(long, default_value_t = DEFAULT_FAILURE_RATE_THRESHOLD_PCT as i64)]
        threshold: i64,
    },
    /// List an organization's DMARC domains (never their addresses).
    List {
        #[arg(long, value_name = "ORG_ID")]
        org: String,
    },
    /// Issue a new reporting address (printed as the last line); the old one works 7 more days.
    Rotate {
        #[arg(long, value_name = "ORG_ID")]
        org: String,
        id: String,
    },
    /// Delete a domain with its reports and sources.
    Delete {
        #[arg(long, value_name = "ORG_ID")]
        org: String,
        id: String,
    },
}

fn audit(org: &OrgId, action: &str, domain: &DmarcDomain) -> AuditEvent {
    AuditEvent::new(
        org,
        &Actor::cli(),
        action,
        "dmarcDomain",
        domain.id.as_str(),
        json!({ "domain": domain.domain }),
    )
}

async fn load(store: &dyn Store, org: &OrgId, id: String) -> anyhow::Result<DmarcDomain> {
    store
        .get_dmarc_domain(org, &DmarcDomainId::from_string(id.clone()))
        .await?
        .with_context(|| format!("no DMARC domain {id} in organization {org}"))
}

pub async fn run(
    store: &dyn Store,
    plans: &certsentry_domain::plan::Plans,
    mail_domain: &str,
    command: DmarcCommand,
) -> anyhow::Result<()> {
    let DmarcCommand::Domain(command) = command;
    match command {
        DomainCommand::Create {
            org,
            domain,
            threshold,
        } => {
            let org_id = OrgId::from_string(org);
            let org = store
                .get_org(&org_id)
                .await?
                .with_context(|| format!("no organization with id {org_id}"))?;
            let max = plans.get(&org.plan).map_or(0, |p| p.max_dmarc_domains);
            let name = normalize_domain(&domain).map_err(|p| anyhow::anyhow!("--domain {p}"))?;
            let threshold =
                validate_threshold(threshold).map_err(|p| anyhow::anyhow!("--threshold {p}"))?;
            let domain = DmarcDomain::new(org_id.clone(), name, threshold);
            let token = RuaToken::generate();
            let created = store
                .create_dmarc_domain(
                    &domain,
                    &token.hash,
                    max,
                    &audit(&org_id, "dmarcDomain.create", &domain),
                )
                .await;
            match created {
                Ok(()) => {}
                Err(StoreError::QuotaExceeded { limit }) => {
                    bail!("the {} plan allows {limit} DMARC domains", org.plan)
                }
                Err(StoreError::Conflict(_)) => {
                    bail!("{} is already a DMARC domain", domain.domain)
                }
                Err(e) => return Err(e.into()),
            }
            println!("Added {}.", domain.domain);
            println!(
                "Reporting address (shown only once): {}",
                reporting_address(&token.plaintext, mail_domain)
            );
            println!("{}", domain.id);
        }
        DomainCommand::List { org } => {
            println!(
                "{:<18} {:<9} {:<25} DOMAIN",
                "ID", "THRESHOLD", "LAST RATE ALERT"
            );
            for d in store.list_dmarc_domains(&OrgId::from_string(org)).await? {
                println!(
                    "{:<18} {:<9} {:<25} {}",
                    d.id,
                    format!("{} %", d.failure_rate_threshold_pct),
                    d.last_failure_rate_alert_at.map_or("-".into(), format_ms),
                    d.domain
                );
            }
        }
        DomainCommand::Rotate { org, id } => {
            let org = OrgId::from_string(org);
            let domain = load(store, &org, id).await?;
            let token = RuaToken::generate();
            store
                .rotate_dmarc_token(
                    &org,
                    &domain.id,
                    &token.hash,
                    now_ms() + PREVIOUS_TOKEN_GRACE_MS,
                    &audit(&org, "dmarcDomain.rotateToken", &domain),
                )
                .await?;
            println!(
                "The previous address keeps working for 7 days. The new one (shown only once):"
            );
            println!("{}", reporting_address(&token.plaintext, mail_domain));
        }
        DomainCommand::Delete { org, id } => {
            let org = OrgId::from_string(org);
            let domain = load(store, &org, id).await?;
            store
                .delete_dmarc_domain(
                    &org,
                    &domain.id,
                    &audit(&org, "dmarcDomain.delete", &domain),
                )
                .await?;
            println!("Deleted {} with its reports.", domain.domain);
        }
    }
    Ok(())
}
