//! The DMARC side of the runtime: the intake every way in shares, and the
//! SMTP listener when `--smtp-listen` is set.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use certsentry_dmarc::smtp::{SmtpConfig, serve, tls_acceptor};
use certsentry_dmarc::{Intake, Limits};
use certsentry_store::Store;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use super::Job;
use crate::config::{ImapSettings, SmtpSettings};

/// The intake, its counters registered.
pub fn intake(store: Arc<dyn Store>, registry: &mut Registry) -> Arc<Intake> {
    let intake = Intake::new(store, Limits::default());
    intake.stats.register(registry);
    Arc::new(intake)
}

/// Binds the SMTP listener; its address and the job that serves it.
pub async fn smtp(
    settings: &SmtpSettings,
    mail_domain: &str,
    intake: Arc<Intake>,
    store: Arc<dyn Store>,
) -> anyhow::Result<(SocketAddr, Job)> {
    let tls = match &settings.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let listener = TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("binding the SMTP listener on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, mail_domain, starttls = tls.is_some(), "accepting DMARC report mail");
    let config = Arc::new(SmtpConfig {
        mail_domain: mail_domain.to_string(),
        max_message_bytes: settings.max_message_bytes,
        max_connections_per_ip: settings.max_connections_per_ip,
        tls,
    });
    Ok((addr, Box::pin(serve(listener, config, intake, store))))
}

/// Deletes reports older than each organization's plan retention, with
/// the other maintenance, every `every`.
pub async fn prune_forever(
    store: Arc<dyn Store>,
    plans: certsentry_domain::plan::Plans,
    every: std::time::Duration,
) {
    loop {
        if let Err(e) = prune_once(&*store, &plans).await {
            tracing::warn!(error = %e, "pruning old DMARC reports failed; retrying later");
        }
        tokio::time::sleep(every).await;
    }
}

async fn prune_once(
    store: &dyn Store,
    plans: &certsentry_domain::plan::Plans,
) -> certsentry_store::StoreResult<()> {
    let now = certsentry_domain::time::now_ms();
    for org in store.list_orgs().await? {
        let Some(plan) = plans.get(&org.plan) else {
            continue;
        };
        let before = now - i64::from(plan.dmarc_retention_days) * 86_400_000;
        let pruned = store.prune_dmarc_reports(&org.id, before).await?;
        if pruned > 0 {
            tracing::info!(org = %org.id, pruned, "pruned DMARC reports past retention");
        }
    }
    Ok(())
}

/// The background PTR lookups for DMARC sources, through the DNS checks'
/// nameservers (`--dns-servers`, or the system's).
pub fn ptr_job(store: Arc<dyn Store>, nameservers: &[SocketAddr]) -> Option<Job> {
    match certsentry_probes::dns::resolver(nameservers, std::time::Duration::from_secs(5)) {
        Ok(resolver) => Some(Box::pin(certsentry_dmarc::ptr::resolve_forever(
            store,
            resolver,
            std::time::Duration::from_secs(30),
        ))),
        Err(e) => {
            tracing::warn!(error = %e, "no resolver for DMARC source names; they stay empty");
            None
        }
    }
}

/// The `[[dmarc.imap]]` tables as accounts to poll (their CA files read).
pub fn imap_accounts(
    settings: &[ImapSettings],
) -> anyhow::Result<Vec<certsentry_dmarc::imap::ImapAccount>> {
    settings
        .iter()
        .map(|s| {
            let extra_roots = match &s.ca_file {
                Some(path) => certsentry_probes::load_pem_certificates(path)
                    .map_err(anyhow::Error::msg)
                    .with_context(|| format!("[[dmarc.imap]] {}: ca_file", s.host))?,
                None => Vec::new(),
            };
            Ok(certsentry_dmarc::imap::ImapAccount {
                host: s.host.clone(),
                port: s.port,
                username: s.username.clone(),
                password: s.password.0.clone(),
                folder: s.folder.clone(),
                processed_folder: s.processed_folder.clone(),
                org: certsentry_domain::OrgId::from_string(s.org.clone()),
                every: std::time::Duration::from_secs(s.interval_seconds.max(10)),
                extra_roots,
            })
        })
        .collect()
}
