//! What arrives at a reporting address (a mail, a zip, a gzip, anything):
//! extraction must find reports or refuse with a reason, never panic, and
//! stay within its decompression limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = certsentry_dmarc::Limits {
        max_decompressed_bytes: 4 * 1024 * 1024,
        ..Default::default()
    };
    let _ = certsentry_dmarc::extract(data, &limits);
});
