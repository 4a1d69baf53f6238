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

/// The caps no fixture on this machine can show (its OpenSSL has no SSL
/// 3.0, RC4 or 3DES): each one, on an otherwise modern server.
#[test]
fn legacy_caps_that_need_legacy_servers() {
    let with = |version: TlsVersion, extra: Suite| {
        let mut findings = modern();
        match findings.protocols.iter_mut().find(|p| p.version == version) {
            Some(p) => p.suites.push(extra),
            None => findings.protocols.insert(
                0,
                ProtocolSuites {
                    version,
                    suites: vec![extra],
                    server_order: None,
                },
            ),
        }
        grade(&findings).unwrap()
    };
    let rc4 = suite(0x0005, KeyExchange::Rsa, Cipher::Rc4, 128, false);
    let triple_des = suite(0x000A, KeyExchange::Rsa, Cipher::TripleDes, 112, false);
    let anon = suite(0x0034, KeyExchange::Anonymous, Cipher::Aes, 128, false);
    let null = suite(0x0002, KeyExchange::Rsa, Cipher::Null, 0, false);
    let export = Suite {
        export: true,
        ..suite(0x0003, KeyExchange::Rsa, Cipher::Rc4, 40, false)
    };
    for (g, letter, code) in [
        (with(TlsVersion::Tls12, rc4.clone()), "F", "rc4_modern"),
        (with(TlsVersion::Tls10, rc4), "C", "rc4_offered"),
        (with(TlsVersion::Tls12, triple_des), "C", "3des_modern"),
        (with(TlsVersion::Tls12, anon), "F", "anonymous_suites"),
        (with(TlsVersion::Tls12, null), "F", "null_suites"),
        (with(TlsVersion::Tls10, export), "F", "export_suites"),
        (
            with(
                TlsVersion::Ssl3,
                suite(0x002F, KeyExchange::Rsa, Cipher::Aes, 128, false),
            ),
            "C",
            "ssl3_offered",
        ),
    ] {
        assert_eq!(g.grade, letter, "{code}: {g:#?}");
        assert!(codes(&g).contains(&code), "{code}: {g:#?}");
    }
    let ssl2 = TlsFindings {
        protocols: vec![ProtocolSuites {
            version: TlsVersion::Ssl2,
            suites: Vec::new(),
            server_order: None,
        }],
        ..modern()
    };
    let g = grade(&ssl2).unwrap();
    assert_eq!(g.grade, "F");
    assert!(codes(&g).contains(&"ssl2_offered"), "{g:#?}");
}

#[test]
fn mozilla_profiles_name_their_differences() {
    let profiles = crate::tls::mozilla::profiles(&modern());
    assert!(profiles.intermediate.conforms, "{profiles:#?}");
    assert!(!profiles.modern.conforms);
    assert_eq!(
        profiles.modern.differences[0],
        "TLS 1.2 is offered; modern is TLS 1.3 only"
    );
}
