//! ClientHellos built by hand: rustls (rightly) cannot offer SSL 3.0, TLS
//! 1.0 or legacy suites, so a grader has to write the bytes itself. Each
//! hello offers one protocol version and a chosen list of suites and
//! groups, which is all the elimination scan needs. Nothing after the
//! server's first flight is ever sent, so the key shares need only be the
//! right size (any 32 bytes are a valid X25519 public key).

use certsentry_domain::tls::TlsVersion;

/// Signals "this is a fallback connection" (RFC 7507).
pub const FALLBACK_SCSV: u16 = 0x5600;
/// Signals secure renegotiation support without the extension (RFC 5746).
pub const RENEGOTIATION_SCSV: u16 = 0x00FF;

pub const X25519: u16 = 0x001D;

/// Groups offered, with their IANA names: the elliptic curves, the
/// finite-field groups and the post-quantum hybrid.
pub const GROUPS: [(u16, &str); 10] = [
    (0x001D, "x25519"),
    (0x0017, "secp256r1"),
    (0x0018, "secp384r1"),
    (0x0019, "secp521r1"),
    (0x001E, "x448"),
    (0x11EC, "X25519MLKEM768"),
    (0x0100, "ffdhe2048"),
    (0x0101, "ffdhe3072"),
    (0x0102, "ffdhe4096"),
    (0x0103, "ffdhe6144"),
];

/// Every signature scheme a server might need, SHA-1 included, so the
/// choice of suites is never narrowed by them.
const SIGNATURE_SCHEMES: [u16; 16] = [
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080A, 0x080B, 0x0401,
    0x0501, 0x0601, 0x0201, 0x0203,
];

/// What one hello offers.
#[derive(Debug, Clone)]
pub struct Hello<'a> {
    pub version: TlsVersion,
    pub suites: &'a [u16],
    pub groups: &'a [u16],
    /// TLS 1.3: the group of the one key share sent (`None`: no share, so
    /// a server that speaks TLS 1.3 answers with a HelloRetryRequest
    /// naming the group it wants).
    pub key_share: Option<u16>,
    pub server_name: Option<&'a str>,
    pub fallback_scsv: bool,
}

fn u16_bytes(value: u16) -> [u8; 2] {
    value.to_be_bytes()
}

fn with_u16_len(body: &[u8]) -> Vec<u8> {
    let mut out = u16_bytes(body.len() as u16).to_vec();
    out.extend_from_slice(body);
    out
}

fn extension(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut out = u16_bytes(kind).to_vec();
    out.extend(with_u16_len(body));
    out
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // Uniqueness is all that matters here, not secrecy.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut state = seed as u64 ^ 0x9E37_79B9_7F4A_7C15;
    for byte in &mut out {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    out
}

/// The whole first record: a TLS handshake record holding the hello.
pub fn client_hello(hello: &Hello<'_>) -> Vec<u8> {
    let tls13 = hello.version == TlsVersion::Tls13;
    let legacy_version = if tls13 {
        TlsVersion::Tls12.wire()
    } else {
        hello.version.wire()
    };
    let mut body = u16_bytes(legacy_version).to_vec();
    body.extend_from_slice(&random_bytes::<32>());
    // A session id, as TLS 1.3 middlebox compatibility mode sends.
    body.push(32);
    body.extend_from_slice(&random_bytes::<32>());
    let mut suites: Vec<u8> = hello.suites.iter().flat_map(|s| u16_bytes(*s)).collect();
    if hello.fallback_scsv {
        suites.extend(u16_bytes(FALLBACK_SCSV));
    }
    if hello.version == TlsVersion::Ssl3 {
        suites.extend(u16_bytes(RENEGOTIATION_SCSV));
    }
    body.extend(with_u16_len(&suites));
    body.extend([1, 0]); // compression: null only
    if hello.version != TlsVersion::Ssl3 {
        body.extend(with_u16_len(&extensions(hello)));
    }
    let mut handshake = vec![1]; // client_hello
    handshake.extend(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend(body);
    let record_version = if hello.version == TlsVersion::Ssl3 {
        0x0300
    } else {
        0x0301
    };
    let mut record = vec![22];
    record.extend(u16_bytes(record_version));
    record.extend(with_u16_len(&handshake));
    record
}

fn extensions(hello: &Hello<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(name) = hello
        .server_name
        .filter(|n| n.parse::<std::net::IpAddr>().is_err())
    {
        let mut entry = vec![0]; // host_name
        entry.extend(with_u16_len(name.as_bytes()));
        out.extend(extension(0x0000, &with_u16_len(&entry)));
    }
    let groups: Vec<u8> = hello.groups.iter().flat_map(|g| u16_bytes(*g)).collect();
    out.extend(extension(0x000A, &with_u16_len(&groups)));
    out.extend(extension(0x000B, &[1, 0])); // ec_point_formats: uncompressed
    let schemes: Vec<u8> = SIGNATURE_SCHEMES
        .iter()
        .flat_map(|s| u16_bytes(*s))
        .collect();
    out.extend(extension(0x000D, &with_u16_len(&schemes)));
    out.extend(extension(0x0005, &[1, 0, 0, 0, 0])); // status_request: OCSP
    out.extend(extension(0xFF01, &[0])); // renegotiation_info, empty
    out.extend(extension(0x0017, &[])); // extended_master_secret
    out.extend(extension(0x0023, &[])); // session_ticket
    if hello.version == TlsVersion::Tls13 {
        out.extend(extension(0x002B, &[2, 0x03, 0x04])); // supported_versions: 1.3
        out.extend(extension(0x002D, &[1, 1])); // psk_key_exchange_modes: psk_dhe_ke
        let mut shares = Vec::new();
        if let Some(group) = hello.key_share {
            let key: Vec<u8> = match group {
                X25519 => random_bytes::<32>().to_vec(),
                _ => Vec::new(),
            };
            if !key.is_empty() {
                shares.extend(u16_bytes(group));
                shares.extend(with_u16_len(&key));
            }
        }
        out.extend(extension(0x0033, &with_u16_len(&shares)));
    }
    out
}

/// An SSL 2.0 CLIENT-HELLO offering its seven cipher kinds; only an SSL
/// 2.0 server answers it with a SERVER-HELLO.
pub fn ssl2_client_hello() -> Vec<u8> {
    const KINDS: [[u8; 3]; 7] = [
        [0x01, 0x00, 0x80],
        [0x02, 0x00, 0x80],
        [0x03, 0x00, 0x80],
        [0x04, 0x00, 0x80],
        [0x05, 0x00, 0x80],
        [0x06, 0x00, 0x40],
        [0x07, 0x00, 0xC0],
    ];
    let challenge = random_bytes::<16>();
    let mut body = vec![1, 0x00, 0x02]; // CLIENT-HELLO, version 2
    body.extend(u16_bytes((KINDS.len() * 3) as u16));
    body.extend(u16_bytes(0)); // session id length
    body.extend(u16_bytes(challenge.len() as u16));
    for kind in KINDS {
        body.extend(kind);
    }
    body.extend(challenge);
    let mut out = u16_bytes(0x8000 | body.len() as u16).to_vec();
    out.extend(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hello_parses_back_as_what_it_offers() {
        let record = client_hello(&Hello {
            version: TlsVersion::Tls13,
            suites: &[0x1301, 0x1302],
            groups: &[X25519],
            key_share: Some(X25519),
            server_name: Some("example.com"),
            fallback_scsv: true,
        });
        let (_, parsed) = tls_parser::parse_tls_plaintext(&record).unwrap();
        let tls_parser::TlsMessage::Handshake(tls_parser::TlsMessageHandshake::ClientHello(hello)) =
            &parsed.msg[0]
        else {
            panic!("not a client hello: {parsed:?}");
        };
        assert_eq!(hello.version.0, 0x0303);
        let suites: Vec<u16> = hello.ciphers.iter().map(|c| c.0).collect();
        assert_eq!(suites, [0x1301, 0x1302, FALLBACK_SCSV]);
        let (_, extensions) =
            tls_parser::parse_tls_client_hello_extensions(hello.ext.unwrap()).unwrap();
        assert!(extensions.iter().any(
            |e| matches!(e, tls_parser::TlsExtension::SNI(names) if names[0].1 == b"example.com")
        ));
        assert!(extensions.iter().any(
            |e| matches!(e, tls_parser::TlsExtension::SupportedVersions(v) if v[0].0 == 0x0304)
        ));
    }
}
