//! Observations become stored check results.

use certsentry_domain::check::{CheckResult, CheckStatus, CheckType};
use certsentry_domain::monitor::Monitor;
use certsentry_domain::time::now_ms;
use certsentry_probes::http::HttpObservation;
use certsentry_probes::tcp::TcpObservation;
use certsentry_probes::tls::TlsObservation;
use certsentry_store::{MonitorCertificate, ServedCertificate};
use serde_json::json;

fn status(ok: bool) -> CheckStatus {
    if ok {
        CheckStatus::Ok
    } else {
        CheckStatus::Fail
    }
}

pub fn uptime(monitor: &Monitor, region: &str, seen: &HttpObservation) -> CheckResult {
    CheckResult {
        status: status(seen.ok),
        degraded: seen.degraded,
        latency_ms: Some(seen.latency_ms),
        http_status: seen.http_status,
        error: seen.error.clone(),
        details: json!({ "phases": seen.phases, "finalUrl": seen.final_url, "redirects": seen.redirects }),
        ..CheckResult::blank(monitor, CheckType::Uptime, Some(region))
    }
}

pub fn tcp(monitor: &Monitor, region: &str, port: u16, seen: &TcpObservation) -> CheckResult {
    CheckResult {
        status: status(seen.ok),
        latency_ms: Some(seen.latency_ms),
        error: seen.error.clone(),
        details: json!({ "phases": seen.phases, "port": port }),
        ..CheckResult::blank(monitor, CheckType::Tcp, Some(region))
    }
}

pub fn ssl(monitor: &Monitor, region: &str, seen: &TlsObservation) -> CheckResult {
    let leaf = seen.leaf();
    CheckResult {
        status: status(seen.valid),
        latency_ms: Some(seen.latency_ms),
        error: seen.error.clone(),
        details: json!({
            "issuer": leaf.map(|l| l.issuer.clone()),
            "notBefore": leaf.map(|l| certsentry_domain::time::format_ms(l.not_before)),
            "notAfter": leaf.map(|l| certsentry_domain::time::format_ms(l.not_after)),
            "sha256": leaf.map(|l| l.sha256.clone()),
            "spkiSha256": leaf.map(|l| l.spki_sha256.clone()),
            "sans": leaf.map(|l| l.sans.clone()),
            "chain": seen.chain,
            "protocol": seen.protocol,
            "cipher": seen.cipher,
            "phases": seen.phases,
        }),
        ..CheckResult::blank(monitor, CheckType::Ssl, Some(region))
    }
}

/// The monitor's certificate verdict, and its leaf for the organization's inventory.
pub fn certificate_records(
    monitor: &Monitor,
    seen: &TlsObservation,
) -> (MonitorCertificate, Option<ServedCertificate>) {
    let now = now_ms();
    let leaf = seen.leaf();
    let record = MonitorCertificate {
        monitor_id: monitor.id.clone(),
        org_id: monitor.org_id.clone(),
        valid: seen.valid,
        error: seen.error.clone(),
        issuer: leaf.map(|l| l.issuer.clone()),
        not_after: leaf.map(|l| l.not_after),
        sha256: leaf.map(|l| l.sha256.clone()),
        checked_at: now,
    };
    let served = leaf.map(|l| ServedCertificate {
        sha256: l.sha256.clone(),
        tbs_sha256: l.tbs_sha256.clone(),
        spki_sha256: l.spki_sha256.clone(),
        not_after: l.not_after,
        first_seen_at: now,
        last_seen_at: now,
    });
    (record, served)
}

/// A DNS check: fails on SERVFAIL/timeout/errors or a name that does not
/// exist; carries the record sets and, when confirmed, the change.
pub fn dns(
    monitor: &Monitor,
    region: &str,
    seen: &Result<certsentry_domain::dns::DnsSnapshot, String>,
    change: Option<&certsentry_domain::dns::DnsChange>,
    latency_ms: u32,
) -> CheckResult {
    let (status_ok, error, records) = match seen {
        Ok(snapshot) => {
            let error = certsentry_probes::dns::failure(snapshot);
            (error.is_none(), error, json!(snapshot))
        }
        Err(e) => (false, Some(format!("DNS: {e}")), json!(null)),
    };
    CheckResult {
        status: status(status_ok),
        latency_ms: Some(latency_ms),
        error,
        details: json!({ "records": records, "change": change }),
        ..CheckResult::blank(monitor, CheckType::Dns, Some(region))
    }
}

/// A registration lookup: ok while the domain is registered, fail once it
/// has expired, unknown when no source gave a date.
pub fn domain(
    monitor: &Monitor,
    region: &str,
    seen: &certsentry_probes::registration::RegistrationObservation,
) -> CheckResult {
    let now = now_ms();
    let (status, error) = match seen.expires_at {
        Some(at) if at <= now => (
            CheckStatus::Fail,
            Some(format!(
                "domain expired on {}",
                certsentry_domain::time::format_ms(at)
            )),
        ),
        Some(_) => (CheckStatus::Ok, None),
        None => (CheckStatus::Unknown, seen.error.clone()),
    };
    CheckResult {
        status,
        latency_ms: Some(seen.latency_ms),
        error,
        details: json!({
            "domain": seen.domain,
            "expiresAt": seen.expires_at.map(certsentry_domain::time::format_ms),
            "daysRemaining": seen.expires_at.map(|at| (at - now).div_euclid(86_400_000)),
            "source": seen.source,
            "server": seen.server,
        }),
        ..CheckResult::blank(monitor, CheckType::Domain, Some(region))
    }
}
