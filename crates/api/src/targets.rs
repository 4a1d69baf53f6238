//! The I/O half of the private-target rule: a monitor's hostname is resolved
//! and refused if any address is private, loopback or link-local. A name
//! that does not resolve now is accepted; probes check again at connect time.
//! Names are resolved where the DNS check resolves them: through the
//! configured nameservers (`--dns-servers`) when there are any, otherwise
//! through the system's resolver.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use certsentry_domain::monitor::{MonitorSpec, TargetHost};
use certsentry_domain::net::TargetPolicy;

const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// `Err(message)` when a webhook URL's host is, or resolves to, a private
/// address. The sender checks again at connect time and pins the address.
pub async fn check_webhook_url(
    url: &str,
    allow_private: bool,
    nameservers: &[SocketAddr],
) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return Ok(()); // the pure rules report malformed URLs
    };
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) => Ok(TargetPolicy::new(false).check_ip(ip.into())?),
        Some(url::Host::Ipv6(ip)) => Ok(TargetPolicy::new(false).check_ip(ip.into())?),
        Some(url::Host::Domain(name)) => check_name(name, nameservers).await,
        None => Ok(()),
    }
}

/// `Err(message)` when the spec's target resolves somewhere private.
pub async fn check_resolved_target(
    spec: &MonitorSpec,
    allow_private: bool,
    nameservers: &[SocketAddr],
) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let Some(TargetHost::Name(name)) = spec.target_host() else {
        // IP literals were already checked by the pure rules.
        return Ok(());
    };
    check_name(&name, nameservers).await
}

/// Resolves `name`; a private answer is refused, no answer is accepted.
async fn check_name(name: &str, nameservers: &[SocketAddr]) -> Result<(), String> {
    let policy = TargetPolicy::new(false);
    for ip in resolve(name, nameservers).await {
        policy.check_resolved(name, ip)?;
    }
    Ok(())
}

/// The name's addresses, or none when it does not resolve in time.
async fn resolve(name: &str, nameservers: &[SocketAddr]) -> Vec<IpAddr> {
    if nameservers.is_empty() {
        let lookup =
            tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((name, 443))).await;
        return match lookup {
            Ok(Ok(addresses)) => addresses.map(|a| a.ip()).collect(),
            _ => Vec::new(),
        };
    }
    let Ok(resolver) = certsentry_probes::dns::resolver(nameservers, LOOKUP_TIMEOUT) else {
        return Vec::new();
    };
    let fqdn = format!("{}.", name.trim_end_matches('.'));
    match tokio::time::timeout(LOOKUP_TIMEOUT, resolver.lookup_ip(fqdn)).await {
        Ok(Ok(lookup)) => lookup.iter().collect(),
        _ => Vec::new(),
    }
}
