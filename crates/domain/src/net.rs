//! Which addresses a monitor (or, later, a webhook) may reach.
//!
//! A hosted-style monitor that can be pointed at `127.0.0.1` or at a cloud
//! metadata service is an SSRF hole, so anything that is not plainly a public
//! unicast address is refused unless the operator allows private targets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The one private-address policy. Save-time checks (the API), probes and
/// the webhook and SMTP senders all ask it, so they refuse the same
/// addresses with the same words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetPolicy {
    /// The operator's `allow_private_targets`.
    pub allow_private: bool,
}

/// An address the policy refused: what was asked for, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub subject: Subject,
    pub reason: &'static str,
}

/// What a refusal is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An address given literally.
    Address(IpAddr),
    /// A name refused without DNS (`localhost`, a single label).
    Name(String),
    /// A name and the address it resolved to.
    Resolved(String, IpAddr),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reason = self.reason;
        match &self.subject {
            Subject::Address(ip) => write!(f, "refused: {ip} is a {reason} address")?,
            Subject::Name(name) => write!(f, "refused: {name} is a {reason} address")?,
            Subject::Resolved(name, ip) => {
                write!(f, "refused: {name} resolves to a {reason} address ({ip})")?
            }
        }
        f.write_str(
            "; private, loopback and link-local targets are refused unless the operator \
             enables allow_private_targets \
             (--allow-private-targets or CERTSENTRY_ALLOW_PRIVATE_TARGETS=true)",
        )
    }
}

impl From<Refusal> for String {
    fn from(refusal: Refusal) -> Self {
        refusal.to_string()
    }
}

impl TargetPolicy {
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }

    /// An address given literally (a target or URL that is an IP).
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refusal> {
        self.check(|| Subject::Address(ip), ip)
    }

    /// An address `name` resolved to.
    pub fn check_resolved(&self, name: &str, ip: IpAddr) -> Result<(), Refusal> {
        self.check(|| Subject::Resolved(name.to_string(), ip), ip)
    }

    /// What can be known about a host name without DNS: `localhost` and
    /// single-label names mean this machine or its network.
    pub fn check_name(&self, name: &str) -> Result<(), Refusal> {
        let reason = if self.allow_private {
            None
        } else if is_local_hostname(name) {
            Some("loopback")
        } else if !name.contains('.') {
            Some("single-label (local network)")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Refusal {
                subject: Subject::Name(name.to_string()),
                reason,
            }),
            None => Ok(()),
        }
    }

    /// The addresses of `name` that may be dialled; refused when none may.
    pub fn allowed_addresses(
        &self,
        name: &str,
        addresses: Vec<SocketAddr>,
    ) -> Result<Vec<SocketAddr>, Refusal> {
        if self.allow_private {
            return Ok(addresses);
        }
        let Some(first) = addresses.first().copied() else {
            return Ok(addresses);
        };
        let public: Vec<SocketAddr> = addresses
            .into_iter()
            .filter(|a| is_public(a.ip()))
            .collect();
        if public.is_empty() {
            self.check_resolved(name, first.ip())?;
        }
        Ok(public)
    }

    fn check(&self, subject: impl FnOnce() -> Subject, ip: IpAddr) -> Result<(), Refusal> {
        match non_public_reason(ip) {
            Some(reason) if !self.allow_private => Err(Refusal {
                subject: subject(),
                reason,
            }),
            _ => Ok(()),
        }
    }
}

/// Why an address is not public, for error messages.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

pub fn is_public(ip: IpAddr) -> bool {
    non_public_reason(ip).is_none()
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("carrier-grade NAT")
    } else if ip.is_broadcast()
        || ip.is_multicast()
        || a >= 240
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
    {
        // Broadcast, multicast, class E, IETF protocol assignments, benchmarking.
        Some("reserved")
    } else if ip.is_documentation() {
        Some("documentation")
    } else {
        None
    }
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_reason(v4);
    }
    let seg = ip.segments();
    // NAT64 well-known prefix 64:ff9b::/96 embeds an IPv4 address.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
        let v4 = Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        );
        return v4_reason(v4);
    }
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if (seg[0] & 0xfe00) == 0xfc00 {
        Some("private (unique local)")
    } else if (seg[0] & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("reserved")
    } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
        Some("documentation")
    } else {
        None
    }
}

/// Host names that always mean this machine, without asking DNS.
pub fn is_local_hostname(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> Option<&'static str> {
        non_public_reason(s.parse().unwrap())
    }

    #[test]
    fn classifies_addresses() {
        assert_eq!(reason("127.0.0.1"), Some("loopback"));
        assert_eq!(reason("10.1.2.3"), Some("private"));
        assert_eq!(reason("172.20.0.1"), Some("private"));
        assert_eq!(reason("192.168.1.1"), Some("private"));
        assert_eq!(reason("169.254.169.254"), Some("link-local"));
        assert_eq!(reason("100.64.0.1"), Some("carrier-grade NAT"));
        assert_eq!(reason("0.0.0.0"), Some("unspecified"));
        assert_eq!(reason("::1"), Some("loopback"));
        assert_eq!(reason("fe80::1"), Some("link-local"));
        assert_eq!(reason("fd00::1"), Some("private (unique local)"));
        assert_eq!(reason("::ffff:127.0.0.1"), Some("loopback"));
        assert_eq!(reason("64:ff9b::a9fe:a9fe"), Some("link-local"));
        assert_eq!(reason("93.184.216.34"), None);
        assert_eq!(reason("2606:4700::1111"), None);
        assert_eq!(reason("8.8.8.8"), None);
    }

    #[test]
    fn the_policy_refuses_with_one_message() {
        let strict = TargetPolicy::new(false);
        let refusal = strict
            .check_resolved("db.example.test", "10.0.0.5".parse().unwrap())
            .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "refused: db.example.test resolves to a private address (10.0.0.5); private, \
             loopback and link-local targets are refused unless the operator enables \
             allow_private_targets (--allow-private-targets or CERTSENTRY_ALLOW_PRIVATE_TARGETS=true)"
        );
        assert!(
            strict
                .check_ip("169.254.169.254".parse().unwrap())
                .unwrap_err()
                .to_string()
                .starts_with("refused: 169.254.169.254 is a link-local address; ")
        );
        assert!(strict.check_ip("8.8.8.8".parse().unwrap()).is_ok());
        assert_eq!(
            strict.check_name("localhost").unwrap_err().reason,
            "loopback"
        );
        assert!(strict.check_name("intranet").is_err());
        assert!(TargetPolicy::new(true).check_name("intranet").is_ok());
        let mixed = vec![
            "127.0.0.1:443".parse().unwrap(),
            "93.184.216.34:443".parse().unwrap(),
        ];
        assert_eq!(
            strict
                .allowed_addresses("mixed.test", mixed.clone())
                .unwrap(),
            vec!["93.184.216.34:443".parse().unwrap()]
        );
        assert!(
            strict
                .allowed_addresses("local.test", vec!["127.0.0.1:443".parse().unwrap()])
                .is_err()
        );
        assert_eq!(
            TargetPolicy::new(true)
                .allowed_addresses("mixed.test", mixed.clone())
                .unwrap(),
            mixed
        );
    }

    #[test]
    fn localhost_names() {
        assert!(is_local_hostname("localhost"));
        assert!(is_local_hostname("LOCALHOST."));
        assert!(is_local_hostname("app.localhost"));
        assert!(!is_local_hostname("localhost.example.com"));
    }
}
