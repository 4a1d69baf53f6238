//! RFC 6962 entries: any `leaf_input`/`extra_data` split must parse or be
//! refused, never panic; certificate facts likewise for any DER. Facts read
//! from a TBSCertificate walked for its two name fields are those of
//! x509-parser's whole parse whenever that parse succeeds, and their hash is
//! `tbs_sha256`'s.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| *b as usize).min(data.len());
    let (leaf, extra) = data.split_at(split);
    let (leaf, extra) = (
        bytes::Bytes::copy_from_slice(leaf),
        bytes::Bytes::copy_from_slice(extra),
    );
    if let Ok(entry) = certsentry_ct_parse::leaf::parse_entry(&leaf, &extra) {
        if let Ok(parsed) = certsentry_ct_parse::issuance::parse_log_entry(&entry) {
            let _ = certsentry_ct_parse::issuance::Issuance::from_log_entry(
                &entry,
                parsed,
                Default::default(),
            );
        }
    }
    let _ = certsentry_ct_parse::facts::facts(data);
    let walked = certsentry_ct_parse::facts::tbs_facts(data);
    let hashed = certsentry_ct_parse::tbs::tbs_sha256(data);
    if let Ok(facts) = &walked {
        // The walk hashes what it walked; that must be the hash on its own.
        let hashed = hashed.expect("facts came with a hash the hash alone refused");
        let hex: String = hashed.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(facts.tbs_sha256, hex);
    }
    if let (Ok(full), Some(_)) = (certsentry_ct_parse::facts::describe_tbs_der(data), hashed) {
        let walked = walked.expect("x509-parser read this TBSCertificate; the walk must too");
        assert_eq!(walked.dns_names, full.dns_names);
        assert_eq!(walked.is_precert, full.is_precert);
    }
});
