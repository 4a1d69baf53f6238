//! Report mail over SMTP, sent by real clients: Python's `smtplib` and
//! Debian's `swaks` send a report as a gzip attachment to a domain's
//! reporting address, and the report is in the API. Unknown tokens and
//! relay attempts are refused at RCPT, and an oversized message is refused.

mod common;
mod serve;

use std::io::Write;
use std::process::Command;

use certsentry::config::SmtpSettings;
use common::*;
use serde_json::{Value, json};

const MAIL_DOMAIN: &str = "reports.example.net";

/// Sends with `smtplib` and prints what happened, as JSON.
const SEND: &str = r#"
import json, smtplib, sys
from email.message import EmailMessage

host, port, rcpt, attachment, padding = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
msg = EmailMessage()
msg["From"] = "noreply-dmarc-support@google.com"
msg["To"] = rcpt
msg["Subject"] = "Report domain: indemed.com Submitter: google.com"
msg.set_content("This is an aggregate report from google.com." + "x" * padding)
with open(attachment, "rb") as f:
    msg.add_attachment(f.read(), maintype="application", subtype="gzip", filename="google.com!indemed.com.xml.gz")
result = {}
try:
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        smtp.ehlo("mx.google.com")
        refused = smtp.send_message(msg)
        result = {"sent": True, "refused": {k: list(v) for k, v in refused.items()}}
except smtplib.SMTPRecipientsRefused as e:
    result = {"sent": False, "rcpt": {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}}
except smtplib.SMTPResponseException as e:
    result = {"sent": False, "code": e.smtp_code, "message": e.smtp_error.decode()}
except smtplib.SMTPServerDisconnected as e:
    result = {"sent": False, "disconnected": str(e)}
print(json.dumps(result))
"#;

fn gzip_report(dir: &std::path::Path, id: &str) -> std::path::PathBuf {
    let xml = format!(
        "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>google.com</org_name>\
         <email>noreply-dmarc-support@google.com</email><report_id>{id}</report_id><date_range>\
         <begin>1767225600</begin><end>1767311999</end></date_range></report_metadata>\
         <policy_published><domain>indemed.com</domain><p>none</p></policy_published>\
         <record><row><source_ip>209.85.220.41</source_ip><count>42</count><policy_evaluated>\
         <disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>\
         </record></feedback>"
    );
    let path = dir.join(format!("{id}.xml.gz"));
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    );
    encoder.write_all(xml.as_bytes()).unwrap();
    encoder.finish().unwrap();
    path
}

fn send(
    addr: std::net::SocketAddr,
    rcpt: &str,
    attachment: &std::path::Path,
    padding: usize,
) -> Value {
    let out = Command::new("python3")
        .arg("-c")
        .arg(SEND)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .arg(rcpt)
        .arg(attachment)
        .arg(padding.to_string())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_mail_from_real_clients() {
    for (backend, store) in backends().await {
        let h = Harness::start_runtime(backend, store, "agency", |config| {
            config.api.dmarc_mail_domain = MAIL_DOMAIN.into();
            config.smtp = Some(SmtpSettings {
                listen: "127.0.0.1:0".into(),
                tls: None,
                max_message_bytes: 25 * 1024 * 1024,
                max_connections_per_ip: 8,
            });
        })
        .await;
        let smtp = h.server.smtp_addr.expect("the SMTP listener runs");
        let created = h
            .post("dmarc/domains", json!({ "domain": "indemed.com" }))
            .await;
        let rua = created.body["ruaAddress"].as_str().unwrap().to_string();
        let id = created.body["domain"]["id"].as_str().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();

        // smtplib: a gzip attachment, stored before the 250.
        let sent = tokio::task::spawn_blocking({
            let (rua, file) = (rua.clone(), gzip_report(dir.path(), "smtplib-1"));
            move || send(smtp, &rua, &file, 0)
        })
        .await
        .unwrap();
        assert_eq!(sent["sent"], true, "[{backend}] {sent}");
        let reports = h.get(&format!("dmarc/domains/{id}/reports")).await;
        assert_eq!(
            reports.body["reports"][0]["externalId"], "smtplib-1",
            "[{backend}]"
        );
        assert_eq!(reports.body["reports"][0]["messageCount"], 42);

        // Unknown token, and a relay attempt: refused at RCPT.
        for rcpt in [
            format!("dmarc+unknowntoken1234@{MAIL_DOMAIN}"),
            "someone@gmail.com".to_string(),
        ] {
            let refused = tokio::task::spawn_blocking({
                let file = gzip_report(dir.path(), "refused");
                move || send(smtp, &rcpt, &file, 0)
            })
            .await
            .unwrap();
            let code = refused["rcpt"]
                .as_object()
                .and_then(|r| r.values().next())
                .map(|v| v[0].clone());
            assert_eq!(code, Some(json!(550)), "[{backend}] {refused}");
        }

        // 30 MiB is over the 25 MiB limit.
        let big = tokio::task::spawn_blocking({
            let (rua, file) = (rua.clone(), gzip_report(dir.path(), "big"));
            move || send(smtp, &rua, &file, 30 * 1024 * 1024)
        })
        .await
        .unwrap();
        assert_eq!(big["sent"], false, "[{backend}] {big}");
        assert_eq!(big["code"], 552, "[{backend}] {big}");

        // swaks, Debian's SMTP test tool.
        if which("swaks") {
            let file = gzip_report(dir.path(), "swaks-1");
            let out = tokio::task::spawn_blocking({
                let rua = rua.clone();
                move || {
                    Command::new("swaks")
                        .args([
                            "--server",
                            &smtp.ip().to_string(),
                            "--port",
                            &smtp.port().to_string(),
                        ])
                        .args([
                            "--from",
                            "dmarc@outlook.com",
                            "--to",
                            &rua,
                            "--helo",
                            "mail.outlook.com",
                        ])
                        .args([
                            "--attach-type",
                            "application/gzip",
                            "--attach-name",
                            "report.xml.gz",
                        ])
                        .arg("--attach")
                        .arg(format!("@{}", file.display()))
                        .output()
                        .unwrap()
                }
            })
            .await
            .unwrap();
            let transcript = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "[{backend}] swaks: {transcript}");
            assert!(
                transcript.contains("250 2.0.0 Stored"),
                "[{backend}] {transcript}"
            );
            let reports = h.get(&format!("dmarc/domains/{id}/reports")).await;
            assert_eq!(reports.body["reports"][0]["externalId"], "swaks-1");
        } else if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("swaks is required under CI=true (apt-get install swaks)");
        } else {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: the swaks client check (swaks not installed)"
            );
        }
    }
}

fn which(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `kill -9` while a report mail is half sent: nothing is stored, the
/// sender (hearing no 250) retries against the restarted server, and the
/// report is stored exactly once, however often it is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_message_then_retry_stores_once() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let smtp_port = serve::free_port();
    let listen = format!("127.0.0.1:{smtp_port}");
    let env = [
        ("CERTSENTRY_SMTP_LISTEN", listen.as_str()),
        ("CERTSENTRY_DMARC_MAIL_DOMAIN", MAIL_DOMAIN),
    ];
    let data = dir.path().join("data");
    let server = serve::ServeProcess::start(&data, &env).await;
    let key = server.key.clone().unwrap();
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{}/api/v1/dmarc/domains", server.base))
        .bearer_auth(&key)
        .json(&json!({ "domain": "indemed.com" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rua = created["ruaAddress"].as_str().unwrap().to_string();
    let id = created["domain"]["id"].as_str().unwrap().to_string();

    // Half a message, by hand, then the server dies.
    let mut stream = tokio::net::TcpStream::connect(&listen).await.unwrap();
    let (read, mut write) = stream.split();
    let mut lines = BufReader::new(read).lines();
    lines.next_line().await.unwrap();
    for command in [
        "HELO mx.google.com".to_string(),
        "MAIL FROM:<noreply-dmarc-support@google.com>".into(),
        format!("RCPT TO:<{rua}>"),
        "DATA".into(),
    ] {
        write
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .unwrap();
        let reply = lines.next_line().await.unwrap().unwrap();
        assert!(
            reply.starts_with('2') || reply.starts_with('3'),
            "{command}: {reply}"
        );
    }
    write
        .write_all(
            b"From: dmarc@google.com\r\nSubject: report\r\n\r\n<?xml version=\"1.0\"?><feedback>",
        )
        .await
        .unwrap();
    drop(stream);
    server.kill();

    let server = serve::ServeProcess::start(&data, &env).await;
    let file = gzip_report(dir.path(), "after-kill-9");
    for _ in 0..2 {
        let sent = tokio::task::spawn_blocking({
            let (rua, file) = (rua.clone(), file.clone());
            let addr: std::net::SocketAddr = listen.parse().unwrap();
            move || send(addr, &rua, &file, 0)
        })
        .await
        .unwrap();
        assert_eq!(sent["sent"], true, "{sent}");
    }
    let reports: Value = client
        .get(format!("{}/api/v1/dmarc/domains/{id}/reports", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored = reports["reports"].as_array().unwrap();
    assert_eq!(stored.len(), 1, "{reports}");
    assert_eq!(stored[0]["externalId"], "after-kill-9");
}

/// With a certificate and key configured, the listener offers STARTTLS,
/// and smtplib (verifying the certificate) sends through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_is_offered_and_works() {
    use rustls::pki_types::pem::PemObject;

    let dir = tempfile::tempdir().unwrap();
    let pki = certsentry_probes::testing::Pki::new();
    let (leaf, key) = pki.leaf(&["localhost"], None);
    let pem = |label: &str, der: &[u8]| {
        let body = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    };
    let chain = format!(
        "{}{}",
        pem("CERTIFICATE", &leaf),
        pem("CERTIFICATE", pki.intermediate.der())
    );
    let (cert_file, key_file, ca_file) = (
        dir.path().join("smtp.pem"),
        dir.path().join("smtp.key"),
        dir.path().join("ca.pem"),
    );
    std::fs::write(&cert_file, chain).unwrap();
    std::fs::write(&key_file, pem("PRIVATE KEY", key.secret_der())).unwrap();
    std::fs::write(&ca_file, pem("CERTIFICATE", &pki.root_der())).unwrap();
    assert!(rustls::pki_types::CertificateDer::pem_file_iter(&cert_file).is_ok());

    let (backend, store) = backends().await.remove(0);
    let h = Harness::start_runtime(backend, store, "agency", |config| {
        config.api.dmarc_mail_domain = MAIL_DOMAIN.into();
        config.smtp = Some(SmtpSettings {
            listen: "127.0.0.1:0".into(),
            tls: Some((cert_file.clone(), key_file.clone())),
            max_message_bytes: 1024 * 1024,
            max_connections_per_ip: 8,
        });
    })
    .await;
    let smtp = h.server.smtp_addr.unwrap();
    let created = h
        .post("dmarc/domains", json!({ "domain": "indemed.com" }))
        .await;
    let rua = created.body["ruaAddress"].as_str().unwrap().to_string();
    let report = gzip_report(dir.path(), "over-tls");
    let script = r#"
import smtplib, ssl, sys
from email.message import EmailMessage
port, rcpt, attachment, cafile = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
msg = EmailMessage()
msg["From"] = "noreply-dmarc-support@google.com"
msg["To"] = rcpt
msg["Subject"] = "Report"
msg.set_content("report")
with open(attachment, "rb") as f:
    msg.add_attachment(f.read(), maintype="application", subtype="gzip", filename="r.xml.gz")
with smtplib.SMTP("localhost", port, timeout=30) as smtp:
    smtp.ehlo("mx.google.com")
    assert smtp.has_extn("starttls"), smtp.esmtp_features
    smtp.starttls(context=ssl.create_default_context(cafile=cafile))
    smtp.ehlo("mx.google.com")
    assert not smtp.has_extn("starttls")
    smtp.send_message(msg)
print("sent over TLS")
"#;
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(smtp.port().to_string())
            .arg(&rua)
            .arg(&report)
            .arg(&ca_file)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let id = created.body["domain"]["id"].as_str().unwrap();
    let reports = h.get(&format!("dmarc/domains/{id}/reports")).await;
    assert_eq!(reports.body["reports"][0]["externalId"], "over-tls");
}
