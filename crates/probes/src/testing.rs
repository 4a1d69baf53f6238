//! Loopback fixtures for tests (feature `testing`): a test PKI made with
//! rcgen, and HTTP/HTTPS servers with routes the probes exercise.

pub mod openssl;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;

/// A calendar date: (year, month, day).
pub type Ymd = (i32, u8, u8);

pub struct Pki {
    pub root: CertifiedIssuer<'static, KeyPair>,
    pub intermediate: CertifiedIssuer<'static, KeyPair>,
}

fn ca_params(name: &str, organization: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, organization);
    params
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}

impl Pki {
    pub fn new() -> Self {
        Self::named("CertSentry Test CA")
    }

    /// A root and an intermediate whose names carry `organization`.
    pub fn named(organization: &str) -> Self {
        let root = CertifiedIssuer::self_signed(
            ca_params("Test Root", organization),
            KeyPair::generate().unwrap(),
        )
        .unwrap();
        let intermediate = CertifiedIssuer::signed_by(
            ca_params("Test Intermediate", organization),
            KeyPair::generate().unwrap(),
            &root,
        )
        .unwrap();
        Self { root, intermediate }
    }

    pub fn root_der(&self) -> CertificateDer<'static> {
        self.root.der().clone()
    }

    /// A leaf for `names`, signed by the intermediate; `validity` overrides the dates.
    pub fn leaf(
        &self,
        names: &[&str],
        validity: Option<(Ymd, Ymd)>,
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        if let Some(((y1, m1, d1), (y2, m2, d2))) = validity {
            params.not_before = date_time_ymd(y1, m1, d1);
            params.not_after = date_time_ymd(y2, m2, d2);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.intermediate).unwrap();
        (
            cert.der().clone(),
            PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        )
    }
}

async fn handler(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = |status: u16, body: &'static str| {
        Response::builder()
            .status(status)
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    Ok(match req.uri().path() {
        "/" => response(200, "hello, the keyword is sentinel"),
        "/503" => response(503, "down"),
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            response(200, "slow but fine")
        }
        "/redirect" => Response::builder()
            .status(302)
            .header("location", "/")
            .body(Full::new(Bytes::new()))
            .unwrap(),
        "/loop" => Response::builder()
            .status(302)
            .header("location", "/loop")
            .body(Full::new(Bytes::new()))
            .unwrap(),
        "/echo-auth" => {
            let auth = req
                .headers()
                .get("authorization")
                .map(|v| v.to_str().unwrap_or("").to_string())
                .unwrap_or_default();
            let status = if auth == "Bearer s3cret" { 200 } else { 401 };
            response(status, "")
        }
        _ => response(404, "not found"),
    })
}

async fn serve_http(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let tls = tls.clone();
        tokio::spawn(async move {
            let builder = hyper::server::conn::http1::Builder::new();
            match tls {
                Some(config) => {
                    if let Ok(stream) = tokio_rustls::TlsAcceptor::from(config).accept(stream).await
                    {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service_fn(handler))
                            .await;
                    }
                }
                None => {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service_fn(handler))
                        .await;
                }
            }
        });
    }
}

/// Serves HTTPS with `chain` on an ephemeral loopback port.
pub async fn https_server(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> u16 {
    counting_https_server(chain, key).await.0
}

/// As [`https_server`], with the count of connections it has accepted.
pub async fn counting_https_server(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    let config = server_config().with_single_cert(chain, key).unwrap();
    serve_https(config).await
}

/// A rustls server (ring, TLS 1.2 and 1.3) still to be given its certificate.
fn server_config() -> rustls::ConfigBuilder<rustls::ServerConfig, rustls::server::WantsServerCert> {
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
}

/// Serves HTTPS with `config` on an ephemeral loopback port; returns the
/// port and the count of connections accepted.
async fn serve_https(config: rustls::ServerConfig) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::default();
    tokio::spawn(serve_http(
        listener,
        Some(Arc::new(config)),
        Arc::clone(&accepted),
    ));
    (port, accepted)
}

/// The certificate a [`renewing_https_server`] serves, which a test can
/// replace while the server runs. The server keeps its session cache across
/// the change, as a real server does when it reloads a renewed certificate.
#[derive(Debug)]
pub struct ServedCertificate(std::sync::RwLock<Arc<rustls::sign::CertifiedKey>>);

impl ServedCertificate {
    fn certified(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Arc<rustls::sign::CertifiedKey> {
        let provider = rustls::crypto::ring::default_provider();
        Arc::new(rustls::sign::CertifiedKey::from_der(chain, key, &provider).unwrap())
    }

    /// Serves `chain` from the next handshake on.
    pub fn replace(&self, chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) {
        *self.0.write().unwrap() = Self::certified(chain, key);
    }
}

impl rustls::server::ResolvesServerCert for ServedCertificate {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.read().unwrap().clone())
    }
}

/// As [`https_server`], serving whatever [`ServedCertificate`] holds.
pub async fn renewing_https_server(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> (u16, Arc<ServedCertificate>) {
    let served = Arc::new(ServedCertificate(std::sync::RwLock::new(
        ServedCertificate::certified(chain, key),
    )));
    let (port, _) = serve_https(server_config().with_cert_resolver(served.clone())).await;
    (port, served)
}

pub async fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve_http(listener, None, Arc::default()));
    port
}

/// An authoritative DNS server for one zone on 127.0.0.1 (UDP), whose records
/// a test can change while it runs.
pub struct DnsFixture {
    pub addr: std::net::SocketAddr,
    zone: Arc<
        hickory_server::store::in_memory::InMemoryZoneHandler<
            hickory_server::net::runtime::TokioRuntimeProvider,
        >,
    >,
    serial: std::sync::atomic::AtomicU32,
}

impl DnsFixture {
    /// Serves `origin` (e.g. `example.test.`) with just its SOA record.
    pub async fn start(origin: &str) -> Self {
        use hickory_server::proto::rr::rdata::SOA;
        use hickory_server::proto::rr::{LowerName, Name, RData, Record};
        use hickory_server::store::in_memory::InMemoryZoneHandler;
        use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};

        let origin = Name::from_ascii(origin).unwrap();
        let mut zone =
            InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
        let soa = SOA::new(
            Name::from_ascii("ns1.")
                .unwrap()
                .append_domain(&origin)
                .unwrap(),
            Name::from_ascii("hostmaster.")
                .unwrap()
                .append_domain(&origin)
                .unwrap(),
            1,
            3600,
            600,
            86400,
            60,
        );
        zone.upsert_mut(Record::from_rdata(origin.clone(), 300, RData::SOA(soa)), 1);
        let zone = Arc::new(zone);
        let mut catalog = Catalog::new();
        catalog.upsert(
            LowerName::new(&origin),
            vec![zone.clone() as Arc<dyn ZoneHandler>],
        );
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let mut server = hickory_server::Server::new(catalog);
        server.register_socket(socket);
        tokio::spawn(async move {
            let _ = server.block_until_done().await;
        });
        Self {
            addr,
            zone,
            serial: std::sync::atomic::AtomicU32::new(2),
        }
    }

    /// Replaces the RR set of `name` for the type of `records` (all one type).
    pub async fn set(&self, name: &str, records: Vec<hickory_server::proto::rr::RData>) {
        use hickory_server::proto::rr::{LowerName, Name, Record, RrKey};
        let name = Name::from_ascii(name).unwrap();
        if let Some(first) = records.first() {
            let key = RrKey::new(LowerName::new(&name), first.record_type());
            self.zone.records_mut().await.remove(&key);
        }
        for rdata in records {
            let serial = self
                .serial
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.zone
                .upsert(Record::from_rdata(name.clone(), 60, rdata), serial)
                .await;
        }
    }

    /// Replaces the A records of `name`.
    pub async fn set_a(&self, name: &str, addresses: &[&str]) {
        use hickory_server::proto::rr::RData;
        use hickory_server::proto::rr::rdata::A;
        let records = addresses
            .iter()
            .map(|a| RData::A(A(a.parse().unwrap())))
            .collect();
        self.set(name, records).await;
    }

    /// Replaces the PTR record of `name` (`4.3.2.1.in-addr.arpa.`) with `target`.
    pub async fn set_ptr(&self, name: &str, target: &str) {
        use hickory_server::proto::rr::rdata::PTR;
        use hickory_server::proto::rr::{Name, RData};
        let target = Name::from_ascii(target).unwrap();
        self.set(name, vec![RData::PTR(PTR(target))]).await;
    }

    /// Removes the RR set of `name` of `record_type`.
    pub async fn clear(&self, name: &str, record_type: hickory_server::proto::rr::RecordType) {
        use hickory_server::proto::rr::{LowerName, Name, RrKey};
        let key = RrKey::new(
            LowerName::new(&Name::from_ascii(name).unwrap()),
            record_type,
        );
        self.zone.records_mut().await.remove(&key);
    }
}

/// A fake registry: an RDAP server (RFC 9083 JSON on HTTP), the bootstrap
/// file that points at it, and a WHOIS server (RFC 3912 on TCP). Tests
/// change the registered domains while it runs and count the lookups.
pub struct RegistryFixture {
    /// `http://127.0.0.1:PORT`.
    pub http_base: String,
    /// `127.0.0.1:PORT` of the WHOIS server.
    pub whois_addr: String,
    state: Arc<std::sync::Mutex<RegistryState>>,
}

#[derive(Default)]
struct RegistryState {
    /// Domain → RDAP expiration eventDate (`None`: registered, no expiration event).
    rdap: std::collections::HashMap<String, Option<String>>,
    /// Domain → the whole WHOIS answer.
    whois: std::collections::HashMap<String, String>,
    rdap_tlds: Vec<String>,
    rdap_lookups: usize,
    whois_lookups: usize,
}

impl RegistryFixture {
    /// Starts both servers; the bootstrap lists `rdap_tlds`.
    pub async fn start(rdap_tlds: &[&str]) -> Self {
        let state = Arc::new(std::sync::Mutex::new(RegistryState {
            rdap_tlds: rdap_tlds.iter().map(|t| t.to_string()).collect(),
            ..RegistryState::default()
        }));
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http_base = format!("http://{}", http.local_addr().unwrap());
        tokio::spawn(serve_registry_http(http, state.clone(), http_base.clone()));
        let whois = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let whois_addr = whois.local_addr().unwrap().to_string();
        tokio::spawn(serve_whois(whois, state.clone()));
        Self {
            http_base,
            whois_addr,
            state,
        }
    }

    /// The bootstrap file's URL.
    pub fn bootstrap_url(&self) -> String {
        format!("{}/dns.json", self.http_base)
    }

    /// Registers `domain` in RDAP with this expiration (`None`: no event).
    pub fn set_rdap(&self, domain: &str, expiration: Option<&str>) {
        let mut state = self.state.lock().unwrap();
        state
            .rdap
            .insert(domain.to_string(), expiration.map(str::to_string));
    }

    /// Sets the WHOIS answer for `domain`.
    pub fn set_whois(&self, domain: &str, answer: &str) {
        let mut state = self.state.lock().unwrap();
        state.whois.insert(domain.to_string(), answer.to_string());
    }

    /// (RDAP domain lookups, WHOIS lookups) served so far.
    pub fn lookups(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap();
        (state.rdap_lookups, state.whois_lookups)
    }
}

async fn serve_registry_http(
    listener: TcpListener,
    state: Arc<std::sync::Mutex<RegistryState>>,
    base: String,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let state = state.clone();
        let base = base.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let reply = registry_reply(req.uri().path(), &state, &base);
                async move { Ok::<_, Infallible>(reply) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn registry_reply(
    path: &str,
    state: &std::sync::Mutex<RegistryState>,
    base: &str,
) -> Response<Full<Bytes>> {
    let json = |status: u16, body: serde_json::Value| {
        Response::builder()
            .status(status)
            .header("content-type", "application/rdap+json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    };
    let mut state = state.lock().unwrap();
    if path == "/dns.json" {
        return json(
            200,
            serde_json::json!({
                "description": "RDAP bootstrap file for Domain Name System registrations",
                "publication": "2026-06-01T00:00:00Z",
                "services": [[state.rdap_tlds, [format!("{base}/rdap/")]]],
                "version": "1.0"
            }),
        );
    }
    let Some(domain) = path.strip_prefix("/rdap/domain/") else {
        return json(
            404,
            serde_json::json!({"errorCode": 404, "title": "Not Found"}),
        );
    };
    state.rdap_lookups += 1;
    match state.rdap.get(domain) {
        None => json(
            404,
            serde_json::json!({"errorCode": 404, "title": "Not Found"}),
        ),
        Some(expiration) => {
            let mut events = vec![serde_json::json!({
                "eventAction": "registration", "eventDate": "1997-09-15T04:00:00Z"
            })];
            if let Some(date) = expiration {
                events.push(serde_json::json!({"eventAction": "expiration", "eventDate": date}));
            }
            json(
                200,
                serde_json::json!({
                    "objectClassName": "domain",
                    "ldhName": domain.to_ascii_uppercase(),
                    "events": events,
                }),
            )
        }
    }
}

async fn serve_whois(listener: TcpListener, state: Arc<std::sync::Mutex<RegistryState>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let mut stream = BufReader::new(stream);
            let mut query = String::new();
            if stream.read_line(&mut query).await.is_err() {
                return;
            }
            let answer = {
                let mut state = state.lock().unwrap();
                state.whois_lookups += 1;
                state
                    .whois
                    .get(query.trim())
                    .cloned()
                    .unwrap_or_else(|| format!("No match for \"{}\".\r\n", query.trim()))
            };
            let _ = stream.get_mut().write_all(answer.as_bytes()).await;
            let _ = stream.get_mut().shutdown().await;
        });
    }
}

/// One request a [`WebhookReceiver`] got.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// The request target: path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A webhook receiver on loopback (HTTP/1.1, keep-alive). It records every
/// request as soon as it has read it, waits `delay`, then answers the listed
/// statuses in turn, and 200 after them.
pub struct WebhookReceiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    requests: Arc<std::sync::Mutex<Vec<ReceivedRequest>>>,
}

impl WebhookReceiver {
    pub async fn start(statuses: Vec<u16>, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = requests.clone();
        let statuses = Arc::new(statuses);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_webhook(stream, log.clone(), statuses.clone(), delay));
            }
        });
        Self { url, requests }
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.requests.lock().unwrap().clone()
    }

    pub fn len(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

async fn serve_webhook(
    mut stream: tokio::net::TcpStream,
    log: Arc<std::sync::Mutex<Vec<ReceivedRequest>>>,
    statuses: Arc<Vec<u16>>,
    delay: Duration,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let target = head
            .lines()
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .unwrap_or_default()
            .to_string();
        let headers: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + 4 + length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buf[head_end + 4..head_end + 4 + length].to_vec();
        buf.drain(..head_end + 4 + length);
        let index = {
            let mut log = log.lock().unwrap();
            log.push(ReceivedRequest {
                target,
                headers,
                body,
            });
            log.len() - 1
        };
        tokio::time::sleep(delay).await;
        let status = statuses.get(index).copied().unwrap_or(200);
        let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nok");
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
