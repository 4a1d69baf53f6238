//! `openssl s_server` fixtures whose TLS grades are known, shared by the
//! scan's own tests and the comparison with sslyze.
//!
//! What each needs from Debian's OpenSSL 3.0: TLS 1.0 and 1.1, and
//! 1,024-bit keys, only at `@SECLEVEL=0`. SSL 3.0, RC4 and 3DES are not
//! built at all (`no-ssl3`; the legacy ciphers are missing from the
//! default provider), so those fixtures cannot exist on this machine; the
//! grade's rules for them are covered by the domain's unit tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// An `openssl s_server`, killed when dropped.
pub struct OpensslServer(Child);

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private CA made with the openssl CLI (RSA keys, which RSA key
/// exchange needs), with an intermediate, and the leaves the fixtures use.
pub struct OpensslPki {
    dir: tempfile::TempDir,
}

/// `openssl ca`'s settings, for leaves with chosen dates.
const CA_CONFIG: &str = "[ca]\ndefault_ca = here\n[here]\ndatabase = index.txt\n\
    new_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = any\n\
    copy_extensions = copy\nunique_subject = no\n[any]\ncommonName = supplied\n";

impl OpensslPki {
    /// The CA and every leaf [`fixtures`] names.
    pub fn new() -> Self {
        let pki = Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        let dir = pki.dir.path();
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "30",
                "-subj",
                "/CN=Grade Test CA",
            ],
        );
        std::fs::write(dir.join("ca.cnf"), CA_CONFIG).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        std::fs::write(dir.join("ca.ext"), "basicConstraints=critical,CA:TRUE\n").unwrap();
        pki.request("intermediate", "/CN=Grade Test Intermediate", 2048);
        pki.sign("intermediate", "ca", "ca.ext", None);
        pki.leaf("leaf", "localhost", 2048);
        pki.leaf("small", "localhost", 1024);
        pki.leaf("other", "other.example", 2048);
        pki.self_signed("own");
        // Expired: valid during 2020 only.
        pki.request("expired", "/CN=localhost", 2048);
        pki.san("expired", "localhost");
        pki.sign(
            "expired",
            "ca",
            "expired.ext",
            Some(("20200101000000Z", "20210101000000Z")),
        );
        // Issued by the intermediate, which the server leaves out.
        pki.request("orphan", "/CN=localhost", 2048);
        pki.san("orphan", "localhost");
        pki.sign("orphan", "intermediate", "orphan.ext", None);
        pki
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The CA, to add to the probe's trust anchors.
    pub fn root(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_file(self.path("ca.pem")).expect("the CA was written")
    }

    fn request(&self, name: &str, subject: &str, bits: u32) {
        openssl(
            self.dir.path(),
            &[
                "req",
                "-newkey",
                &format!("rsa:{bits}"),
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                subject,
            ],
        );
    }

    fn san(&self, name: &str, san: &str) {
        std::fs::write(
            self.path(&format!("{name}.ext")),
            format!("subjectAltName=DNS:{san}\n"),
        )
        .unwrap();
    }

    /// Signs `name.csr` with `issuer`, through `openssl ca` so the dates
    /// can be chosen.
    fn sign(&self, name: &str, issuer: &str, ext: &str, dates: Option<(&str, &str)>) {
        let (start, end) = dates.unwrap_or(("20250101000000Z", "20991231000000Z"));
        openssl(
            self.dir.path(),
            &[
                "ca",
                "-batch",
                "-config",
                "ca.cnf",
                "-cert",
                &format!("{issuer}.pem"),
                "-keyfile",
                &format!("{issuer}.key"),
                "-in",
                &format!("{name}.csr"),
                "-out",
                &format!("{name}.pem"),
                "-notext",
                "-extfile",
                ext,
                "-startdate",
                start,
                "-enddate",
                end,
            ],
        );
    }

    fn leaf(&self, name: &str, san: &str, bits: u32) {
        self.request(name, "/CN=leaf", bits);
        self.san(name, san);
        self.sign(name, "ca", &format!("{name}.ext"), None);
    }

    fn self_signed(&self, name: &str) {
        openssl(
            self.dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
                "-days",
                "30",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost",
            ],
        );
    }

    /// `openssl s_server` with `leaf` and `args`, once it listens.
    pub async fn serve(&self, leaf: &str, args: &[&str]) -> (OpensslServer, u16) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-accept",
                &format!("127.0.0.1:{port}"),
            ])
            .arg("-cert")
            .arg(self.path(&format!("{leaf}.pem")))
            .arg("-key")
            .arg(self.path(&format!("{leaf}.key")))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server starts");
        let server = OpensslServer(child);
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return (server, port);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("openssl s_server {args:?} never listened");
    }
}

impl Default for OpensslPki {
    fn default() -> Self {
        Self::new()
    }
}

/// A server configuration and the grade it earns.
pub struct Fixture {
    pub name: &'static str,
    pub leaf: &'static str,
    pub args: &'static [&'static str],
    /// Scanned through an SMTP STARTTLS front ([`smtp_front`]).
    pub smtp: bool,
    /// The grade with a year of HSTS, and a cap it must list (if any).
    pub grade: &'static str,
    pub reason: Option<&'static str>,
}

const MODERN_12_13: &[&str] = &[
    "-no_tls1",
    "-no_tls1_1",
    "-serverpref",
    "-cipher",
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305",
    "-ciphersuites",
    "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256",
];

/// At least a dozen configurations, from A+ to F, T and M.
pub fn fixtures() -> Vec<Fixture> {
    let fixture = |name, leaf, args, grade, reason| Fixture {
        name,
        leaf,
        args,
        smtp: false,
        grade,
        reason,
    };
    vec![
        fixture("TLS 1.3 only", "leaf", &["-tls1_3"], "A+", None),
        fixture(
            "TLS 1.2 and 1.3, ECDHE and AEAD",
            "leaf",
            MODERN_12_13,
            "A+",
            None,
        ),
        fixture(
            "TLS 1.0 offered",
            "leaf",
            &[
                "-cipher",
                "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:@SECLEVEL=0",
                "-min_protocol",
                "TLSv1",
                "-no_tls1_3",
                "-serverpref",
            ],
            "B",
            Some("tls10_offered"),
        ),
        fixture(
            "RSA key exchange only",
            "leaf",
            &[
                "-cipher",
                "AES128-GCM-SHA256:AES256-GCM-SHA384",
                "-no_tls1_3",
                "-serverpref",
            ],
            "B",
            Some("no_forward_secrecy"),
        ),
        fixture(
            "CBC only",
            "leaf",
            &[
                "-cipher",
                "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA",
                "-no_tls1_3",
                "-serverpref",
            ],
            "B",
            Some("no_aead"),
        ),
        fixture(
            "no TLS 1.2",
            "leaf",
            &[
                "-cipher",
                "ECDHE-RSA-AES128-SHA:@SECLEVEL=0",
                "-min_protocol",
                "TLSv1.1",
                "-max_protocol",
                "TLSv1.1",
            ],
            "C",
            Some("no_tls12"),
        ),
        fixture(
            "a 1024-bit RSA key",
            "small",
            &["-cipher", "DEFAULT:@SECLEVEL=0", "-serverpref"],
            "F",
            Some("rsa_key_1024_or_less"),
        ),
        fixture("expired", "expired", &["-serverpref"], "T", Some("expired")),
        fixture(
            "self-signed",
            "own",
            &["-serverpref"],
            "T",
            Some("self_signed"),
        ),
        fixture(
            "hostname mismatch",
            "other",
            &["-serverpref"],
            "M",
            Some("hostname_mismatch"),
        ),
        fixture(
            "incomplete chain",
            "orphan",
            &["-serverpref"],
            "B",
            Some("incomplete_chain"),
        ),
        fixture(
            "client suite order",
            "leaf",
            &["-no_tls1", "-no_tls1_1"],
            "A-",
            Some("no_server_order"),
        ),
        Fixture {
            smtp: true,
            ..fixture("SMTP STARTTLS", "leaf", MODERN_12_13, "A+", None)
        },
    ]
}

/// An SMTP server on loopback that offers STARTTLS and, once asked,
/// hands the connection to the TLS server on `tls_port` byte for byte: a
/// mail server's STARTTLS in front of any `s_server` fixture.
pub async fn smtp_front(tls_port: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = relay_after_starttls(client, tls_port).await;
            });
        }
    });
    port
}

async fn relay_after_starttls(client: TcpStream, tls_port: u16) -> std::io::Result<()> {
    let mut client = BufReader::new(client);
    client
        .get_mut()
        .write_all(b"220 mx.example ESMTP ready\r\n")
        .await?;
    let mut line = String::new();
    loop {
        line.clear();
        if client.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.trim().to_ascii_uppercase();
        let reply: &[u8] = if verb.starts_with("EHLO") {
            b"250-mx.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
        } else if verb == "STARTTLS" {
            b"220 2.0.0 Ready to start TLS\r\n"
        } else {
            b"502 5.5.1 Not here\r\n"
        };
        client.get_mut().write_all(reply).await?;
        if verb == "STARTTLS" {
            break;
        }
    }
    let mut server = TcpStream::connect(("127.0.0.1", tls_port)).await?;
    let mut client = client.into_inner();
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}
