//! The inbound SMTP listener for DMARC report mail. Commands and the DATA
//! stream are parsed by `smtp-proto` (Stalwart's parser); this module is
//! the session around it. It is never a relay: a recipient is accepted
//! only when it is a live reporting address (`dmarc+TOKEN@mail domain`),
//! and refused at `RCPT TO` otherwise. A message is acknowledged with 250
//! only after its reports are committed, so a sender whose connection
//! drops, or who hears 451 while the database is away, sends it again and
//! nothing is lost; a report sent twice is stored once.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use certsentry_domain::dmarc::{DmarcDomain, hash_token, token_of_address};
use certsentry_domain::time::now_ms;
use certsentry_store::Store;
use smtp_proto::request::receiver::{DataReceiver, RequestReceiver};
use smtp_proto::{Error as SmtpError, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{Intake, IntakeError};

/// Recipients of one message at most.
const MAX_RECIPIENTS: usize = 50;
/// A client silent this long is dropped.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// How the listener behaves.
pub struct SmtpConfig {
    /// The domain of the reporting addresses; also the greeting's name.
    pub mail_domain: String,
    pub max_message_bytes: usize,
    pub max_connections_per_ip: usize,
    /// Offered as STARTTLS when set.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Loads a PEM certificate chain and key for STARTTLS.
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("reading {}: {e}", cert.display()))?;
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("reading {}: {e}", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| format!("the SMTP certificate and key do not fit: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Accepts connections for ever.
pub async fn serve(
    listener: TcpListener,
    config: Arc<SmtpConfig>,
    intake: Arc<Intake>,
    store: Arc<dyn Store>,
) {
    let per_ip: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "SMTP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(slot) = ConnectionSlot::take(&per_ip, peer, config.max_connections_per_ip) else {
            let mut stream = stream;
            let _ = stream
                .write_all(b"421 4.7.0 Too many connections from your address\r\n")
                .await;
            continue;
        };
        // Replies are small and answered at once; Nagle would hold them.
        let _ = stream.set_nodelay(true);
        let session = Session {
            config: config.clone(),
            intake: intake.clone(),
            store: store.clone(),
            peer,
        };
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = session.run(Box::new(stream)).await {
                tracing::debug!(%peer, error = %e, "SMTP session ended");
            }
        });
    }
}

/// One of an address's connection slots, given back on drop.
struct ConnectionSlot {
    table: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl ConnectionSlot {
    fn take(
        table: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        peer: SocketAddr,
        max: usize,
    ) -> Option<Self> {
        let mut counts = table.lock().expect("the slot table is never poisoned");
        let count = counts.entry(peer.ip()).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Self {
            table: table.clone(),
            ip: peer.ip(),
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = self.table.lock().expect("the slot table is never poisoned");
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Session {
    config: Arc<SmtpConfig>,
    intake: Arc<Intake>,
    store: Arc<dyn Store>,
    peer: SocketAddr,
}

/// The envelope of the message being received.
#[derive(Default)]
struct Transaction {
    mail_from: Option<String>,
    recipients: Vec<DmarcDomain>,
}

enum Mode {
    Commands,
    Data {
        receiver: DataReceiver,
        message: Vec<u8>,
        too_big: bool,
    },
}

/// What a command asks of the connection beyond its reply.
enum After {
    Continue,
    StartData,
    StartTls,
    Quit,
}

impl Session {
    async fn run(self, mut stream: Box<dyn Io>) -> std::io::Result<()> {
        let greeting = format!(
            "220 {} CertSentry DMARC intake ESMTP\r\n",
            self.config.mail_domain
        );
        stream.write_all(greeting.as_bytes()).await?;
        let mut tls_active = false;
        'connection: loop {
            let mut commands = RequestReceiver::default();
            let mut mode = Mode::Commands;
            let mut transaction = Transaction::default();
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                let read = tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut chunk)).await;
                let n = match read {
                    Ok(Ok(0)) | Err(_) => return Ok(()),
                    Ok(Ok(n)) => n,
                    Ok(Err(e)) => return Err(e),
                };
                let mut bytes = chunk[..n].iter();
                while bytes.len() > 0 {
                    match &mut mode {
                        Mode::Data {
                            receiver,
                            message,
                            too_big,
                        } => {
                            let done = receiver.ingest(&mut bytes, message);
                            if message.len() > self.config.max_message_bytes {
                                *too_big = true;
                                message.clear();
                            }
                            if !done {
                                continue;
                            }
                            let reply = if *too_big {
                                format!(
                                    "552 5.3.4 Message larger than {} bytes\r\n",
                                    self.config.max_message_bytes
                                )
                            } else {
                                self.deliver(&transaction, std::mem::take(message)).await
                            };
                            stream.write_all(reply.as_bytes()).await?;
                            transaction = Transaction::default();
                            mode = Mode::Commands;
                        }
                        Mode::Commands => {
                            let (reply, after) = match commands.ingest(&mut bytes) {
                                Ok(request) => {
                                    self.command(request, &mut transaction, tls_active).await
                                }
                                Err(SmtpError::NeedsMoreData { .. }) => break,
                                Err(SmtpError::ResponseTooLong) => {
                                    ("500 5.5.2 Line too long\r\n".to_string(), After::Continue)
                                }
                                Err(SmtpError::InvalidRecipientAddress)
                                | Err(SmtpError::InvalidSenderAddress) => {
                                    ("501 5.1.3 Invalid address\r\n".to_string(), After::Continue)
                                }
                                Err(_) => (
                                    "500 5.5.1 Command not recognized\r\n".to_string(),
                                    After::Continue,
                                ),
                            };
                            stream.write_all(reply.as_bytes()).await?;
                            match after {
                                After::Continue => {}
                                After::StartData => {
                                    mode = Mode::Data {
                                        receiver: DataReceiver::new(),
                                        message: Vec::new(),
                                        too_big: false,
                                    }
                                }
                                After::Quit => return Ok(()),
                                After::StartTls => {
                                    let Some(acceptor) = self.config.tls.clone() else {
                                        continue;
                                    };
                                    stream = Box::new(acceptor.accept(stream).await?);
                                    tls_active = true;
                                    // RFC 3207: the session starts over, EHLO included.
                                    continue 'connection;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    async fn command(
        &self,
        request: Request<std::borrow::Cow<'_, str>>,
        transaction: &mut Transaction,
        tls_active: bool,
    ) -> (String, After) {
        let ok = |text: &str| (format!("{text}\r\n"), After::Continue);
        match request {
            Request::Ehlo { .. } | Request::Lhlo { .. } => {
                *transaction = Transaction::default();
                let mut lines = vec![
                    self.config.mail_domain.clone(),
                    "PIPELINING".into(),
                    format!("SIZE {}", self.config.max_message_bytes),
                    "8BITMIME".into(),
                    "ENHANCEDSTATUSCODES".into(),
                ];
                if self.config.tls.is_some() && !tls_active {
                    lines.push("STARTTLS".into());
                }
                let last = lines.len() - 1;
                let reply: String = lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| format!("250{}{l}\r\n", if i == last { ' ' } else { '-' }))
                    .collect();
                (reply, After::Continue)
            }
            Request::Helo { .. } => {
                *transaction = Transaction::default();
                ok(&format!("250 {}", self.config.mail_domain))
            }
            Request::Mail { from } => {
                if from.size > self.config.max_message_bytes {
                    return ok(&format!(
                        "552 5.3.4 Message larger than {} bytes",
                        self.config.max_message_bytes
                    ));
                }
                *transaction = Transaction {
                    mail_from: Some(from.address.to_string()),
                    recipients: Vec::new(),
                };
                ok("250 2.1.0 OK")
            }
            Request::Rcpt { to } => self.recipient(&to.address, transaction).await,
            Request::Data => {
                if transaction.recipients.is_empty() {
                    ok("503 5.5.1 No valid recipient")
                } else {
                    (
                        "354 End data with <CR><LF>.<CR><LF>\r\n".into(),
                        After::StartData,
                    )
                }
            }
            Request::Rset => {
                *transaction = Transaction::default();
                ok("250 2.0.0 OK")
            }
            Request::Noop { .. } => ok("250 2.0.0 OK"),
            Request::Quit => ("221 2.0.0 Bye\r\n".into(), After::Quit),
            Request::StartTls if self.config.tls.is_some() && !tls_active => {
                ("220 2.0.0 Ready to start TLS\r\n".into(), After::StartTls)
            }
            Request::Vrfy { .. } => ok("252 2.5.0 Cannot verify"),
            _ => ok("502 5.5.1 Not implemented"),
        }
    }

    async fn recipient(&self, address: &str, transaction: &mut Transaction) -> (String, After) {
        let reply = |text: &str| (format!("{text}\r\n"), After::Continue);
        if transaction.mail_from.is_none() {
            return reply("503 5.5.1 MAIL FROM first");
        }
        if transaction.recipients.len() >= MAX_RECIPIENTS {
            return reply("452 4.5.3 Too many recipients");
        }
        let Some(token) = token_of_address(address, &self.config.mail_domain) else {
            // Anything not a reporting address here, other domains included:
            // this is no relay.
            return reply("550 5.7.1 Relaying denied: not a reporting address of this server");
        };
        match self
            .store
            .dmarc_domain_by_token(&hash_token(token), now_ms())
            .await
        {
            Ok(Some(domain)) => {
                if !transaction.recipients.iter().any(|d| d.id == domain.id) {
                    transaction.recipients.push(domain);
                }
                reply("250 2.1.5 OK")
            }
            Ok(None) => reply("550 5.1.1 Unknown or revoked reporting address"),
            Err(e) => {
                tracing::warn!(error = %e, "SMTP recipient lookup failed");
                reply("451 4.3.0 Temporary failure; try again later")
            }
        }
    }

    /// Imports the message for each recipient domain; 250 once all are
    /// committed.
    async fn deliver(&self, transaction: &Transaction, message: Vec<u8>) -> String {
        let mut refused = None;
        let mut stored = 0usize;
        for domain in &transaction.recipients {
            match self.intake.import(domain, message.clone(), "smtp").await {
                Ok(imported) => stored += imported.reports.len() + imported.tls_reports,
                Err(IntakeError::Unreadable(reason)) => refused = Some(reason),
                Err(IntakeError::Store(e)) => {
                    tracing::warn!(peer = %self.peer, error = %e, "storing an SMTP report failed");
                    return "451 4.3.0 Could not store the report now; try again later\r\n".into();
                }
            }
        }
        match refused {
            Some(reason) if stored == 0 => {
                let reason: String = reason
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect();
                format!("554 5.6.0 No report could be read: {reason}\r\n")
            }
            _ => format!("250 2.0.0 Stored ({stored} reports)\r\n"),
        }
    }
}
