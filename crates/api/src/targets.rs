//! The I/O half of the private-target rule: a monitor's hostname is resolved
//! and refused if any address is private, loopback or link-local. A name
//! that does not resolve now is accepted; probes check again at connect time.

use std::time::Duration;

use certsentry_domain::monitor::{MonitorSpec, TargetHost};
use certsentry_domain::net::TargetPolicy;

const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// `Err(message)` when a webhook URL's host is, or resolves to, a private
/// address. The sender checks again at connect time and pins the address.
pub async fn check_webhook_url(url: &str, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return Ok(()); // the pure rules report malformed URLs
    };
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) => Ok(TargetPolicy::new(false).check_ip(ip.into())?),
        Some(url::Host::Ipv6(ip)) => Ok(TargetPolicy::new(false).check_ip(ip.into())?),
        Some(url::Host::Domain(name)) => check_name(name).await,
        None => Ok(()),
    }
}

/// `Err(message)` when the spec's target resolves somewhere private.
pub async fn check_resolved_target(spec: &MonitorSpec, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let Some(TargetHost::Name(name)) = spec.target_host() else {
        // IP literals were already checked by the pure rules.
        return Ok(());
    };
    check_name(&name).await
}

/// Resolves `name`; a private answer is refused, no answer is accepted.
async fn check_name(name: &str) -> Result<(), String> {
    let lookup = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((name, 443))).await;
    let Ok(Ok(addresses)) = lookup else {
        return Ok(());
    };
    let policy = TargetPolicy::new(false);
    for address in addresses {
        policy.check_resolved(name, address.ip())?;
    }
    Ok(())
}
