//! DMARC: the domains an organization collects aggregate reports for, the
//! secret reporting address of each, what a report counts, and the two
//! alert rules (a new failing source, a failure rate over the threshold).
//! Reading the reports themselves is the `certsentry-dmarc` crate's job;
//! this module holds what every other part agrees on.

use std::collections::BTreeMap;
use std::net::IpAddr;

use rand::RngExt;
use serde_json::json;

use crate::alert::{Draft, Event, EventMonitor, EventSubject, EventType, Severity};
use crate::time::Millis;
use crate::{DmarcDomainId, DmarcImportId, DmarcReportId, EventId, OrgId};

/// The failure-rate alert fires at most this often per domain.
pub const FAILURE_RATE_ALERT_EVERY_MS: Millis = 24 * 3600 * 1000;
/// After a rotation, the previous reporting address keeps working this long,
/// so mail already in flight is not lost.
pub const PREVIOUS_TOKEN_GRACE_MS: Millis = 7 * 24 * 3600 * 1000;
pub const DEFAULT_FAILURE_RATE_THRESHOLD_PCT: u32 = 5;

/// A domain whose reports are collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcDomain {
    pub id: DmarcDomainId,
    pub org_id: OrgId,
    /// Lowercase, IDNA (`xn--`), no trailing dot.
    pub domain: String,
    pub failure_rate_threshold_pct: u32,
    pub last_failure_rate_alert_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl DmarcDomain {
    /// A new domain of `org_id`, from an already normalized `domain` and
    /// validated threshold: a fresh id, no failure-rate alert yet.
    pub fn new(org_id: OrgId, domain: String, failure_rate_threshold_pct: u32) -> Self {
        let now = crate::time::now_ms();
        Self {
            id: DmarcDomainId::generate(),
            org_id,
            domain,
            failure_rate_threshold_pct,
            last_failure_rate_alert_at: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// The secret in a reporting address, `dmarc+<token>@<mail domain>`. Only
/// its hash is stored.
pub struct RuaToken {
    pub plaintext: String,
    pub hash: String,
}

impl RuaToken {
    pub fn generate() -> Self {
        let plaintext: String = rand::rng()
            .sample_iter(&rand::distr::Alphanumeric)
            .take(24)
            .map(|c| char::from(c).to_ascii_lowercase())
            .collect();
        let hash = hash_token(&plaintext);
        Self { plaintext, hash }
    }
}

/// Tokens are compared by hash, as API keys are. Addresses are matched
/// case-insensitively, so the token is hashed in lower case.
pub fn hash_token(token: &str) -> String {
    crate::apikey::hash_key(&token.to_ascii_lowercase())
}

/// The reporting address of `token` on `mail_domain`.
pub fn reporting_address(token: &str, mail_domain: &str) -> String {
    format!("dmarc+{token}@{mail_domain}")
}

/// The token of a reporting address on `mail_domain` (`dmarc+TOKEN@…`), if
/// the address is one.
pub fn token_of_address<'a>(address: &'a str, mail_domain: &str) -> Option<&'a str> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, domain) = address.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(mail_domain) {
        return None;
    }
    let token = local.strip_prefix("dmarc+").or_else(|| {
        local
            .get(..6)
            .filter(|p| p.eq_ignore_ascii_case("dmarc+"))
            .map(|_| &local[6..])
    })?;
    (!token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(token)
}

/// A domain as users type it, normalized: trimmed, lowercase, IDNA, no
/// trailing dot, at least two labels.
pub fn normalize_domain(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim().trim_end_matches('.');
    let host = url::Host::parse(trimmed).map_err(|_| "is not a valid domain name".to_string())?;
    let url::Host::Domain(domain) = host else {
        return Err("must be a domain name, not an IP address".into());
    };
    let labels_ok = domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if labels_ok {
        Ok(domain)
    } else {
        Err("is not a valid domain name".into())
    }
}

/// `failureRateThresholdPct`: a whole percentage, 1-100.
pub fn validate_threshold(pct: i64) -> Result<u32, String> {
    if (1..=100).contains(&pct) {
        Ok(pct as u32)
    } else {
        Err("must be 1-100".into())
    }
}

/// The `policy_published` fields that were present in the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyPublished {
    pub domain: Option<String>,
    pub p: Option<String>,
    pub sp: Option<String>,
    pub np: Option<String>,
    pub pct: Option<u32>,
    pub adkim: Option<String>,
    pub aspf: Option<String>,
}

impl PolicyPublished {
    /// The reference's `policyPublished` object: only the fields present.
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        let text = [
            ("domain", &self.domain),
            ("p", &self.p),
            ("sp", &self.sp),
            ("np", &self.np),
            ("adkim", &self.adkim),
            ("aspf", &self.aspf),
        ];
        for (key, value) in text {
            if let Some(v) = value {
                out.insert(key.into(), json!(v));
            }
        }
        if let Some(pct) = self.pct {
            out.insert("pct".into(), json!(pct));
        }
        serde_json::Value::Object(out)
    }

    pub fn from_json(value: &serde_json::Value) -> Self {
        let text = |key: &str| value[key].as_str().map(str::to_string);
        Self {
            domain: text("domain"),
            p: text("p"),
            sp: text("sp"),
            np: text("np"),
            pct: value["pct"].as_u64().map(|v| v as u32),
            adkim: text("adkim"),
            aspf: text("aspf"),
        }
    }
}

/// Messages from one source IP in one report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceTally {
    pub pass: u64,
    pub fail: u64,
}

/// What an aggregate report says, summed: the identity that deduplicates
/// it (reporter, report id, policy domain, date range) and its counts.
/// A row passes DMARC when its evaluated DKIM or SPF result is `pass`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportSummary {
    pub reporter_org: String,
    pub external_id: String,
    pub begin_at: Millis,
    pub end_at: Millis,
    pub policy: PolicyPublished,
    pub message_count: u64,
    pub fail_count: u64,
    pub sources: BTreeMap<IpAddr, SourceTally>,
    /// Rows that could not be read (skipped; the report still counts).
    pub rows_skipped: u64,
}

impl ReportSummary {
    /// Whether the failure rate is over `threshold_pct` percent.
    pub fn failure_rate_exceeds(&self, threshold_pct: u32) -> bool {
        self.message_count > 0 && self.fail_count * 100 > self.message_count * threshold_pct as u64
    }

    /// The failure rate in percent, one decimal.
    pub fn failure_rate_pct(&self) -> f64 {
        if self.message_count == 0 {
            return 0.0;
        }
        (self.fail_count as f64 * 1000.0 / self.message_count as f64).round() / 10.0
    }
}

/// A stored report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcReport {
    pub id: DmarcReportId,
    pub org_id: OrgId,
    pub domain_id: DmarcDomainId,
    pub summary: ReportSummary,
    pub received_at: Millis,
}

/// A source IP seen sending as a domain, over every report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcSource {
    pub ip: IpAddr,
    pub first_seen_at: Millis,
    pub last_seen_at: Millis,
    pub pass_count: u64,
    pub fail_count: u64,
    pub ptr: Option<String>,
}

/// A received file that could not be read at all, kept with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedImport {
    pub id: DmarcImportId,
    pub org_id: OrgId,
    pub domain_id: DmarcDomainId,
    /// `smtp`, `upload` or `imap`.
    pub via: String,
    pub reason: String,
    pub size_bytes: u64,
    pub received_at: Millis,
}

impl EventMonitor {
    /// A DMARC domain in the place of the payload's monitor, as the API
    /// reference says ("monitor = the DMARC domain").
    pub fn of_dmarc_domain(domain: &DmarcDomain) -> Self {
        Self {
            id: domain.id.to_string(),
            label: domain.domain.clone(),
            target: Some(domain.domain.clone()),
        }
    }
}

fn dmarc_event(domain: &DmarcDomain, draft: Draft, now: Millis) -> Event {
    Event {
        id: EventId::generate(),
        org_id: domain.org_id.clone(),
        monitor_id: None,
        environment_id: None,
        event_type: draft.event_type,
        severity: draft.severity,
        status: draft.status,
        monitor: Some(EventMonitor::of_dmarc_domain(domain)),
        details: draft.details,
        subject: EventSubject::Monitor,
        created_at: now,
    }
}

/// `dmarc.new_source`: failures from `ip`, never seen for the domain.
pub fn new_source_event(
    domain: &DmarcDomain,
    report: &ReportSummary,
    ip: IpAddr,
    tally: SourceTally,
    ptr: Option<&str>,
    now: Millis,
) -> Event {
    let draft = Draft {
        event_type: EventType::DmarcNewSource,
        severity: Severity::Warning,
        status: "new_source".into(),
        details: json!({
            "Source IP": ip.to_string(),
            "PTR": ptr,
            "Failing messages": tally.fail,
            "Reporter": report.reporter_org,
            "Report": report.external_id,
        }),
    };
    dmarc_event(domain, draft, now)
}

/// `dmarc.failure_rate`: the report's failure rate is over the threshold.
pub fn failure_rate_event(domain: &DmarcDomain, report: &ReportSummary, now: Millis) -> Event {
    let draft = Draft {
        event_type: EventType::DmarcFailureRate,
        severity: Severity::Warning,
        status: "failure_rate".into(),
        details: json!({
            "Failure rate": format!("{} %", report.failure_rate_pct()),
            "Threshold": format!("{} %", domain.failure_rate_threshold_pct),
            "Failing messages": report.fail_count,
            "Messages": report.message_count,
            "Reporter": report.reporter_org,
            "Report": report.external_id,
        }),
    };
    dmarc_event(domain, draft, now)
}

/// Whether a failure-rate alert may fire now, given the last one.
pub fn failure_rate_alert_due(last: Option<Millis>, now: Millis) -> bool {
    last.is_none_or(|last| now - last >= FAILURE_RATE_ALERT_EVERY_MS)
}

/// The new failing sources of a report: IPs with failures that `known`
/// (the domain's sources before this report) does not hold. Empty for a
/// domain's first report, its baseline.
pub fn new_failing_sources(
    report: &ReportSummary,
    known: &dyn Fn(&IpAddr) -> bool,
    baseline: bool,
) -> Vec<(IpAddr, SourceTally)> {
    if baseline {
        return Vec::new();
    }
    report
        .sources
        .iter()
        .filter(|(ip, tally)| tally.fail > 0 && !known(ip))
        .map(|(ip, tally)| (*ip, *tally))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalized() {
        assert_eq!(normalize_domain(" Example.COM. ").unwrap(), "example.com");
        assert_eq!(
            normalize_domain("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert!(normalize_domain("localhost").is_err());
        assert!(normalize_domain("192.0.2.1").is_err());
        assert!(normalize_domain("exa mple.com").is_err());
    }

    #[test]
    fn addresses_carry_the_token() {
        let token = RuaToken::generate();
        let address = reporting_address(&token.plaintext, "reports.example.net");
        assert_eq!(
            token_of_address(&address, "REPORTS.example.net"),
            Some(token.plaintext.as_str())
        );
        assert_eq!(hash_token(&token.plaintext.to_uppercase()), token.hash);
        assert_eq!(token_of_address(&address, "other.example"), None);
        assert_eq!(
            token_of_address("postmaster@reports.example.net", "reports.example.net"),
            None
        );
    }

    #[test]
    fn failure_rate_rule() {
        let report = ReportSummary {
            message_count: 200,
            fail_count: 11,
            ..Default::default()
        };
        assert!(report.failure_rate_exceeds(5));
        assert!(!report.failure_rate_exceeds(6));
        assert_eq!(report.failure_rate_pct(), 5.5);
        assert!(failure_rate_alert_due(None, 0));
        assert!(!failure_rate_alert_due(
            Some(1000),
            1000 + FAILURE_RATE_ALERT_EVERY_MS - 1
        ));
        assert!(failure_rate_alert_due(
            Some(1000),
            1000 + FAILURE_RATE_ALERT_EVERY_MS
        ));
    }

    #[test]
    fn the_first_report_is_a_baseline() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let report = ReportSummary {
            sources: BTreeMap::from([(ip, SourceTally { pass: 0, fail: 3 })]),
            ..Default::default()
        };
        assert!(new_failing_sources(&report, &|_| false, true).is_empty());
        assert_eq!(new_failing_sources(&report, &|_| false, false).len(), 1);
        assert!(new_failing_sources(&report, &|_| true, false).is_empty());
    }
}
