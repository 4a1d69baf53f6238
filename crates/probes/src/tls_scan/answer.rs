//! Reading the server's first flight: records are reassembled (a
//! certificate chain often spans several), and the ServerHello,
//! Certificate and ServerKeyExchange messages are read with `tls-parser`.
//! The scan never finishes a handshake; it only listens to what the
//! server chose.

use std::time::Duration;

use certsentry_domain::tls::TlsVersion;
use tls_parser::{TlsMessage, TlsMessageHandshake};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The random of a HelloRetryRequest (RFC 8446, 4.1.3).
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// Past this, a first flight is not what we asked for.
const MAX_FLIGHT: usize = 256 * 1024;

/// What the server said to one hello.
#[derive(Debug)]
pub enum Answer {
    Hello(ServerHello),
    /// A TLS alert, by its description code (40 handshake_failure, 70
    /// protocol_version, 86 inappropriate_fallback, …).
    Alert(u8),
    /// An SSL 2.0 SERVER-HELLO.
    Ssl2,
    /// Closed, timed out, or not TLS.
    Nothing(String),
}

#[derive(Debug, Default)]
pub struct ServerHello {
    pub version: Option<TlsVersion>,
    pub suite: u16,
    /// A HelloRetryRequest: TLS 1.3 is spoken, with `group`.
    pub retry: bool,
    /// The key share's group (TLS 1.3) or the ECDHE curve (TLS 1.2 and
    /// older, from the ServerKeyExchange).
    pub group: Option<u16>,
    pub secure_renegotiation: bool,
    pub stapled: bool,
    /// DER certificates as sent, leaf first (TLS 1.2 and older only: TLS
    /// 1.3 encrypts them).
    pub chain: Vec<Vec<u8>>,
    pub dh_bits: Option<u16>,
}

/// Reads until the server has said enough: its ServerHello (and, with
/// `details`, the rest of a TLS 1.2 flight up to ServerHelloDone), an
/// alert, or nothing.
pub async fn read_answer<S: AsyncRead + Unpin>(
    stream: &mut S,
    details: bool,
    timeout: Duration,
) -> Answer {
    let mut raw = Vec::new();
    let mut handshake = Vec::new();
    let mut hello: Option<ServerHello> = None;
    loop {
        // One record at a time: a 5-byte header, then its body.
        while raw.len() < 5 || raw.len() < 5 + record_len(&raw) {
            if raw.len() >= 3 && raw[0] & 0x80 != 0 && raw[2] == 4 {
                return Answer::Ssl2;
            }
            let mut chunk = [0u8; 16 * 1024];
            let read = tokio::time::timeout(timeout, stream.read(&mut chunk)).await;
            match read {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => {
                    return hello.map_or_else(
                        || Answer::Nothing("the server closed the connection".into()),
                        Answer::Hello,
                    );
                }
                Ok(Ok(n)) => raw.extend_from_slice(&chunk[..n]),
            }
            if raw.len() > MAX_FLIGHT {
                return Answer::Nothing("the first flight is too large".into());
            }
        }
        if raw[0] & 0x80 != 0 && raw[2] == 4 {
            return Answer::Ssl2;
        }
        let len = record_len(&raw);
        let record: Vec<u8> = raw.drain(..5 + len).collect();
        match record[0] {
            21 if record.len() >= 7 => return Answer::Alert(record[6]),
            22 => handshake.extend_from_slice(&record[5..]),
            // ChangeCipherSpec (TLS 1.3 compatibility) and encrypted data
            // follow a TLS 1.3 ServerHello: nothing more to read in clear.
            20 | 23 if hello.is_some() => return Answer::Hello(hello.expect("checked")),
            _ => return Answer::Nothing(format!("unexpected record type {}", record[0])),
        }
        while handshake.len() >= 4 {
            let len = u32::from_be_bytes([0, handshake[1], handshake[2], handshake[3]]) as usize;
            if handshake.len() < 4 + len {
                break;
            }
            let message: Vec<u8> = handshake.drain(..4 + len).collect();
            match read_message(&message, &mut hello) {
                Step::More => {}
                Step::Done => {
                    return hello
                        .map_or_else(|| Answer::Nothing("no ServerHello".into()), Answer::Hello);
                }
                Step::Invalid(why) => return Answer::Nothing(why),
            }
            let Some(h) = &hello else { continue };
            let tls13 = h.version == Some(TlsVersion::Tls13) || h.retry;
            if !details || tls13 {
                return Answer::Hello(hello.expect("checked"));
            }
        }
    }
}

fn record_len(raw: &[u8]) -> usize {
    if raw.len() < 5 {
        return 0;
    }
    usize::from(u16::from_be_bytes([raw[3], raw[4]]))
}

enum Step {
    More,
    Done,
    Invalid(String),
}

fn read_message(message: &[u8], hello: &mut Option<ServerHello>) -> Step {
    match message[0] {
        2 => match tls_parser::parse_tls_message_handshake(message) {
            Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) => {
                let mut found = ServerHello {
                    version: TlsVersion::from_wire(sh.version.0),
                    suite: sh.cipher.0,
                    retry: sh.random == HELLO_RETRY_RANDOM,
                    ..ServerHello::default()
                };
                read_extensions(sh.ext.unwrap_or_default(), &mut found);
                *hello = Some(found);
                Step::More
            }
            _ => Step::Invalid("an unreadable ServerHello".into()),
        },
        11 => {
            if let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::Certificate(c)))) =
                tls_parser::parse_tls_message_handshake(message)
                && let Some(h) = hello
            {
                h.chain = c.cert_chain.iter().map(|c| c.data.to_vec()).collect();
            }
            Step::More
        }
        12 => {
            if let Some(h) = hello {
                read_key_exchange(&message[4..], h);
            }
            Step::More
        }
        22 => {
            if let Some(h) = hello {
                h.stapled = true;
            }
            Step::More
        }
        14 => Step::Done,
        _ => Step::More,
    }
}

/// The ServerHello's extensions, read raw: they are short and fixed.
fn read_extensions(mut ext: &[u8], hello: &mut ServerHello) {
    while ext.len() >= 4 {
        let kind = u16::from_be_bytes([ext[0], ext[1]]);
        let len = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
        let Some(data) = ext.get(4..4 + len) else {
            return;
        };
        match kind {
            0x002B if data.len() == 2 => {
                hello.version = TlsVersion::from_wire(u16::from_be_bytes([data[0], data[1]]));
            }
            0x0033 if data.len() >= 2 => {
                hello.group = Some(u16::from_be_bytes([data[0], data[1]]));
            }
            0xFF01 => hello.secure_renegotiation = true,
            _ => {}
        }
        ext = &ext[4 + len..];
    }
}

/// The DH prime's size, or the ECDHE curve (`named_curve`, type 3).
fn read_key_exchange(params: &[u8], hello: &mut ServerHello) {
    let kex = crate::tls_scan::suites::describe(hello.suite).map(|s| s.key_exchange);
    match kex {
        Some(certsentry_domain::tls::KeyExchange::Dhe) => {
            if let Ok((_, dh)) = tls_parser::parse_dh_params(params) {
                let p = dh.dh_p;
                let leading = p.iter().take_while(|b| **b == 0).count();
                let significant = &p[leading..];
                let bits = significant
                    .first()
                    .map_or(0, |b| (significant.len() * 8) as u32 - b.leading_zeros());
                hello.dh_bits = Some(bits as u16);
            }
        }
        Some(certsentry_domain::tls::KeyExchange::Ecdhe) if params.len() >= 3 && params[0] == 3 => {
            hello.group = Some(u16::from_be_bytes([params[1], params[2]]));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Answer {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let mut reader = bytes;
        runtime.block_on(read_answer(&mut reader, true, Duration::from_secs(1)))
    }

    #[test]
    fn an_alert_and_a_closed_connection_are_answers() {
        assert!(matches!(read(&[21, 3, 3, 0, 2, 2, 40]), Answer::Alert(40)));
        assert!(matches!(read(&[]), Answer::Nothing(_)));
        assert!(matches!(read(&[0x80, 0x2e, 4, 0, 1]), Answer::Ssl2));
    }

    /// Whatever a server sends, the reader answers and never panics: a
    /// hostile or broken server is just a server that said nothing useful.
    #[test]
    fn garbage_never_panics() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 96) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Often a plausible record header, so the parsers are reached.
            if bytes.len() > 9 && next() % 2 == 0 {
                bytes[0] = 22;
                bytes[1] = 3;
                bytes[2] = 3;
                let body = (bytes.len() - 5) as u16;
                bytes[3..5].copy_from_slice(&body.to_be_bytes());
                bytes[5] = [2, 11, 12, 22, 14][(next() % 5) as usize];
                let message = (bytes.len() - 9) as u32;
                bytes[6..9].copy_from_slice(&message.to_be_bytes()[1..]);
            }
            let _ = read(&bytes);
        }
    }
}
