//! Loopback fixtures for tests (feature `testing`): a test PKI made with
//! rcgen, and HTTP/HTTPS servers with routes the probes exercise.

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

async fn serve_http(listener: TcpListener, tls: Option<Arc<rustls::ServerConfig>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
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
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve_http(listener, Some(Arc::new(config))));
    port
}

pub async fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve_http(listener, None));
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
