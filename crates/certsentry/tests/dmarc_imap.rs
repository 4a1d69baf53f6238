//! IMAP polling against a fake IMAP server on loopback that speaks the real
//! protocol over TLS (`imap-next`'s server side): reports in the folder are
//! imported for the organization's domain they are about and moved to the
//! processed folder; a second poll imports nothing twice; wrong credentials
//! are an error that names the command.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use certsentry_dmarc::imap::{ImapAccount, ImapError, poll_once};
use common::*;
use imap_next::imap_types::command::CommandBody;
use imap_next::imap_types::core::{IString, Literal, NString, Vec1};
use imap_next::imap_types::fetch::MessageDataItem;
use imap_next::imap_types::mailbox::Mailbox;
use imap_next::imap_types::response::{Data, Greeting, Status};
use imap_next::imap_types::sequence::{SeqOrUid, Sequence};
use imap_next::server::{Event, Options, Server};
use imap_next::stream::Stream;
use serde_json::json;

type Mailboxes = Arc<Mutex<HashMap<String, Vec<(NonZeroU32, Vec<u8>)>>>>;

fn mailbox_name(mailbox: &Mailbox) -> String {
    match mailbox {
        Mailbox::Inbox => "INBOX".into(),
        Mailbox::Other(other) => String::from_utf8_lossy(other.as_ref()).into_owned(),
    }
}

/// Serves `mailboxes` over IMAPS for the user `reports` / `secret`.
async fn fake_imap(mailboxes: Mailboxes) -> (u16, rustls::pki_types::CertificateDer<'static>) {
    let pki = certsentry_probes::testing::Pki::new();
    let (leaf, key) = pki.leaf(&["localhost"], None);
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf, pki.intermediate.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, mailboxes) = (acceptor.clone(), mailboxes.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                serve_session(Stream::tls(tokio_rustls::TlsStream::Server(tls)), mailboxes).await;
            });
        }
    });
    (port, pki.root_der())
}

async fn serve_session(mut stream: Stream, mailboxes: Mailboxes) {
    let greeting = Greeting::ok(None, "fake IMAP ready").unwrap();
    let mut server = Server::new(Options::default(), greeting);
    let mut selected: Option<String> = None;
    let mut logged_in = false;
    while let Ok(event) = stream.next(&mut server).await {
        let Event::CommandReceived { command } = event else {
            continue;
        };
        let tag = command.tag.clone();
        let ok = |text: &'static str| Status::ok(Some(tag.clone()), None, text).unwrap();
        let no = |text: &'static str| Status::no(Some(tag.clone()), None, text).unwrap();
        let status = match command.body {
            CommandBody::Login { username, password } => {
                let right =
                    username.as_ref() == b"reports" && password.declassify().as_ref() == b"secret";
                logged_in = right;
                if right {
                    ok("logged in")
                } else {
                    no("wrong credentials")
                }
            }
            _ if !logged_in => no("log in first"),
            CommandBody::Select { mailbox, .. } => {
                let name = mailbox_name(&mailbox);
                if mailboxes.lock().unwrap().contains_key(&name) {
                    selected = Some(name);
                    ok("selected")
                } else {
                    no("no such mailbox")
                }
            }
            CommandBody::Search { uid: true, .. } => {
                let uids = selected
                    .as_ref()
                    .map(|s| {
                        mailboxes.lock().unwrap()[s]
                            .iter()
                            .map(|(uid, _)| *uid)
                            .collect()
                    })
                    .unwrap_or_default();
                server.enqueue_data(Data::Search(uids));
                ok("searched")
            }
            CommandBody::Fetch {
                sequence_set,
                uid: true,
                ..
            } => {
                let wanted = uids_of(&sequence_set.0);
                let messages = mailboxes.lock().unwrap()[selected.as_ref().unwrap()].clone();
                for (seq, (uid, body)) in messages.iter().enumerate() {
                    if wanted.contains(uid) {
                        let literal = Literal::try_from(body.clone()).unwrap();
                        let items = Vec1::try_from(vec![
                            MessageDataItem::Uid(*uid),
                            MessageDataItem::BodyExt {
                                section: None,
                                origin: None,
                                data: NString(Some(IString::Literal(literal))),
                            },
                        ])
                        .unwrap();
                        server.enqueue_data(Data::Fetch {
                            seq: NonZeroU32::new(seq as u32 + 1).unwrap(),
                            items,
                        });
                    }
                }
                ok("fetched")
            }
            CommandBody::Move {
                sequence_set,
                mailbox,
                uid: true,
            } => {
                let wanted = uids_of(&sequence_set.0);
                let mut boxes = mailboxes.lock().unwrap();
                let from = boxes.get_mut(selected.as_ref().unwrap()).unwrap();
                let (moving, staying): (Vec<_>, Vec<_>) =
                    from.drain(..).partition(|(uid, _)| wanted.contains(uid));
                *from = staying;
                boxes
                    .entry(mailbox_name(&mailbox))
                    .or_default()
                    .extend(moving);
                ok("moved")
            }
            CommandBody::Logout => ok("bye"),
            _ => Status::bad(Some(tag.clone()), None, "not in this fake").unwrap(),
        };
        server.enqueue_status(status);
    }
}

fn uids_of(sequences: &Vec1<Sequence>) -> Vec<NonZeroU32> {
    sequences
        .as_ref()
        .iter()
        .filter_map(|s| match s {
            Sequence::Single(SeqOrUid::Value(uid)) => Some(*uid),
            _ => None,
        })
        .collect()
}

/// A report mail with a gzip attachment, as receivers send them.
fn report_mail(domain: &str, id: &str) -> Vec<u8> {
    let xml = format!(
        "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>google.com</org_name>\
         <email>noreply-dmarc-support@google.com</email><report_id>{id}</report_id><date_range>\
         <begin>1767225600</begin><end>1767311999</end></date_range></report_metadata>\
         <policy_published><domain>{domain}</domain><p>none</p></policy_published><record><row>\
         <source_ip>209.85.220.41</source_ip><count>5</count><policy_evaluated><dkim>pass</dkim>\
         <spf>pass</spf></policy_evaluated></row></record></feedback>"
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(xml.as_bytes()).unwrap();
    let attachment = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        gz.finish().unwrap(),
    );
    format!(
        "From: noreply-dmarc-support@google.com\r\nTo: dmarc@{domain}\r\nSubject: Report domain: {domain}\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain\r\n\r\nReport attached.\r\n--b\r\nContent-Type: application/gzip\r\n\
         Content-Disposition: attachment; filename=\"google.com!{domain}!{id}.xml.gz\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--b--\r\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_in_a_mailbox_are_imported_once_and_moved() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        for domain in ["example.com", "example.org"] {
            let created = h.post("dmarc/domains", json!({ "domain": domain })).await;
            assert_eq!(created.status, 201, "[{backend}] {}", created.body);
        }
        let uid = |n: u32| NonZeroU32::new(n).unwrap();
        let mailboxes: Mailboxes = Arc::new(Mutex::new(HashMap::from([
            (
                "INBOX".to_string(),
                vec![
                    (uid(1), report_mail("example.com", "imap-com")),
                    (uid(2), report_mail("example.org", "imap-org")),
                    (uid(3), b"Subject: hello\r\n\r\nnot a report\r\n".to_vec()),
                ],
            ),
            ("DMARC/Processed".to_string(), Vec::new()),
        ])));
        let (port, root) = fake_imap(mailboxes.clone()).await;
        let account = ImapAccount {
            host: "localhost".into(),
            port,
            username: "reports".into(),
            password: "secret".into(),
            folder: "INBOX".into(),
            processed_folder: "DMARC/Processed".into(),
            org: h.org.clone(),
            every: Duration::from_secs(300),
            extra_roots: vec![root],
        };
        let intake = h.server.state.dmarc.clone();
        let polled = poll_once(&account, &intake).await.unwrap();
        assert_eq!(
            (polled.messages, polled.reports, polled.unreadable),
            (3, 2, 1),
            "[{backend}]"
        );
        {
            let boxes = mailboxes.lock().unwrap();
            assert!(
                boxes["INBOX"].is_empty(),
                "[{backend}] everything read is moved"
            );
            assert_eq!(boxes["DMARC/Processed"].len(), 3);
        }
        for (domain, id) in [("example.com", "imap-com"), ("example.org", "imap-org")] {
            let domains = h.get("dmarc/domains").await;
            let domain_id = domains.body["domains"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["domain"] == domain)
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string();
            let reports = h.get(&format!("dmarc/domains/{domain_id}/reports")).await;
            assert_eq!(
                reports.body["reports"][0]["externalId"], id,
                "[{backend}] {domain}"
            );
        }

        // The same mail again (a crash before the move): stored once.
        mailboxes
            .lock()
            .unwrap()
            .get_mut("INBOX")
            .unwrap()
            .push((uid(4), report_mail("example.com", "imap-com")));
        let again = poll_once(&account, &intake).await.unwrap();
        assert_eq!((again.messages, again.reports), (1, 1));
        let domains = h.get("dmarc/domains").await;
        let com = domains.body["domains"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let reports = h.get(&format!("dmarc/domains/{com}/reports")).await;
        assert_eq!(
            reports.body["reports"].as_array().unwrap().len(),
            1,
            "[{backend}]"
        );

        let wrong = ImapAccount {
            password: "hunter2-not-it".into(),
            ..account.clone()
        };
        let error = poll_once(&wrong, &intake).await.unwrap_err();
        assert!(
            matches!(
                &error,
                ImapError::Refused {
                    command: "LOGIN",
                    ..
                }
            ),
            "[{backend}] {error}"
        );
        assert!(
            !format!("{error} {wrong:?}").contains("hunter2"),
            "the password is never shown"
        );
    }
}
