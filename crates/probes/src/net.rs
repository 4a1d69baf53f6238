//! Name resolution and connecting, with the private-address rule applied to
//! the address actually dialled (so DNS rebinding cannot sneak past the
//! check made when the monitor was saved).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use certsentry_domain::net::TargetPolicy;
use tokio::net::TcpStream;

use crate::{Phases, ProbeConfig, millis};

/// Resolves `host:port`, keeping only the addresses the policy allows.
pub async fn resolve(
    host: &str,
    port: u16,
    config: &ProbeConfig,
    phases: &mut Phases,
) -> Result<Vec<SocketAddr>, String> {
    let started = Instant::now();
    let addresses: Vec<SocketAddr> = if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>()
    {
        vec![SocketAddr::new(ip, port)]
    } else {
        match tokio::time::timeout(config.timeout, tokio::net::lookup_host((host, port))).await {
            Err(_) => return Err("DNS: timeout".into()),
            Ok(Err(e)) => return Err(format!("DNS: {}", describe_lookup_error(&e))),
            Ok(Ok(found)) => found.collect(),
        }
    };
    phases.dns_ms = Some(millis(started.elapsed()));
    if addresses.is_empty() {
        return Err("DNS: no addresses".into());
    }
    Ok(TargetPolicy::new(config.allow_private_targets).allowed_addresses(host, addresses)?)
}

fn describe_lookup_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    if text.contains("not known")
        || text.contains("No address associated")
        || text.contains("nodename nor servname")
    {
        "NXDOMAIN".into()
    } else {
        text
    }
}

/// Connects to the first address that answers.
pub async fn connect(
    addresses: &[SocketAddr],
    config: &ProbeConfig,
    phases: &mut Phases,
) -> Result<TcpStream, String> {
    let started = Instant::now();
    let mut last_error = "connect failed".to_string();
    for address in addresses {
        match tokio::time::timeout(config.timeout, TcpStream::connect(address)).await {
            Err(_) => last_error = "connect timeout".into(),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last_error = "connection refused".into()
            }
            Ok(Err(e)) => last_error = format!("connect failed: {e}"),
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                phases.connect_ms = Some(millis(started.elapsed()));
                return Ok(stream);
            }
        }
    }
    Err(last_error)
}
