//! SMTP TLS reports (RFC 8460): JSON that arrives at the same reporting
//! addresses as DMARC reports. They are recognized and summed so they are
//! kept as their own kind, never counted as broken DMARC reports.

use serde_json::Value;

use crate::ParseError;

/// What a TLS report says, summed over its policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRptSummary {
    pub organization: String,
    pub report_id: String,
    pub begin: String,
    pub end: String,
    pub successful_sessions: u64,
    pub failed_sessions: u64,
    /// The first policy's domain: which DMARC domain the report is about.
    pub policy_domain: Option<String>,
}

pub fn parse_tlsrpt(bytes: &[u8]) -> Result<TlsRptSummary, ParseError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ParseError::NotAReport(format!("unreadable JSON: {e}")))?;
    let text = |key: &str| value[key].as_str().map(str::to_string);
    let (Some(organization), Some(report_id), Some(policies)) = (
        text("organization-name"),
        text("report-id"),
        value["policies"].as_array(),
    ) else {
        return Err(ParseError::NotAReport(
            "JSON without organization-name, report-id and policies is not a TLS report".into(),
        ));
    };
    let sum = |key: &str| {
        policies
            .iter()
            .filter_map(|p| p["summary"][key].as_u64())
            .sum()
    };
    Ok(TlsRptSummary {
        organization,
        report_id,
        begin: value["date-range"]["start-datetime"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        end: value["date-range"]["end-datetime"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        successful_sessions: sum("total-successful-session-count"),
        failed_sessions: sum("total-failure-session-count"),
        policy_domain: policies
            .iter()
            .find_map(|p| p["policy"]["policy-domain"].as_str())
            .map(str::to_ascii_lowercase),
    })
}
