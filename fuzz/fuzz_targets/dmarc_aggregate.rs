//! Aggregate report XML: any bytes must parse into a summary or be refused,
//! never panic; the sums never exceed what the rows said.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(summary) = certsentry_dmarc::parse_aggregate(data, Some("example.net")) {
        assert!(summary.fail_count <= summary.message_count);
        let per_source: u64 = summary.sources.values().map(|t| t.pass + t.fail).sum();
        assert_eq!(per_source, summary.message_count);
    }
});
