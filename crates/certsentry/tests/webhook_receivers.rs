//! Our signatures, checked by the receivers' own code: PyPI's
//! `standardwebhooks` and `svix` libraries (in a virtualenv this test
//! creates), the API reference's Python `verify` function, and the AlertifyPro
//! Python snippet. Also `certsentry webhook verify` on the same requests.

mod python;

use std::process::Command;

use certsentry_domain::channel::SigningScheme;
use certsentry_notify::sign::{SignInput, sign};
use serde_json::json;

/// The receivers' own Python, with the standard library only: the API
/// reference's `verify` function and the HMAC reference's `sha256=`
/// snippet. Runs wherever python3 does, PyPI or not.
const STDLIB_CHECKS: &str = r#"
import hashlib, hmac, json, sys, time

cases = json.load(open(sys.argv[1]))

# The API reference's verify function ("Verifying signatures").
def verify(secret: str, timestamp: str, raw_body: bytes, signature: str) -> bool:
    if abs(time.time() - int(timestamp)) > 300:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)

# The AlertifyPro snippet's check.
def alertifypro(secret: bytes, body: bytes, signature: str) -> bool:
    expected = 'sha256=' + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, expected)

checked = 0
for case in cases:
    body = case["body"].encode()
    headers = {k.lower(): v for k, v in case["headers"]}
    if case["scheme"] == "certsentry":
        assert verify(case["secret"], headers["x-certsentry-timestamp"], body, headers["x-certsentry-signature"]), case
        assert not verify(case["secret"], headers["x-certsentry-timestamp"], b"{}", headers["x-certsentry-signature"])
        checked += 1
    elif case["scheme"] == "hmac-sha256":
        assert alertifypro(case["secret"].encode(), body, headers["x-alertifypro-signature"]), case
        assert not alertifypro(case["secret"].encode(), b"{}", headers["x-alertifypro-signature"])
        checked += 1
assert checked == 2, checked
print("stdlib receivers accepted", checked, "requests")
"#;

/// The official Standard Webhooks and Svix libraries, from PyPI.
const LIBRARY_CHECKS: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook as StandardWebhook
from svix.webhooks import Webhook as SvixWebhook

cases = [c for c in json.load(open(sys.argv[1])) if c["scheme"] == "standard-webhooks"]
for case in cases:
    body = case["body"].encode()
    headers = {k.lower(): v for k, v in case["headers"]}
    for secret in case["verify_with"]:
        StandardWebhook(secret).verify(body, {k: v for k, v in headers.items() if k.startswith("webhook-")})
        SvixWebhook(secret).verify(body, {k: v for k, v in headers.items() if k.startswith("svix-")})
    try:
        StandardWebhook("whsec_" + "A" * 32).verify(body, headers)
        raise SystemExit("a wrong secret was accepted")
    except SystemExit:
        raise
    except Exception:
        pass
assert len(cases) == 2, len(cases)
print("standardwebhooks and svix accepted", len(cases), "requests")
"#;

/// The pinned library versions the virtualenv installs.
const PYPI_PACKAGES: [&str; 2] = ["standardwebhooks==1.3.0", "svix==2.9.1"];

fn case(
    scheme: SigningScheme,
    secrets: &[&str],
    verify_with: &[&str],
    timestamp: i64,
    header: Option<&str>,
) -> serde_json::Value {
    let body = r#"{"event":"uptime.down","severity":"critical","status":"down"}"#;
    let headers = sign(&SignInput {
        scheme,
        secrets,
        message_id: "cmb1dlv0000000001",
        timestamp,
        body: body.as_bytes(),
        signature_header: header,
    });
    json!({
        "scheme": scheme.as_str(), "secret": secrets[0], "verify_with": verify_with,
        "body": body, "headers": headers,
    })
}

#[test]
fn official_receivers_accept_our_signatures() {
    let now = certsentry_domain::time::now_ms() / 1000;
    let (new, old) = (
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
    );
    let cases = json!([
        case(SigningScheme::StandardWebhooks, &[old], &[old], now, None),
        // During a rotation both signatures are sent; each secret verifies.
        case(
            SigningScheme::StandardWebhooks,
            &[new, old],
            &[new, old],
            now,
            None
        ),
        case(SigningScheme::CertSentry, &["8c7f1e0d2b"], &[], now, None),
        case(
            SigningScheme::HmacSha256,
            &["alertify-secret"],
            &[],
            now,
            Some("X-AlertifyPro-Signature")
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cases_file = dir.path().join("cases.json");
    std::fs::write(&cases_file, cases.to_string()).unwrap();

    // The CLI verifier accepts each request, and rejects a tampered body.
    let binary = env!("CARGO_BIN_EXE_certsentry");
    for case in cases.as_array().unwrap() {
        let headers: String = case["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| format!("{}: {}\n", h[0].as_str().unwrap(), h[1].as_str().unwrap()))
            .collect();
        std::fs::write(dir.path().join("headers.txt"), headers).unwrap();
        std::fs::write(dir.path().join("body.json"), case["body"].as_str().unwrap()).unwrap();
        let secret = case["secret"].as_str().unwrap();
        let run = |body: &str| {
            std::fs::write(dir.path().join("body.json"), body).unwrap();
            let mut cmd = Command::new(binary);
            cmd.args([
                "webhook",
                "verify",
                "--scheme",
                case["scheme"].as_str().unwrap(),
            ])
            .args(["--secret", secret])
            .arg("--headers")
            .arg(dir.path().join("headers.txt"))
            .arg("--body")
            .arg(dir.path().join("body.json"));
            if case["scheme"] == "hmac-sha256" {
                cmd.args(["--signature-header", "X-AlertifyPro-Signature"]);
            }
            cmd.output().unwrap()
        };
        let ok = run(case["body"].as_str().unwrap());
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stdout)
        );
        let tampered = run("{}");
        assert_eq!(tampered.status.code(), Some(1));
    }

    let run_python = |python: &std::path::Path, script: &str| {
        let out = Command::new(python)
            .arg("-c")
            .arg(script)
            .arg(&cases_file)
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "python receivers rejected our signatures:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        println!("{}", String::from_utf8_lossy(&out.stdout));
    };
    run_python(std::path::Path::new("python3"), STDLIB_CHECKS);

    match python::venv("webhook-receivers-venv-pinned", &PYPI_PACKAGES) {
        Some(bin) => run_python(&bin.join("python"), LIBRARY_CHECKS),
        None => python::unavailable("the standardwebhooks and svix checks (the stdlib checks ran)"),
    }
}
