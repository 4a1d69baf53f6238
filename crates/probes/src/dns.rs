//! DNS checks: A, AAAA, CNAME, MX, NS, TXT and CAA, asked fresh every time
//! (the resolver's cache is disabled), normalized for comparison.

use std::net::SocketAddr;
use std::time::Duration;

use certsentry_domain::dns::{DnsSnapshot, RECORD_TYPES, RrState, normalize};
pub use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
pub use hickory_resolver::proto::rr::RecordType;

/// Builds a resolver for `nameservers` (UDP then TCP), or from the system's
/// configuration when the list is empty.
pub fn resolver(nameservers: &[SocketAddr], timeout: Duration) -> Result<TokioResolver, String> {
    let provider = TokioRuntimeProvider::new();
    let mut builder = if nameservers.is_empty() {
        TokioResolver::builder(provider)
            .map_err(|e| format!("reading the system DNS configuration: {e}"))?
    } else {
        let servers = nameservers
            .iter()
            .map(|addr| {
                let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
                    .into_iter()
                    .map(|mut c| {
                        c.port = addr.port();
                        c
                    })
                    .collect();
                NameServerConfig::new(addr.ip(), true, connections)
            })
            .collect();
        TokioResolver::builder_with_config(ResolverConfig::from_name_servers(servers), provider)
    };
    let options: &mut ResolverOpts = builder.options_mut();
    options.cache_size = 0;
    options.timeout = timeout;
    options.attempts = 1;
    builder
        .build()
        .map_err(|e| format!("building the DNS resolver: {e}"))
}

fn record_type(name: &str) -> RecordType {
    match name {
        "A" => RecordType::A,
        "AAAA" => RecordType::AAAA,
        "CNAME" => RecordType::CNAME,
        "MX" => RecordType::MX,
        "NS" => RecordType::NS,
        "TXT" => RecordType::TXT,
        _ => RecordType::CAA,
    }
}

fn classify(error: &NetError) -> RrState {
    if error.is_nx_domain() {
        RrState::Nxdomain
    } else if error.is_no_records_found() {
        RrState::Nodata
    } else if matches!(error, NetError::Timeout) {
        RrState::Timeout
    } else if matches!(
        error,
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail))
    ) {
        RrState::Servfail
    } else {
        RrState::Error(error.to_string())
    }
}

async fn query(resolver: &TokioResolver, name: &str, type_name: &str) -> RrState {
    let wanted = record_type(type_name);
    match resolver
        .lookup(format!("{}.", name.trim_end_matches('.')), wanted)
        .await
    {
        Ok(lookup) => {
            let values = lookup
                .answers()
                .iter()
                .filter(|r| r.record_type() == wanted)
                .map(|r| r.data.to_string());
            let values = normalize(values);
            if values.is_empty() {
                RrState::Nodata
            } else {
                RrState::Records(values)
            }
        }
        Err(e) => classify(&e),
    }
}

/// Queries every record type of `name` concurrently.
pub async fn snapshot(resolver: &TokioResolver, name: &str) -> DnsSnapshot {
    let [a, aaaa, cname, mx, ns, txt, caa] = RECORD_TYPES;
    let answers = tokio::join!(
        query(resolver, name, a),
        query(resolver, name, aaaa),
        query(resolver, name, cname),
        query(resolver, name, mx),
        query(resolver, name, ns),
        query(resolver, name, txt),
        query(resolver, name, caa),
    );
    let states = [
        answers.0, answers.1, answers.2, answers.3, answers.4, answers.5, answers.6,
    ];
    RECORD_TYPES
        .iter()
        .map(|t| t.to_string())
        .zip(states)
        .collect()
}

/// The check's error, if any record type failed (SERVFAIL, timeout, other).
pub fn failure(snapshot: &DnsSnapshot) -> Option<String> {
    let failed: Vec<String> = snapshot
        .iter()
        .filter_map(|(t, s)| match s {
            RrState::Servfail => Some(format!("{t} SERVFAIL")),
            RrState::Timeout => Some(format!("{t} timeout")),
            RrState::Error(e) => Some(format!("{t} {e}")),
            _ => None,
        })
        .collect();
    if snapshot.values().all(|s| *s == RrState::Nxdomain) {
        return Some("DNS: NXDOMAIN".into());
    }
    (!failed.is_empty()).then(|| format!("DNS: {}", failed.join(", ")))
}
