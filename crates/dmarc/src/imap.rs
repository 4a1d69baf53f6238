//! IMAP polling, for organizations whose report mail already lands in a
//! mailbox: each configured account's folder is read over TLS, every
//! message is imported for the account's organization (each report goes to
//! the organization's domain it is about), and the message is then moved
//! to the processed folder. A message is moved only after its reports are
//! committed, and reports are stored once, so a crash between the two only
//! means the message is read again next time, and nothing is counted
//! twice. The protocol is `imap-next` (`imap-codec`'s parser); this module
//! only says which commands to send.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use certsentry_domain::OrgId;
use imap_next::client::{Client, Event, Options};
use imap_next::imap_types::command::{Command, CommandBody};
use imap_next::imap_types::core::{Tag, Vec1};
use imap_next::imap_types::fetch::{MessageDataItem, MessageDataItemName, Section};
use imap_next::imap_types::response::{Data, Status, StatusKind};
use imap_next::imap_types::search::SearchKey;
use imap_next::imap_types::sequence::SequenceSet;
use imap_next::stream::Stream;
use tokio::net::TcpStream;

use crate::{Intake, IntakeError};

/// One mailbox to read.
#[derive(Clone)]
pub struct ImapAccount {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub folder: String,
    pub processed_folder: String,
    /// The organization whose domains the reports are for.
    pub org: OrgId,
    pub every: Duration,
    /// Extra trust anchors (an internal CA), beside the web PKI roots.
    pub extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl std::fmt::Debug for ImapAccount {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{}:{}/{}",
            self.username, self.host, self.port, self.folder
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("connecting to {0}: {1}")]
    Connect(String, String),
    #[error("the server answered {command} with: {answer}")]
    Refused {
        command: &'static str,
        answer: String,
    },
    #[error("the IMAP session broke: {0}")]
    Session(String),
    #[error(transparent)]
    Store(#[from] certsentry_store::StoreError),
}

/// What one poll did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Polled {
    pub messages: usize,
    pub reports: usize,
    pub unreadable: usize,
}

/// Polls `account` every `account.every`, for ever.
pub async fn poll_forever(account: ImapAccount, intake: Arc<Intake>) {
    loop {
        match poll_once(&account, &intake).await {
            Ok(polled) if polled.messages > 0 => {
                tracing::info!(account = ?account, ?polled, "imported DMARC mail over IMAP")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(account = ?account, error = %e, "IMAP poll failed; retrying later")
            }
        }
        tokio::time::sleep(account.every).await;
    }
}

/// Reads the folder once: imports each message and moves it.
pub async fn poll_once(account: &ImapAccount, intake: &Intake) -> Result<Polled, ImapError> {
    let mut session = Session::open(account).await?;
    session
        .run(
            "LOGIN",
            CommandBody::login(account.username.clone(), account.password.clone()).map_err(
                |_| ImapError::Refused {
                    command: "LOGIN",
                    answer: "the username or password cannot be sent".into(),
                },
            )?,
        )
        .await?;
    session
        .run(
            "SELECT",
            CommandBody::select(account.folder.clone())
                .map_err(|_| bad_mailbox(&account.folder))?,
        )
        .await?;
    let found = session
        .run(
            "UID SEARCH",
            CommandBody::search(None, Vec1::from(SearchKey::All), true),
        )
        .await?;
    let uids: Vec<NonZeroU32> = found
        .into_iter()
        .flat_map(|data| match data {
            Data::Search(uids, ..) => uids,
            _ => Vec::new(),
        })
        .collect();
    let mut polled = Polled::default();
    for uid in uids {
        let Some(message) = session.fetch(uid).await? else {
            continue;
        };
        polled.messages += 1;
        match intake.import_for_org(&account.org, message, "imap").await {
            Ok(imported) => polled.reports += imported.reports.len() + imported.tls_reports,
            Err(IntakeError::Unreadable(reason)) => {
                polled.unreadable += 1;
                tracing::warn!(account = ?account, uid, %reason, "an IMAP message holds no report");
            }
            // The database is away: leave the message for the next poll.
            Err(IntakeError::Store(e)) => return Err(e.into()),
        }
        let destination = account.processed_folder.clone();
        let sequence = SequenceSet::from(uid);
        let moved = CommandBody::Move {
            sequence_set: sequence,
            mailbox: destination
                .try_into()
                .map_err(|_| bad_mailbox(&account.processed_folder))?,
            uid: true,
        };
        session.run("UID MOVE", moved).await?;
    }
    let _ = session.run("LOGOUT", CommandBody::Logout).await;
    Ok(polled)
}

fn bad_mailbox(name: &str) -> ImapError {
    ImapError::Refused {
        command: "SELECT",
        answer: format!("{name:?} is not a mailbox name"),
    }
}

struct Session {
    stream: Stream,
    client: Client,
    next_tag: u32,
}

impl Session {
    async fn open(account: &ImapAccount) -> Result<Self, ImapError> {
        let address = format!("{}:{}", account.host, account.port);
        let connect_error =
            |e: &dyn std::fmt::Display| ImapError::Connect(address.clone(), e.to_string());
        let tcp = tokio::time::timeout(Duration::from_secs(30), TcpStream::connect(&address))
            .await
            .map_err(|e| connect_error(&e))?
            .map_err(|e| connect_error(&e))?;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for root in &account.extra_roots {
            roots.add(root.clone()).map_err(|e| connect_error(&e))?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| connect_error(&e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(account.host.clone())
            .map_err(|e| connect_error(&e))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| connect_error(&e))?;
        let mut session = Self {
            stream: Stream::tls(tokio_rustls::TlsStream::Client(tls)),
            client: Client::new(Options::default()),
            next_tag: 1,
        };
        loop {
            match session.stream.next(&mut session.client).await {
                Ok(Event::GreetingReceived { .. }) => return Ok(session),
                Ok(_) => {}
                Err(e) => return Err(ImapError::Session(e.to_string())),
            }
        }
    }

    /// Sends a command and collects its untagged data until its tagged OK.
    async fn run(
        &mut self,
        command: &'static str,
        body: CommandBody<'static>,
    ) -> Result<Vec<Data<'static>>, ImapError> {
        let tag = Tag::try_from(format!("C{}", self.next_tag)).expect("C and digits is a tag");
        self.next_tag += 1;
        self.client.enqueue_command(Command {
            tag: tag.clone(),
            body,
        });
        let mut data = Vec::new();
        loop {
            let event = self
                .stream
                .next(&mut self.client)
                .await
                .map_err(|e| ImapError::Session(e.to_string()))?;
            match event {
                Event::DataReceived { data: received } => data.push(received),
                Event::StatusReceived {
                    status: Status::Tagged(tagged),
                }
                | Event::CommandRejected {
                    status: Status::Tagged(tagged),
                    ..
                } if tagged.tag == tag => {
                    return match tagged.body.kind {
                        StatusKind::Ok => Ok(data),
                        _ => Err(ImapError::Refused {
                            command,
                            answer: tagged.body.text.to_string(),
                        }),
                    };
                }
                Event::StatusReceived {
                    status: Status::Bye(bye),
                } => {
                    return Err(ImapError::Session(format!(
                        "the server said BYE: {}",
                        bye.text
                    )));
                }
                _ => {}
            }
        }
    }

    /// The whole message `uid` (`BODY.PEEK[]`, so it stays unread until moved).
    async fn fetch(&mut self, uid: NonZeroU32) -> Result<Option<Vec<u8>>, ImapError> {
        let body = CommandBody::fetch(
            uid,
            vec![MessageDataItemName::BodyExt {
                section: None::<Section>,
                partial: None,
                peek: true,
            }],
            true,
        )
        .map_err(|_| ImapError::Session("bad uid".into()))?;
        let data = self.run("UID FETCH", body).await?;
        Ok(data.into_iter().find_map(|d| match d {
            Data::Fetch { items, .. } => items.into_iter().find_map(|item| match item {
                MessageDataItem::BodyExt { data, .. } => data.0.map(|s| s.as_ref().to_vec()),
                _ => None,
            }),
            _ => None,
        }))
    }
}
