//! Finds the report files in what arrives: a mail (MIME, read with
//! `mail-parser`), a zip (every member), a gzip (a gzip inside a gzip
//! too), or the bare XML or JSON. A part is recognized by its magic bytes
//! first, then by its content type or file name; one that claims to be
//! gzip or zip and is neither is refused with that reason. Decompressed
//! sizes and member counts are capped, so a bomb is refused, not expanded.

use std::cell::Cell;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::rc::Rc;

use certsentry_domain::dmarc::ReportSummary;
use mail_parser::MimeHeaders;

use crate::tlsrpt::{TlsRptSummary, parse_tlsrpt};
use crate::{ParseError, parse_aggregate};

/// Bounds on what one received file may expand to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// All decompressed bytes of one file together.
    pub max_decompressed_bytes: u64,
    /// Members of one zip.
    pub max_zip_members: usize,
    /// Archives inside archives (a gzip in a gzip is depth 2).
    pub max_depth: u8,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: 512 * 1024 * 1024,
            max_zip_members: 64,
            max_depth: 4,
        }
    }
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// One report found in a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Extracted {
    Aggregate(ReportSummary),
    TlsRpt(TlsRptSummary),
}

struct Walk<'l> {
    limits: &'l Limits,
    decompressed: u64,
    sender_domain: Option<String>,
    found: Vec<Extracted>,
    problems: Vec<String>,
}

/// Every report in `bytes`. Fails, with the first reason, only when no
/// report at all could be read.
pub fn extract(bytes: &[u8], limits: &Limits) -> Result<Vec<Extracted>, ParseError> {
    let mut walk = Walk {
        limits,
        decompressed: 0,
        sender_domain: None,
        found: Vec::new(),
        problems: Vec::new(),
    };
    walk.file(bytes, None, None, 0)?;
    if walk.found.is_empty() {
        return Err(ParseError::NothingFound(
            walk.problems
                .into_iter()
                .next()
                .unwrap_or_else(|| "the file holds no DMARC or TLS report".into()),
        ));
    }
    Ok(walk.found)
}

#[derive(Debug, PartialEq)]
enum Kind {
    Zip,
    Gzip,
    Xml,
    Json,
    Mail,
    Unknown,
}

fn sniff(bytes: &[u8]) -> Kind {
    if bytes.starts_with(b"PK\x03\x04") {
        return Kind::Zip;
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Kind::Gzip;
    }
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => return Kind::Xml,
        Some(b'{') => return Kind::Json,
        _ => {}
    }
    let first_line = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let header_name = first_line.split(|&b| b == b':').next().unwrap_or_default();
    if first_line.contains(&b':')
        && !header_name.is_empty()
        && header_name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    {
        return Kind::Mail;
    }
    Kind::Unknown
}

/// What a part's content type or file name claims it is.
fn declared(name: Option<&str>, content_type: Option<&str>) -> Option<Kind> {
    let name = name.unwrap_or_default().to_ascii_lowercase();
    let content_type = content_type.unwrap_or_default().to_ascii_lowercase();
    if name.ends_with(".gz") || content_type.contains("gzip") {
        Some(Kind::Gzip)
    } else if name.ends_with(".zip") || content_type.contains("zip") {
        Some(Kind::Zip)
    } else if name.ends_with(".xml") || content_type.ends_with("/xml") {
        Some(Kind::Xml)
    } else if name.ends_with(".json") || content_type.contains("tlsrpt") {
        Some(Kind::Json)
    } else {
        None
    }
}

impl Walk<'_> {
    fn file(
        &mut self,
        bytes: &[u8],
        name: Option<&str>,
        content_type: Option<&str>,
        depth: u8,
    ) -> Result<(), ParseError> {
        if depth > self.limits.max_depth {
            return Err(ParseError::Archive(format!(
                "archives nested deeper than {} levels",
                self.limits.max_depth
            )));
        }
        let label = name.unwrap_or("the file");
        match sniff(bytes) {
            Kind::Zip => self.zip(bytes, depth),
            Kind::Gzip => {
                let inner_name = name.map(|n| n.trim_end_matches(".gz").to_string());
                self.decompressed(
                    flate2::read::GzDecoder::new(bytes),
                    label,
                    inner_name.as_deref(),
                    depth + 1,
                )
            }
            Kind::Xml => {
                match parse_aggregate(bytes, self.sender_domain.as_deref()) {
                    Ok(report) => self.found.push(Extracted::Aggregate(report)),
                    Err(e) => self.problems.push(format!("{label}: {e}")),
                }
                Ok(())
            }
            Kind::Json => {
                match parse_tlsrpt(bytes) {
                    Ok(report) => self.found.push(Extracted::TlsRpt(report)),
                    Err(e) => self.problems.push(format!("{label}: {e}")),
                }
                Ok(())
            }
            Kind::Mail if depth == 0 => self.mail(bytes, depth),
            _ => {
                match declared(name, content_type) {
                    Some(Kind::Gzip) => self
                        .problems
                        .push(format!("{label} is declared gzip but is not gzip data")),
                    Some(Kind::Zip) => self
                        .problems
                        .push(format!("{label} is declared zip but is not a zip archive")),
                    Some(_) => self
                        .problems
                        .push(format!("{label} is neither XML nor JSON")),
                    None => {}
                }
                Ok(())
            }
        }
    }

    /// What a decompressing reader holds. An aggregate report is parsed as
    /// it streams out, so the XML is never whole in memory; anything else (a
    /// nested archive, a TLS report) is read whole first. Both count against
    /// the size budget.
    fn decompressed(
        &mut self,
        reader: impl Read,
        label: &str,
        name: Option<&str>,
        depth: u8,
    ) -> Result<(), ParseError> {
        let budget = self.limits.max_decompressed_bytes - self.decompressed;
        let read = Rc::new(Cell::new(0u64));
        let mut stream = BufReader::with_capacity(
            64 * 1024,
            Counted {
                inner: reader.take(budget + 1),
                read: read.clone(),
            },
        );
        let head = stream
            .fill_buf()
            .map_err(|e| ParseError::Archive(format!("{label} does not decompress: {e}")))?;
        if head.len() >= 16 && sniff(head) == Kind::Xml {
            let parsed = crate::parse_aggregate_reader(stream, self.sender_domain.as_deref());
            if read.get() > budget {
                return Err(self.too_large(label));
            }
            self.decompressed += read.get();
            match parsed {
                Ok(report) => self.found.push(Extracted::Aggregate(report)),
                Err(e) => self.problems.push(format!("{label}: {e}")),
            }
            return Ok(());
        }
        let inner = self.inflate(stream, label)?;
        self.file(&inner, name, None, depth)
    }

    fn too_large(&self, label: &str) -> ParseError {
        ParseError::TooLarge(format!(
            "{label} decompresses to more than {} bytes (a compression bomb?)",
            self.limits.max_decompressed_bytes
        ))
    }

    /// Reads a decompressing reader to its end, within the size budget.
    fn inflate(&mut self, reader: impl Read, label: &str) -> Result<Vec<u8>, ParseError> {
        let budget = self.limits.max_decompressed_bytes - self.decompressed;
        let mut out = Vec::new();
        reader
            .take(budget + 1)
            .read_to_end(&mut out)
            .map_err(|e| ParseError::Archive(format!("{label} does not decompress: {e}")))?;
        if out.len() as u64 > budget {
            return Err(self.too_large(label));
        }
        self.decompressed += out.len() as u64;
        Ok(out)
    }

    fn zip(&mut self, bytes: &[u8], depth: u8) -> Result<(), ParseError> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| ParseError::Archive(format!("unreadable zip archive: {e}")))?;
        if archive.len() > self.limits.max_zip_members {
            return Err(ParseError::TooLarge(format!(
                "the zip archive has {} members; at most {} are read",
                archive.len(),
                self.limits.max_zip_members
            )));
        }
        for index in 0..archive.len() {
            let member = archive
                .by_index(index)
                .map_err(|e| ParseError::Archive(format!("unreadable zip member: {e}")))?;
            if member.is_dir() {
                continue;
            }
            let name = member.name().map(|n| n.to_string()).unwrap_or_default();
            self.decompressed(member, &name, Some(&name), depth + 1)?;
        }
        Ok(())
    }

    fn mail(&mut self, bytes: &[u8], depth: u8) -> Result<(), ParseError> {
        let Some(message) = mail_parser::MessageParser::default().parse(bytes) else {
            self.problems.push("the mail could not be read".into());
            return Ok(());
        };
        self.sender_domain = message
            .from()
            .and_then(|from| from.first())
            .and_then(|addr| addr.address())
            .and_then(|address| address.rsplit_once('@'))
            .map(|(_, domain)| domain.to_ascii_lowercase());
        for part in &message.parts {
            if matches!(part.body, mail_parser::PartType::Multipart(_)) {
                continue;
            }
            let content_type = part
                .content_type()
                .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()));
            let is_text_body = part.attachment_name().is_none()
                && content_type
                    .as_deref()
                    .is_none_or(|ct| ct.starts_with("text/plain") || ct.starts_with("text/html"));
            let contents = part.contents();
            // The mail's own text ("This is a DMARC report") is not a report,
            // unless a receiver put the XML straight into the body.
            if is_text_body && sniff(contents) != Kind::Xml {
                continue;
            }
            self.file(
                contents,
                part.attachment_name(),
                content_type.as_deref(),
                depth + 1,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const XML: &str = "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>x</org_name>\
        <report_id>1</report_id><date_range><begin>1</begin><end>2</end></date_range>\
        </report_metadata><record><row><source_ip>192.0.2.1</source_ip><count>4</count>\
        <policy_evaluated><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row></record></feedback>";

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn count(found: &[Extracted]) -> u64 {
        found
            .iter()
            .map(|f| match f {
                Extracted::Aggregate(r) => r.message_count,
                Extracted::TlsRpt(_) => 0,
            })
            .sum()
    }

    #[test]
    fn gzip_inside_gzip_is_read() {
        let found = extract(&gzip(&gzip(XML.as_bytes())), &Limits::default()).unwrap();
        assert_eq!(count(&found), 4);
    }

    #[test]
    fn a_bomb_is_refused_with_a_reason() {
        let zeros = vec![b' '; 4 * 1024 * 1024];
        let limits = Limits {
            max_decompressed_bytes: 1024 * 1024,
            ..Limits::default()
        };
        let error = extract(&gzip(&zeros), &limits).unwrap_err();
        assert!(
            matches!(&error, ParseError::TooLarge(m) if m.contains("bomb")),
            "{error}"
        );
    }

    #[test]
    fn a_declared_gzip_that_is_not_gzip_is_refused() {
        let mail = "From: reports@example.net\r\nSubject: report\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
            Report attached.\r\n--b\r\nContent-Type: application/gzip\r\n\
            Content-Disposition: attachment; filename=\"r.xml.gz\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
            bm90IGd6aXAgYXQgYWxs\r\n--b--\r\n";
        let error = extract(mail.as_bytes(), &Limits::default()).unwrap_err();
        assert!(
            error.to_string().contains("r.xml.gz is declared gzip"),
            "{error}"
        );
    }

    #[test]
    fn an_uncompressed_xml_attachment_is_read() {
        let mail = format!(
            "From: DMARC Aggregate Report <dmarc@example.org>\r\nSubject: Report\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
             See attached.\r\n--b\r\nContent-Type: text/xml; name=\"report.xml\"\r\n\
             Content-Disposition: attachment; filename=\"report.xml\"\r\n\r\n{XML}\r\n--b--\r\n"
        );
        let found = extract(mail.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(count(&found), 4);
    }

    #[test]
    fn a_truncated_gzip_is_refused_not_half_read() {
        let rows: String = (0..2000)
            .map(|i| {
                format!(
                    "<record><row><source_ip>192.0.2.{}</source_ip><count>1</count>\
                     <policy_evaluated><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row></record>",
                    i % 250
                )
            })
            .collect();
        let xml = XML.replace("</feedback>", &format!("{rows}</feedback>"));
        let whole = gzip(xml.as_bytes());
        assert_eq!(count(&extract(&whole, &Limits::default()).unwrap()), 2004);
        let cut = &whole[..whole.len() / 2];
        let error = extract(cut, &Limits::default()).unwrap_err();
        assert!(error.to_string().contains("stopped short"), "{error}");
    }
}
