//! DNS names as CT matching compares them: lowercase, no trailing dot,
//! IDNs in punycode (the ASCII form certificates carry).

/// Normalizes a DNS name or a wildcard (`*.Example.ORG.` → `*.example.org`).
/// `None` for something that is not a DNS name (an IP address, garbage).
pub fn normalize(name: &str) -> Option<String> {
    let name = name.trim().trim_end_matches('.');
    if let Some(plain) = plain_ascii(name) {
        return Some(plain);
    }
    if has_stray_ascii(name) {
        return None;
    }
    full_path(name)
}

/// Whether `name` holds an ASCII character that no DNS name keeps: not a
/// letter, digit, `-`, `_`, `.` or `*`, nor `%` (which URL host parsing
/// decodes). IDNA processing leaves such a character in place, so the full
/// path would refuse the name anyway; refusing it here skips that work. It
/// is the common case of a subject common name that is no name at all
/// ("Fortinet Self Signed", "rcgen self signed cert"), read for every CT
/// entry that carries one.
fn has_stray_ascii(name: &str) -> bool {
    name.bytes().any(|b| {
        b.is_ascii()
            && !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'*' | b'%'))
    })
}

/// Normalizes what [`plain_ascii`] could not decide: IDNs, punycode,
/// percent-escapes, addresses.
fn full_path(name: &str) -> Option<String> {
    let (wildcard, rest) = match name.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    if rest.is_empty() || rest.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let ascii = match url::Host::parse(rest).ok()? {
        url::Host::Domain(d) => d,
        _ => return None,
    };
    let valid = ascii.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    valid.then(|| {
        if wildcard {
            format!("*.{ascii}")
        } else {
            ascii
        }
    })
}

/// The common case without IDNA processing: an ASCII name of valid labels
/// (a leading `*.` allowed). `None` when the full path must decide. One
/// pass over the bytes: it runs for every name of every CT entry.
fn plain_ascii(name: &str) -> Option<String> {
    let rest = name.strip_prefix("*.").unwrap_or(name).as_bytes();
    let mut label_len = 0usize;
    let mut label_numeric = true;
    for (at, &byte) in rest.iter().enumerate() {
        if byte == b'.' {
            if label_len == 0 {
                return None;
            }
            label_len = 0;
            label_numeric = true;
            continue;
        }
        if !(byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_') {
            return None;
        }
        // A punycode label needs IDNA's checks.
        if label_len == 0 && rest[at..].starts_with(b"xn--") {
            return None;
        }
        label_len += 1;
        label_numeric &= byte.is_ascii_digit();
        if label_len > 63 {
            return None;
        }
    }
    // An empty last label, or an all-numeric one that may make an IPv4
    // address: the full path decides.
    if label_len == 0 || label_numeric {
        return None;
    }
    Some(name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn lowercase_no_trailing_dot_punycode() {
        assert_eq!(
            normalize("WWW.Example.ORG.").as_deref(),
            Some("www.example.org")
        );
        assert_eq!(normalize("*.Example.org").as_deref(), Some("*.example.org"));
        assert_eq!(
            normalize("bücher.example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(normalize("192.0.2.1"), None);
        assert_eq!(normalize("exa mple.org"), None);
        assert_eq!(normalize(""), None);
        assert_eq!(normalize("*."), None);
        assert_eq!(normalize("a..b"), None);
        assert_eq!(
            normalize("xn--bcher-kva.Example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(normalize("a.b.10").as_deref(), None, "may be an address");
        assert_eq!(
            normalize("Host_1.Example").as_deref(),
            Some("host_1.example")
        );
        assert_eq!(normalize(&format!("{}.example", "a".repeat(64))), None);
        assert_eq!(normalize("*.*.example"), None);
    }

    /// Every name the shortcut refuses, the full path refuses too: each
    /// ASCII character, alone and among letters, with and without IDN and
    /// wildcard company.
    #[test]
    fn stray_ascii_is_refused_as_the_full_path_refuses_it() {
        let mut refused = 0;
        for byte in 0u8..0x80 {
            let c = byte as char;
            for name in [
                format!("a{c}b.example"),
                format!("{c}.example"),
                format!("*.bü{c}cher.example"),
                format!("Fortinet{c}Self Signed"),
                format!("example.org{c}"),
            ] {
                let name = name.trim().trim_end_matches('.');
                if super::has_stray_ascii(name) {
                    refused += 1;
                    assert_eq!(super::full_path(name), None, "{name:?}");
                    assert_eq!(normalize(name), None, "{name:?}");
                }
            }
        }
        assert!(refused > 300, "{refused}");
        assert_eq!(normalize("exa%6Dple.org").as_deref(), Some("example.org"));
    }
}
