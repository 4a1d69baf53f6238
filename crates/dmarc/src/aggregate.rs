//! Aggregate reports (RFC 7489 Appendix C, its drafts, and RFC 9990's
//! `dmarc-2.0` namespace), read as a stream of XML events: a report of a
//! million rows is summed as it is read, never held as a tree.
//!
//! Receivers send broken XML, so the reader is forgiving where the meaning
//! is still clear: invalid UTF-8 is replaced, unknown or stray elements
//! (an `xs:schema`, a `<bad@address>` that is not a tag) are ignored, end
//! tags are not matched against their start tags, results are compared
//! without case, timestamps may be written `1709683200.0`. Only the
//! predefined XML entities are expanded (there is no DTD expansion at all,
//! so an entity bomb has nothing to expand). A row that cannot be read is
//! counted and skipped; a report without its identity is refused.

use std::net::IpAddr;

use certsentry_domain::dmarc::{PolicyPublished, ReportSummary};
use std::io::{BufReader, Read};

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::ParseError;

/// A row claiming more messages than this is unreadable (no receiver sees
/// a trillion messages from one source in a day).
const MAX_ROW_COUNT: u64 = 1_000_000_000_000;

/// The elements whose text is read; everything else only gives context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaf {
    OrgName,
    Email,
    ReportId,
    Begin,
    End,
    PolicyDomain,
    P,
    Sp,
    Np,
    Pct,
    Adkim,
    Aspf,
    SourceIp,
    Count,
    Dkim,
    Spf,
}

#[derive(Default)]
struct Context {
    feedback: bool,
    metadata: bool,
    date_range: bool,
    policy: bool,
    record: bool,
    row: bool,
    policy_evaluated: bool,
}

#[derive(Default)]
struct Row {
    ip: Option<IpAddr>,
    count: Option<u64>,
    dkim_pass: bool,
    spf_pass: bool,
}

#[derive(Default)]
struct Metadata {
    org_name: Option<String>,
    email: Option<String>,
    report_id: Option<String>,
    begin: Option<String>,
    end: Option<String>,
}

/// Consecutive syntax errors after which a stream is given up on.
const MAX_SYNTAX_ERRORS: u32 = 1000;

/// Reads one aggregate report held in memory. `sender_domain` names the
/// reporter when the report leaves `org_name` empty and has no contact
/// address.
pub fn parse_aggregate(
    bytes: &[u8],
    sender_domain: Option<&str>,
) -> Result<ReportSummary, ParseError> {
    // Invalid UTF-8 is replaced up front; valid input is not copied.
    let input = String::from_utf8_lossy(bytes);
    let mut reader = Reader::from_str(&input);
    configure(reader.config_mut());
    let mut parser = Parser::default();
    loop {
        match parser.step(reader.read_event()) {
            Step::Go => {}
            Step::Stop => break,
            Step::Fail(e) => return Err(e),
        }
    }
    parser.finish(sender_domain)
}

/// Reads one aggregate report from a stream (a decompressing reader), so
/// that a report of a million rows never sits in memory whole. Invalid
/// UTF-8 is replaced as it streams by.
pub fn parse_aggregate_reader<R: Read>(
    input: R,
    sender_domain: Option<&str>,
) -> Result<ReportSummary, ParseError> {
    let mut reader = Reader::from_reader(BufReader::with_capacity(
        64 * 1024,
        crate::utf8::Utf8Lossy::new(input),
    ));
    configure(reader.config_mut());
    let mut parser = Parser::default();
    let mut buf = Vec::with_capacity(1024);
    loop {
        let step = parser.step(reader.read_event_into(&mut buf));
        buf.clear();
        match step {
            Step::Go => {}
            Step::Stop => break,
            Step::Fail(e) => return Err(e),
        }
    }
    parser.finish(sender_domain)
}

fn configure(config: &mut quick_xml::reader::Config) {
    config.check_end_names = false;
    config.trim_text(true);
}

enum Step {
    Go,
    Stop,
    Fail(ParseError),
}

/// The state of one report being read, fed one XML event at a time.
#[derive(Default)]
struct Parser {
    ctx: Context,
    leaf: Option<Leaf>,
    text: String,
    meta: Metadata,
    summary: ReportSummary,
    row: Row,
    syntax_errors: u32,
}

impl Parser {
    fn step(&mut self, next: Result<Event<'_>, quick_xml::Error>) -> Step {
        let event = match next {
            Ok(event) => {
                self.syntax_errors = 0;
                event
            }
            // Past a syntax error the stream can still be read (quick-xml
            // resumes after the offending markup); give up only at the end.
            Err(quick_xml::Error::Syntax(_))
                if self.ctx.feedback && self.syntax_errors < MAX_SYNTAX_ERRORS =>
            {
                self.syntax_errors += 1;
                return Step::Go;
            }
            // A stream that breaks (a truncated gzip) is not a shorter report.
            Err(quick_xml::Error::Io(e)) => {
                return Step::Fail(ParseError::Archive(format!("the data stopped short: {e}")));
            }
            Err(e) => {
                if self.ctx.feedback && self.meta.report_id.is_some() {
                    return Step::Stop;
                }
                return Step::Fail(ParseError::Xml(e.to_string()));
            }
        };
        match event {
            Event::Start(start) => {
                let name = lowercase_local(start.local_name().into_inner());
                if let Some(found) = open(&name, &mut self.ctx) {
                    self.leaf = Some(found);
                    self.text.clear();
                } else if name == "record" {
                    self.row = Row::default();
                }
            }
            Event::Empty(start) => {
                let name = lowercase_local(start.local_name().into_inner());
                if let Some(found) = open(&name, &mut self.ctx) {
                    self.store(found, "");
                }
            }
            Event::Text(t) if self.leaf.is_some() => self.text.push_str(&t.into_inner()),
            Event::CData(t) if self.leaf.is_some() => self.text.push_str(&t.into_inner()),
            Event::GeneralRef(r) if self.leaf.is_some() => {
                self.text.push_str(&resolve_reference(&r.into_inner()))
            }
            Event::End(end) => {
                let name = lowercase_local(end.local_name().into_inner());
                if let Some(current) = self.leaf
                    && leaf_name(current) == name
                {
                    let text = std::mem::take(&mut self.text);
                    self.store(current, text.trim());
                    self.text = text;
                    self.text.clear();
                    self.leaf = None;
                } else if name == "record" && self.ctx.record {
                    self.ctx.record = false;
                    count_row(std::mem::take(&mut self.row), &mut self.summary);
                } else {
                    close(&name, &mut self.ctx);
                }
            }
            Event::Eof => return Step::Stop,
            _ => {}
        }
        Step::Go
    }

    fn store(&mut self, leaf: Leaf, value: &str) {
        store(
            leaf,
            value,
            &mut self.meta,
            &mut self.summary.policy,
            &mut self.row,
        );
    }

    fn finish(self, sender_domain: Option<&str>) -> Result<ReportSummary, ParseError> {
        if !self.ctx.feedback {
            return Err(ParseError::NotAReport(
                "no <feedback> element: not a DMARC aggregate report".into(),
            ));
        }
        finish(self.meta, self.summary, sender_domain)
    }
}

/// Element names compare in lower case; most reports write them so, and
/// then nothing is allocated.
fn lowercase_local(name: &str) -> std::borrow::Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(name.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

/// Marks a container as open, or returns the leaf `name` is in this context.
fn open(name: &str, ctx: &mut Context) -> Option<Leaf> {
    match name {
        "feedback" => ctx.feedback = true,
        "report_metadata" => ctx.metadata = true,
        "date_range" => ctx.date_range = true,
        "policy_published" => ctx.policy = true,
        "record" => ctx.record = true,
        "row" => ctx.row = true,
        "policy_evaluated" => ctx.policy_evaluated = true,
        _ => {}
    }
    let leaf = if ctx.metadata {
        match name {
            "org_name" => Leaf::OrgName,
            "email" => Leaf::Email,
            "report_id" => Leaf::ReportId,
            "begin" if ctx.date_range => Leaf::Begin,
            "end" if ctx.date_range => Leaf::End,
            _ => return None,
        }
    } else if ctx.policy {
        match name {
            "domain" => Leaf::PolicyDomain,
            "p" => Leaf::P,
            "sp" => Leaf::Sp,
            "np" => Leaf::Np,
            "pct" => Leaf::Pct,
            "adkim" => Leaf::Adkim,
            "aspf" => Leaf::Aspf,
            _ => return None,
        }
    } else if ctx.row {
        match name {
            "source_ip" => Leaf::SourceIp,
            "count" => Leaf::Count,
            "dkim" if ctx.policy_evaluated => Leaf::Dkim,
            "spf" if ctx.policy_evaluated => Leaf::Spf,
            _ => return None,
        }
    } else {
        return None;
    };
    Some(leaf)
}

fn close(name: &str, ctx: &mut Context) {
    match name {
        "report_metadata" => ctx.metadata = false,
        "date_range" => ctx.date_range = false,
        "policy_published" => ctx.policy = false,
        "row" => ctx.row = false,
        "policy_evaluated" => ctx.policy_evaluated = false,
        _ => {}
    }
}

fn leaf_name(leaf: Leaf) -> &'static str {
    match leaf {
        Leaf::OrgName => "org_name",
        Leaf::Email => "email",
        Leaf::ReportId => "report_id",
        Leaf::Begin => "begin",
        Leaf::End => "end",
        Leaf::PolicyDomain => "domain",
        Leaf::P => "p",
        Leaf::Sp => "sp",
        Leaf::Np => "np",
        Leaf::Pct => "pct",
        Leaf::Adkim => "adkim",
        Leaf::Aspf => "aspf",
        Leaf::SourceIp => "source_ip",
        Leaf::Count => "count",
        Leaf::Dkim => "dkim",
        Leaf::Spf => "spf",
    }
}

fn store(
    leaf: Leaf,
    value: &str,
    meta: &mut Metadata,
    policy: &mut PolicyPublished,
    row: &mut Row,
) {
    let text = || (!value.is_empty()).then(|| value.to_ascii_lowercase());
    let pass = || value.eq_ignore_ascii_case("pass");
    match leaf {
        Leaf::OrgName => meta.org_name = Some(value.to_string()),
        Leaf::Email => meta.email = Some(value.to_string()),
        Leaf::ReportId => meta.report_id = Some(value.to_string()),
        Leaf::Begin => meta.begin = Some(value.to_string()),
        Leaf::End => meta.end = Some(value.to_string()),
        Leaf::PolicyDomain => policy.domain = text(),
        Leaf::P => policy.p = text(),
        Leaf::Sp => policy.sp = text(),
        Leaf::Np => policy.np = text(),
        Leaf::Pct => policy.pct = parse_whole(value).and_then(|v| u32::try_from(v).ok()),
        Leaf::Adkim => policy.adkim = text(),
        Leaf::Aspf => policy.aspf = text(),
        // Rows are parsed as they are read: a million of them allocate nothing.
        Leaf::SourceIp => row.ip = value.parse().ok(),
        Leaf::Count => row.count = parse_whole(value),
        Leaf::Dkim => row.dkim_pass = pass(),
        Leaf::Spf => row.spf_pass = pass(),
    }
}

/// Adds a finished row to the sums, or counts it as skipped.
fn count_row(row: Row, summary: &mut ReportSummary) {
    let (Some(ip), Some(count)) = (row.ip, row.count) else {
        summary.rows_skipped += 1;
        return;
    };
    // Counts beyond any real traffic are a broken row, not a sum to overflow.
    if count > MAX_ROW_COUNT {
        summary.rows_skipped += 1;
        return;
    }
    let tally = summary.sources.entry(ip).or_default();
    summary.message_count = summary.message_count.saturating_add(count);
    if row.dkim_pass || row.spf_pass {
        tally.pass = tally.pass.saturating_add(count);
    } else {
        tally.fail = tally.fail.saturating_add(count);
        summary.fail_count = summary.fail_count.saturating_add(count);
    }
}

/// `42`, ` 42 `, or `42.0` (some receivers write floats).
fn parse_whole(text: &str) -> Option<u64> {
    let text = text.trim();
    text.parse::<u64>().ok().or_else(|| {
        let float = text.parse::<f64>().ok()?;
        (float >= 0.0 && float.fract() == 0.0 && float < 1.0e15).then_some(float as u64)
    })
}

fn resolve_reference(name: &str) -> String {
    match name {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        _ => {
            let code = name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()));
            code.and_then(char::from_u32)
                .map(String::from)
                .unwrap_or_default()
        }
    }
}

/// The report's identity, as parsedmarc and most tools normalize it:
/// angle brackets dropped, anything after an `@` dropped.
pub fn normalize_report_id(raw: &str) -> String {
    let stripped: String = raw.chars().filter(|c| !matches!(c, '<' | '>')).collect();
    stripped
        .split('@')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn finish(
    meta: Metadata,
    mut summary: ReportSummary,
    sender_domain: Option<&str>,
) -> Result<ReportSummary, ParseError> {
    let report_id = meta
        .report_id
        .as_deref()
        .map(normalize_report_id)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ParseError::NotAReport("the report has no report_id".into()))?;
    let timestamp = |value: &Option<String>, what: &str| {
        value
            .as_deref()
            .and_then(parse_whole)
            .and_then(|s| i64::try_from(s).ok())
            .map(|s| s * 1000)
            .ok_or_else(|| ParseError::NotAReport(format!("the date range has no readable {what}")))
    };
    summary.begin_at = timestamp(&meta.begin, "begin")?;
    summary.end_at = timestamp(&meta.end, "end")?;
    let from_email = meta
        .email
        .as_deref()
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, domain)| domain.trim_end_matches('>').trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty());
    summary.reporter_org = meta
        .org_name
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        // A reporter named by its domain is compared as a domain.
        .map(|o| {
            if o.contains('.') && !o.contains(char::is_whitespace) {
                o.to_ascii_lowercase()
            } else {
                o
            }
        })
        .or(from_email)
        .or_else(|| sender_domain.map(str::to_ascii_lowercase))
        .unwrap_or_else(|| "unknown".into());
    summary.external_id = report_id;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rows: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>Example</org_name>\
             <report_id>&lt;r1@example.net&gt;</report_id><date_range><begin>1709683200.0</begin>\
             <end>1709769599</end></date_range></report_metadata><policy_published>\
             <domain>Example.com</domain><p>reject</p><pct>100</pct></policy_published>{rows}</feedback>"
        )
    }

    fn row(ip: &str, count: &str, dkim: &str, spf: &str) -> String {
        format!(
            "<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>\
             <disposition>none</disposition><dkim>{dkim}</dkim><spf>{spf}</spf></policy_evaluated></row>\
             <auth_results><dkim><domain>x</domain><result>pass</result></dkim></auth_results></record>"
        )
    }

    #[test]
    fn sums_rows_by_source_and_normalizes_identity() {
        let xml = report(&format!(
            "{}{}{}{}",
            row("192.0.2.1", "10", "pass", "fail"),
            row("192.0.2.2", "3", "Fail", "FAIL"),
            row("192.0.2.1", "2", "fail", "Pass"),
            row("not-an-ip", "5", "fail", "fail"),
        ));
        let summary = parse_aggregate(xml.as_bytes(), None).unwrap();
        assert_eq!(summary.external_id, "r1");
        assert_eq!(summary.begin_at, 1_709_683_200_000);
        assert_eq!((summary.message_count, summary.fail_count), (15, 3));
        assert_eq!(summary.rows_skipped, 1);
        assert_eq!(summary.policy.domain.as_deref(), Some("example.com"));
        assert_eq!(summary.policy.pct, Some(100));
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            summary.sources[&one],
            certsentry_domain::dmarc::SourceTally { pass: 12, fail: 0 }
        );
    }

    #[test]
    fn refuses_what_is_not_a_report() {
        assert!(matches!(
            parse_aggregate("<html><body>hi</body></html>".as_bytes(), None),
            Err(ParseError::NotAReport(_))
        ));
        let no_id = report("").replace("<report_id>&lt;r1@example.net&gt;</report_id>", "");
        assert!(parse_aggregate(no_id.as_bytes(), None).is_err());
    }

    #[test]
    fn entity_definitions_are_not_expanded() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE feedback [<!ENTITY a \"aaaaaaaaaa\">\
                    <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>";
        let xml = format!("{bomb}{}", report(&row("192.0.2.1", "1", "pass", "pass")))
            .replace("<org_name>Example</org_name>", "<org_name>&b;</org_name>");
        let summary = parse_aggregate(xml.as_bytes(), None).unwrap();
        assert_eq!(summary.reporter_org, "unknown");
    }

    #[test]
    fn a_stray_schema_and_a_long_range_are_no_trouble() {
        let xml = report(&row("2001:db8::25", "7", "fail", "fail"))
            .replace(
                "<feedback>",
                "<feedback><xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\
                 <xs:element name=\"report_id\"><xs:complexType/></xs:element></xs:schema>",
            )
            .replace("<end>1709769599</end>", "<end>1710287999</end>");
        let summary = parse_aggregate(xml.as_bytes(), None).unwrap();
        assert_eq!(summary.external_id, "r1");
        assert_eq!((summary.message_count, summary.fail_count), (7, 7));
        // A week-long report is kept whole, with its range.
        assert_eq!(summary.end_at - summary.begin_at, 7 * 86_400_000 - 1000);
    }

    #[test]
    fn absurd_counts_are_skipped_not_summed() {
        let xml = report(&format!(
            "{}{}",
            row("192.0.2.1", "18446744073709551615", "fail", "fail"),
            row("192.0.2.2", "3", "fail", "fail")
        ));
        let summary = parse_aggregate(xml.as_bytes(), None).unwrap();
        assert_eq!((summary.message_count, summary.rows_skipped), (3, 1));
    }
}
