use super::*;
use crate::tls::{
    CertificateKey, Cipher, KeyExchange, KeyKind, ProtocolSuites, Suite, TlsFindings, TlsVersion,
};

fn suite(id: u16, kex: KeyExchange, cipher: Cipher, bits: u16, aead: bool) -> Suite {
    Suite {
        id,
        name: format!("suite {id:04x}"),
        key_exchange: kex,
        cipher,
        bits,
        aead,
        cbc: !aead && cipher != Cipher::Rc4,
        export: false,
    }
}

fn tls13() -> ProtocolSuites {
    ProtocolSuites {
        version: TlsVersion::Tls13,
        suites: vec![
            suite(0x1302, KeyExchange::Tls13, Cipher::Aes, 256, true),
            suite(0x1301, KeyExchange::Tls13, Cipher::Aes, 128, true),
        ],
        server_order: Some(true),
    }
}

fn tls12(suites: Vec<Suite>) -> ProtocolSuites {
    ProtocolSuites {
        version: TlsVersion::Tls12,
        suites,
        server_order: Some(true),
    }
}

fn ecdhe_gcm() -> Vec<Suite> {
    vec![
        suite(0xC030, KeyExchange::Ecdhe, Cipher::Aes, 256, true),
        suite(0xC02F, KeyExchange::Ecdhe, Cipher::Aes, 128, true),
    ]
}

fn modern() -> TlsFindings {
    TlsFindings {
        protocols: vec![tls12(ecdhe_gcm()), tls13()],
        key: Some(CertificateKey {
            kind: KeyKind::Rsa,
            bits: 2048,
        }),
        secure_renegotiation: true,
        fallback_scsv: Some(true),
        hsts_max_age: Some(31_536_000),
        ..TlsFindings::default()
    }
}

fn codes(g: &Grade) -> Vec<&str> {
    g.reasons
        .iter()
        .filter(|r| r.cap.is_some())
        .map(|r| r.code.as_str())
        .collect()
}

#[test]
fn a_modern_server_with_hsts_earns_a_plus() {
    let g = grade(&modern()).unwrap();
    assert_eq!(g.grade, "A+", "{g:#?}");
    assert_eq!(
        (g.protocol_score, g.key_exchange_score, g.cipher_score),
        (100, 90, 90)
    );
    assert_eq!(g.score, 93);
    assert!(codes(&g).is_empty(), "{g:#?}");
}

#[test]
fn without_hsts_it_is_a_with_the_reason() {
    let g = grade(&TlsFindings {
        hsts_max_age: None,
        ..modern()
    })
    .unwrap();
    assert_eq!(g.grade, "A");
    assert_eq!(codes(&g), ["no_hsts"]);
    let short = grade(&TlsFindings {
        hsts_max_age: Some(86_400),
        ..modern()
    })
    .unwrap();
    assert_eq!(
        (short.grade.as_str(), codes(&short)),
        ("A", vec!["hsts_short"])
    );
}

#[test]
fn tls13_only_counts_as_fallback_protected() {
    let g = grade(&TlsFindings {
        protocols: vec![tls13()],
        fallback_scsv: None,
        secure_renegotiation: false,
        ..modern()
    })
    .unwrap();
    assert_eq!(g.grade, "A+", "{g:#?}");
}

#[test]
fn warnings_make_a_minus() {
    let g = grade(&TlsFindings {
        protocols: vec![tls12(ecdhe_gcm())],
        ..modern()
    })
    .unwrap();
    assert_eq!(g.grade, "A-");
    assert_eq!(codes(&g), ["no_tls13"]);
}

#[test]
fn caps_name_their_cause() {
    let mut tls10 = modern();
    tls10.protocols.insert(
        0,
        ProtocolSuites {
            version: TlsVersion::Tls10,
            suites: vec![suite(0xC013, KeyExchange::Ecdhe, Cipher::Aes, 128, false)],
            server_order: None,
        },
    );
    let g = grade(&tls10).unwrap();
    assert_eq!(g.grade, "B");
    assert!(g.reasons.contains(&Reason {
        code: "tls10_offered".into(),
        cap: Some("B".into()),
        message: "TLS 1.0 is offered".into()
    }));

    let rsa_only = grade(&TlsFindings {
        protocols: vec![tls12(vec![suite(
            0x009C,
            KeyExchange::Rsa,
            Cipher::Aes,
            128,
            true,
        )])],
        ..modern()
    })
    .unwrap();
    assert_eq!(rsa_only.grade, "B");
    assert!(codes(&rsa_only).contains(&"no_forward_secrecy"));

    let old = grade(&TlsFindings {
        protocols: vec![ProtocolSuites {
            version: TlsVersion::Tls11,
            suites: vec![suite(0xC013, KeyExchange::Ecdhe, Cipher::Aes, 128, false)],
            server_order: None,
        }],
        ..modern()
    })
    .unwrap();
    assert_eq!(old.grade, "C");
    assert!(codes(&old).contains(&"no_tls12"));

    let small_key = grade(&TlsFindings {
        key: Some(CertificateKey {
            kind: KeyKind::Rsa,
            bits: 1000,
        }),
        ..modern()
    })
    .unwrap();
    assert_eq!(small_key.grade, "F");
}

#[test]
fn trust_and_names_replace_the_letter_but_keep_it() {
    let mut untrusted = modern();
    untrusted.certificate.self_signed = true;
    let g = grade(&untrusted).unwrap();
    assert_eq!(
        (g.grade.as_str(), g.grade_ignoring_trust.as_str()),
        ("T", "A+")
    );
    let mut mismatch = modern();
    mismatch.certificate.hostname_mismatch = true;
    assert_eq!(grade(&mismatch).unwrap().grade, "M");
    assert_eq!(grade(&TlsFindings::default()), None);
}
