//! The cipher suites a scan offers, from `tls-parser`'s copy of the IANA
//! registry, described in the grade's terms.

use certsentry_domain::tls::{Cipher, KeyExchange, Suite, TlsVersion};
use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac};

/// One suite in the grade's terms, from its IANA id.
pub fn describe(id: u16) -> Option<Suite> {
    let suite = tls_parser::TlsCipherSuite::from_id(id)?;
    let anonymous = suite.au == TlsCipherAu::Null
        && !matches!(
            suite.kx,
            TlsCipherKx::Null | TlsCipherKx::Tls13 | TlsCipherKx::Psk
        );
    let key_exchange = match suite.kx {
        _ if anonymous => KeyExchange::Anonymous,
        TlsCipherKx::Rsa => KeyExchange::Rsa,
        TlsCipherKx::Dhe => KeyExchange::Dhe,
        TlsCipherKx::Ecdhe => KeyExchange::Ecdhe,
        TlsCipherKx::Dh | TlsCipherKx::Ecdh => KeyExchange::Dh,
        TlsCipherKx::Aecdh => KeyExchange::Anonymous,
        TlsCipherKx::Tls13 => KeyExchange::Tls13,
        _ => KeyExchange::Other,
    };
    let cipher = match suite.enc {
        TlsCipherEnc::Null => Cipher::Null,
        TlsCipherEnc::Rc4 => Cipher::Rc4,
        TlsCipherEnc::Des => Cipher::Des,
        TlsCipherEnc::TripleDes => Cipher::TripleDes,
        TlsCipherEnc::Aes => Cipher::Aes,
        TlsCipherEnc::Chacha20_Poly1305 => Cipher::Chacha20,
        TlsCipherEnc::Camellia => Cipher::Camellia,
        TlsCipherEnc::Aria => Cipher::Aria,
        _ => Cipher::Other,
    };
    let export = suite.name.contains("EXPORT");
    let bits = match cipher {
        Cipher::Null => 0,
        // Three 56-bit keys meet in the middle at 112.
        Cipher::TripleDes => 112,
        _ if export => suite.enc_size.min(40),
        _ => suite.enc_size,
    };
    Some(Suite {
        id,
        name: suite.name.to_string(),
        key_exchange,
        cipher,
        bits,
        aead: suite.mac == TlsCipherMac::Aead,
        cbc: suite.enc_mode == TlsCipherEncMode::Cbc,
        export,
    })
}

/// Every suite worth offering on `version`, strongest kinds first so a
/// typical server's suites are found in the first hello of 128.
pub fn candidates(version: TlsVersion) -> Vec<u16> {
    let mut ids: Vec<u16> = tls_parser::CIPHERS
        .keys()
        .copied()
        .filter(|id| {
            let tls13 = (0x1301..=0x1305).contains(id);
            // The signalling values are not suites.
            let signal = *id == 0x00FF || *id == 0x5600;
            !signal && (tls13 == (version == TlsVersion::Tls13))
        })
        .filter(|id| {
            tls_parser::TlsCipherSuite::from_id(*id).is_some_and(|s| {
                !matches!(
                    s.kx,
                    TlsCipherKx::Psk | TlsCipherKx::Krb5 | TlsCipherKx::Srp | TlsCipherKx::Eccpwd
                )
            })
        })
        .collect();
    ids.sort_by_key(|id| {
        let suite = describe(*id).expect("listed from the registry");
        let kex_rank = match suite.key_exchange {
            KeyExchange::Ecdhe | KeyExchange::Tls13 => 0,
            KeyExchange::Dhe => 1,
            KeyExchange::Rsa => 2,
            _ => 3,
        };
        (kex_rank, !suite.aead, *id)
    });
    ids
}
