//! The TLS configuration scan behind the grade: raw handshakes that find
//! which protocol versions a server speaks, which cipher suites it accepts
//! on each (by elimination: offer a list, note the server's choice, take
//! it out, offer again until it refuses), its order of preference, its key
//! exchange groups and DH size, and the hygiene flags. One connection at a
//! time, with a configurable gap between handshakes, so a scan is polite
//! (the budget is 4 at once; one is plenty on a typical server, which takes
//! about 40 handshakes).
//!
//! Mail servers are scanned through STARTTLS: SMTP on 25 and 587, IMAP on
//! 143, POP3 on 110.

mod answer;
pub mod certificate;
pub mod hello;
pub mod suites;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use certsentry_domain::tls::{KeyExchange, ProtocolSuites, TlsFindings, TlsVersion};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use answer::{Answer, ServerHello};
use hello::{GROUPS, Hello, X25519};

/// Most suites one hello offers: some servers refuse longer lists.
pub const MAX_SUITES_PER_HELLO: usize = 128;

/// How a mail server is asked to start TLS before the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Starttls {
    Smtp,
    Imap,
    Pop3,
}

impl Starttls {
    /// The protocol a `tcp` monitor's well-known mail port speaks.
    pub fn for_port(port: u16) -> Option<Self> {
        match port {
            25 | 587 => Some(Starttls::Smtp),
            143 => Some(Starttls::Imap),
            110 => Some(Starttls::Pop3),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Pause between two handshakes with one server.
    pub gap: Duration,
    /// For each connect and each answer.
    pub timeout: Duration,
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self {
            gap: Duration::from_millis(25),
            timeout: Duration::from_secs(10),
        }
    }
}

/// What a scan found, and the chain it was shown.
#[derive(Debug, Clone)]
pub struct Scan {
    pub findings: TlsFindings,
    /// DER, leaf first, as sent: from a TLS 1.2-or-older flight, or, for a
    /// TLS 1.3-only server (whose certificates travel encrypted), from one
    /// full rustls handshake.
    pub chain: Vec<Vec<u8>>,
}

struct Scanner<'a> {
    addr: SocketAddr,
    host: &'a str,
    starttls: Option<Starttls>,
    config: &'a ScanConfig,
    handshakes: u32,
    /// Why the last hello got no answer, for when none ever does.
    last_problem: Option<String>,
}

impl Scanner<'_> {
    /// A new connection, after the gap, ready for a ClientHello (STARTTLS
    /// done); counts as a handshake.
    async fn open(&mut self) -> Result<TcpStream, String> {
        if self.handshakes > 0 {
            tokio::time::sleep(self.config.gap).await;
        }
        self.handshakes += 1;
        let timeout = self.config.timeout;
        let mut stream = match tokio::time::timeout(timeout, TcpStream::connect(self.addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(format!("connect: {e}")),
            Err(_) => return Err("connect: timeout".into()),
        };
        if let Some(protocol) = self.starttls {
            match tokio::time::timeout(timeout, start_tls(&mut stream, protocol)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err("STARTTLS: timeout".into()),
            }
        }
        Ok(stream)
    }

    async fn ask(&mut self, bytes: &[u8], details: bool) -> Answer {
        let timeout = self.config.timeout;
        let mut stream = match self.open().await {
            Ok(stream) => stream,
            Err(why) => return Answer::Nothing(why),
        };
        if stream.write_all(bytes).await.is_err() {
            return Answer::Nothing("the server closed the connection".into());
        }
        let answer = answer::read_answer(&mut stream, details, timeout).await;
        if let Answer::Nothing(why) = &answer {
            self.last_problem = Some(why.clone());
        }
        answer
    }

    async fn offer(&mut self, hello: Hello<'_>, details: bool) -> Answer {
        self.ask(&hello::client_hello(&hello), details).await
    }

    fn hello<'s>(&self, version: TlsVersion, suites: &'s [u16], groups: &'s [u16]) -> Hello<'s>
    where
        Self: 's,
    {
        Hello {
            version,
            suites,
            groups,
            key_share: Some(X25519),
            server_name: Some(self.host),
            fallback_scsv: false,
        }
    }

    /// The suites `version` accepts, in the order the server chose them,
    /// and the first full answer (for the certificate and key exchange).
    async fn enumerate(&mut self, version: TlsVersion) -> (Vec<u16>, Option<ServerHello>) {
        let groups: Vec<u16> = GROUPS.iter().map(|(id, _)| *id).collect();
        let mut found = Vec::new();
        let mut first = None;
        for chunk in suites::candidates(version).chunks(MAX_SUITES_PER_HELLO) {
            let mut offered = chunk.to_vec();
            while !offered.is_empty() {
                let hello = self.hello(version, &offered, &groups);
                match self.offer(hello, first.is_none()).await {
                    Answer::Hello(h)
                        if h.version == Some(version) && offered.contains(&h.suite) =>
                    {
                        found.push(h.suite);
                        offered.retain(|s| *s != h.suite);
                        if first.is_none() {
                            first = Some(h);
                        }
                    }
                    _ => break,
                }
            }
        }
        (found, first)
    }

    /// Whether the server keeps its own order when offered ours reversed.
    async fn enforces_order(&mut self, version: TlsVersion, found: &[u16]) -> Option<bool> {
        if found.len() < 2 {
            return None;
        }
        let reversed: Vec<u16> = found.iter().rev().copied().collect();
        let groups: Vec<u16> = GROUPS.iter().map(|(id, _)| *id).collect();
        let hello = self.hello(version, &reversed, &groups);
        match self.offer(hello, false).await {
            Answer::Hello(h) => Some(h.suite == found[0]),
            _ => None,
        }
    }

    /// The groups the server accepts: one per hello, from a TLS 1.3
    /// HelloRetryRequest (which names a group without needing a valid key
    /// share) or a TLS 1.2 ServerKeyExchange.
    async fn groups(&mut self, version: TlsVersion, suites: &[u16]) -> Vec<String> {
        let mut accepted = Vec::new();
        for (id, name) in GROUPS {
            // Finite-field groups and the hybrid are TLS 1.3 key shares only.
            if version < TlsVersion::Tls13 && id >= 0x0100 {
                continue;
            }
            let mut hello = self.hello(version, suites, std::slice::from_ref(&id));
            hello.key_share = (id == X25519).then_some(X25519);
            if let Answer::Hello(h) = self.offer(hello, version < TlsVersion::Tls13).await
                && h.group == Some(id)
            {
                accepted.push(name.to_string());
            }
        }
        accepted
    }
}

/// Scans `host:port` (SNI = `host`) as the probe settings allow.
pub async fn scan(
    host: &str,
    port: u16,
    starttls: Option<Starttls>,
    probe: &crate::ProbeConfig,
    config: &ScanConfig,
) -> Result<Scan, String> {
    let mut phases = crate::Phases::default();
    let addr = crate::net::resolve(host, port, probe, &mut phases)
        .await?
        .into_iter()
        .next()
        .ok_or("DNS: no addresses")?;
    let mut s = Scanner {
        addr,
        host,
        starttls,
        config,
        handshakes: 0,
        last_problem: None,
    };
    let mut findings = TlsFindings {
        starttls: starttls.is_some(),
        ..TlsFindings::default()
    };
    let mut chain = Vec::new();
    if let Answer::Ssl2 = s.ask(&hello::ssl2_client_hello(), false).await {
        findings.protocols.push(ProtocolSuites {
            version: TlsVersion::Ssl2,
            suites: Vec::new(),
            server_order: None,
        });
    }
    let mut dhe_seen = false;
    for version in [
        TlsVersion::Ssl3,
        TlsVersion::Tls10,
        TlsVersion::Tls11,
        TlsVersion::Tls12,
        TlsVersion::Tls13,
    ] {
        let (found, first) = s.enumerate(version).await;
        if found.is_empty() {
            continue;
        }
        let server_order = s.enforces_order(version, &found).await;
        if let Some(first) = first.filter(|_| version < TlsVersion::Tls13) {
            findings.secure_renegotiation = first.secure_renegotiation;
            findings.ocsp_stapling |= first.stapled;
            if !first.chain.is_empty() {
                chain = first.chain;
            }
            if first.dh_bits.is_some() {
                findings.dh_bits = first.dh_bits;
            }
        }
        let described: Vec<_> = found
            .iter()
            .filter_map(|id| suites::describe(*id))
            .collect();
        dhe_seen |= version < TlsVersion::Tls13
            && described.iter().any(|d| d.key_exchange == KeyExchange::Dhe);
        findings.protocols.push(ProtocolSuites {
            version,
            suites: described,
            server_order,
        });
    }
    let Some(best) = findings.protocols.iter().map(|p| p.version).max() else {
        return Err(match s.last_problem {
            Some(why) => format!("no TLS handshake: {why}"),
            None => "no TLS handshake: the server refused every hello".into(),
        });
    };
    if dhe_seen && findings.dh_bits.is_none() {
        findings.dh_bits = dh_size(&mut s, &findings).await;
    }
    let best_suites: Vec<u16> = findings
        .protocols
        .iter()
        .find(|p| p.version == best)
        .map(|p| p.suites.iter().map(|s| s.id).collect())
        .unwrap_or_default();
    findings.groups = s.groups(best, &best_suites).await;
    findings.fallback_scsv = fallback_scsv(&mut s, &findings).await;
    if chain.is_empty() {
        // TLS 1.3 encrypts the certificates: a real handshake shows them.
        let (served, stapled) = chain_by_rustls(&mut s, probe).await;
        chain = served;
        findings.ocsp_stapling |= stapled;
    }
    findings.key = chain.first().and_then(|leaf| certificate::key_of(leaf));
    findings.handshakes = s.handshakes;
    Ok(Scan { findings, chain })
}

/// The chain a server sends in a full rustls handshake (which verifies
/// nothing, only records), and whether it stapled an OCSP response.
async fn chain_by_rustls(s: &mut Scanner<'_>, probe: &crate::ProbeConfig) -> (Vec<Vec<u8>>, bool) {
    let recorded = Arc::new(std::sync::Mutex::new(crate::tls::Recorded::default()));
    let verifier = crate::tls::webpki_verifier(probe);
    let (Ok(client), Ok(name), Ok(stream)) = (
        crate::tls::recording_client(&verifier, recorded.clone()),
        rustls::pki_types::ServerName::try_from(s.host.to_string()),
        s.open().await,
    ) else {
        return (Vec::new(), false);
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let _ = tokio::time::timeout(s.config.timeout, connector.connect(name, stream)).await;
    let recorded = recorded.lock().unwrap_or_else(|p| p.into_inner());
    let chain = recorded.chain.iter().map(|c| c.to_vec()).collect();
    (chain, recorded.stapled)
}

/// Judges the certificate factors with the probe's trust anchors.
pub fn judge_certificate(scan: &mut Scan, host: &str, probe: &crate::ProbeConfig) {
    let verifier: Arc<rustls::client::WebPkiServerVerifier> = crate::tls::webpki_verifier(probe);
    scan.findings.certificate = certificate::factors(&scan.chain, host, &verifier);
}

/// The DH prime's size, from a hello offering only the DHE suites found.
async fn dh_size(s: &mut Scanner<'_>, findings: &TlsFindings) -> Option<u16> {
    let (version, dhe): (TlsVersion, Vec<u16>) = findings
        .protocols
        .iter()
        .filter(|p| p.version < TlsVersion::Tls13)
        .map(|p| {
            let ids = p
                .suites
                .iter()
                .filter(|s| s.key_exchange == KeyExchange::Dhe)
                .map(|s| s.id)
                .collect();
            (p.version, ids)
        })
        .filter(|(_, ids): &(TlsVersion, Vec<u16>)| !ids.is_empty())
        .max_by_key(|(v, _)| *v)?;
    let hello = s.hello(version, &dhe, &[]);
    match s.offer(hello, true).await {
        Answer::Hello(h) => h.dh_bits,
        _ => None,
    }
}

/// Offers the second-best version with `TLS_FALLBACK_SCSV`: a protected
/// server refuses with `inappropriate_fallback` (RFC 7507).
async fn fallback_scsv(s: &mut Scanner<'_>, findings: &TlsFindings) -> Option<bool> {
    let mut versions: Vec<TlsVersion> = findings.protocols.iter().map(|p| p.version).collect();
    versions.sort();
    let below = *versions.iter().rev().nth(1)?;
    let suites: Vec<u16> = findings
        .protocols
        .iter()
        .find(|p| p.version == below)?
        .suites
        .iter()
        .map(|s| s.id)
        .collect();
    let groups: Vec<u16> = GROUPS.iter().map(|(id, _)| *id).collect();
    let mut hello = s.hello(below, &suites, &groups);
    hello.fallback_scsv = true;
    match s.offer(hello, false).await {
        Answer::Alert(86) => Some(true),
        Answer::Hello(_) => Some(false),
        _ => None,
    }
}

/// Asks a mail server to start TLS, reading its replies line by line.
async fn start_tls(stream: &mut TcpStream, protocol: Starttls) -> Result<(), String> {
    let (read, mut write) = stream.split();
    let mut lines = BufReader::new(read);
    let mut line = String::new();
    // Reads one reply (SMTP's may span lines: `250-…` until `250 …`).
    async fn reply(
        lines: &mut BufReader<tokio::net::tcp::ReadHalf<'_>>,
        line: &mut String,
        done: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        loop {
            line.clear();
            if lines.read_line(line).await.map_err(|e| e.to_string())? == 0 {
                return Err("STARTTLS: the server closed the connection".into());
            }
            if done(line) {
                return Ok(line.clone());
            }
        }
    }
    let smtp_end = |l: &str| l.len() >= 4 && l.as_bytes()[3] == b' ';
    let refused = |what: &str, answer: &str| format!("STARTTLS: {what} answered {}", answer.trim());
    match protocol {
        Starttls::Smtp => {
            let banner = reply(&mut lines, &mut line, smtp_end).await?;
            if !banner.starts_with("220") {
                return Err(refused("the greeting", &banner));
            }
            write
                .write_all(b"EHLO certsentry.invalid\r\n")
                .await
                .map_err(|e| e.to_string())?;
            reply(&mut lines, &mut line, smtp_end).await?;
            write
                .write_all(b"STARTTLS\r\n")
                .await
                .map_err(|e| e.to_string())?;
            let ready = reply(&mut lines, &mut line, smtp_end).await?;
            if !ready.starts_with("220") {
                return Err(refused("STARTTLS", &ready));
            }
        }
        Starttls::Imap => {
            reply(&mut lines, &mut line, |l| l.starts_with("* ")).await?;
            write
                .write_all(b"a1 STARTTLS\r\n")
                .await
                .map_err(|e| e.to_string())?;
            let ready = reply(&mut lines, &mut line, |l| l.starts_with("a1 ")).await?;
            if !ready.starts_with("a1 OK") {
                return Err(refused("STARTTLS", &ready));
            }
        }
        Starttls::Pop3 => {
            reply(&mut lines, &mut line, |_| true).await?;
            write
                .write_all(b"STLS\r\n")
                .await
                .map_err(|e| e.to_string())?;
            let ready = reply(&mut lines, &mut line, |_| true).await?;
            if !ready.starts_with("+OK") {
                return Err(refused("STLS", &ready));
            }
        }
    }
    if !lines.buffer().is_empty() {
        return Err("STARTTLS: the server spoke before the handshake".into());
    }
    Ok(())
}
