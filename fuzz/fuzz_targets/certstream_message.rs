//! certstream JSON: any text must parse or be refused, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(certsentry_ct::certstream::Message::Entry(entry)) =
            certsentry_ct::certstream::parse_message(text)
            && let Ok(parsed) = certsentry_ct::issuance::parse_stream_entry(&entry)
        {
            let _ = certsentry_ct::issuance::Issuance::from_stream_entry(&entry, parsed);
        }
    }
});
