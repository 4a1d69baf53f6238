//! certstream JSON: any text must parse or be refused, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(certsentry_ct_parse::certstream::Message::Entry(entry)) =
            certsentry_ct_parse::certstream::parse_message(text)
            && let Ok(parsed) = certsentry_ct_parse::issuance::parse_stream_entry(&entry)
        {
            let _ = certsentry_ct_parse::issuance::Issuance::from_stream_entry(&entry, parsed);
        }
    }
});
