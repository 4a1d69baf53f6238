//! Test support: a report file as the parsedmarc comparisons see it (the
//! shape `tests/samples/parsedmarc_summary.py` prints), for the pinned
//! comparison here and the live one in the `certsentry` crate.

use serde_json::{Value, json};

use crate::{Extracted, Limits, extract};

/// `{kind, reporter, reportId, messages, fails}`, `{kind: "smtp_tls"}`, or
/// `{error}`.
pub fn summary(bytes: &[u8]) -> Value {
    match extract(bytes, &Limits::default()) {
        Ok(found) => match found.as_slice() {
            [Extracted::Aggregate(r)] => json!({
                "kind": "aggregate", "reporter": r.reporter_org, "reportId": r.external_id,
                "messages": r.message_count, "fails": r.fail_count,
            }),
            [Extracted::TlsRpt(_)] => json!({ "kind": "smtp_tls" }),
            other => json!({ "kind": format!("{} reports", other.len()) }),
        },
        Err(e) => json!({ "error": e.to_string() }),
    }
}
