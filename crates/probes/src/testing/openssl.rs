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

use crate::tls_scan::Starttls;

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

/// Validity of every certificate but the expired one.
const VALID: (&str, &str) = ("20250101000000Z", "20991231000000Z");

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
        pki.run("req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj /CN=grade-test-ca");
        let dir = pki.dir.path();
        std::fs::write(dir.join("ca.cnf"), CA_CONFIG).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        std::fs::write(dir.join("ca.ext"), "basicConstraints=critical,CA:TRUE\n").unwrap();
        pki.request("intermediate", "/CN=grade-test-intermediate", 2048);
        pki.sign("intermediate", "ca", "ca.ext", VALID, "sha256");
        pki.leaf("leaf", "localhost", 2048);
        pki.leaf("small", "localhost", 1024);
        pki.leaf("other", "other.example", 2048);
        pki.run("req -x509 -newkey rsa:2048 -nodes -keyout own.key -out own.pem -days 30 -subj /CN=localhost -addext subjectAltName=DNS:localhost");
        // Expired: valid during 2020 only.
        pki.request("expired", "/CN=localhost", 2048);
        pki.san("expired", "localhost");
        pki.sign(
            "expired",
            "ca",
            "expired.ext",
            ("20200101000000Z", "20210101000000Z"),
            "sha256",
        );
        // Issued by the intermediate, which the server leaves out.
        pki.request("orphan", "/CN=localhost", 2048);
        pki.san("orphan", "localhost");
        pki.sign("orphan", "intermediate", "orphan.ext", VALID, "sha256");
        // Signed with SHA-1, which no client accepts any more.
        pki.request("sha1", "/CN=localhost", 2048);
        pki.san("sha1", "localhost");
        pki.sign("sha1", "ca", "sha1.ext", VALID, "sha1");
        // The CA's signed "good" OCSP answer for `leaf`, for `-status_file`.
        pki.run("ocsp -issuer ca.pem -cert leaf.pem -no_nonce -reqout leaf.ocspreq");
        pki.run("ocsp -index index.txt -rsigner ca.pem -rkey ca.key -CA ca.pem -reqin leaf.ocspreq -respout leaf.ocsp -ndays 30");
        pki
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The CA, to add to the probe's trust anchors.
    pub fn root(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_file(self.path("ca.pem")).expect("the CA was written")
    }

    /// One `openssl` command line (no argument holds a space).
    fn run(&self, line: &str) {
        let args: Vec<&str> = line.split_whitespace().collect();
        openssl(self.dir.path(), &args);
    }

    fn request(&self, name: &str, subject: &str, bits: u32) {
        self.run(&format!(
            "req -newkey rsa:{bits} -nodes -keyout {name}.key -out {name}.csr -subj {subject}"
        ));
    }

    fn san(&self, name: &str, san: &str) {
        std::fs::write(
            self.path(&format!("{name}.ext")),
            format!("subjectAltName=DNS:{san}\n"),
        )
        .unwrap();
    }

    /// Signs `name.csr` with `issuer`, through `openssl ca` so the dates
    /// and the digest can be chosen.
    fn sign(&self, name: &str, issuer: &str, ext: &str, (start, end): (&str, &str), digest: &str) {
        self.run(&format!(
            "ca -batch -config ca.cnf -cert {issuer}.pem -keyfile {issuer}.key -in {name}.csr \
             -out {name}.pem -notext -extfile {ext} -startdate {start} -enddate {end} -md {digest}"
        ));
    }

    fn leaf(&self, name: &str, san: &str, bits: u32) {
        self.request(name, "/CN=leaf", bits);
        self.san(name, san);
        self.sign(name, "ca", &format!("{name}.ext"), VALID, "sha256");
    }

    /// `openssl s_server` with `leaf` and `args` (where `{dir}` stands for
    /// the directory of the PKI's files), once it listens.
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
            .args(
                args.iter()
                    .map(|a| a.replace("{dir}", &self.dir.path().to_string_lossy())),
            )
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
    /// Scanned through a mail server's STARTTLS ([`mail_front`]).
    pub starttls: Option<Starttls>,
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
        starttls: None,
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
        fixture(
            "a SHA-1 signature",
            "sha1",
            &[
                "-cipher",
                "DEFAULT:@SECLEVEL=0",
                "-no_tls1",
                "-no_tls1_1",
                "-serverpref",
            ],
            "T",
            Some("sha1_signature"),
        ),
        Fixture {
            starttls: Some(Starttls::Smtp),
            ..fixture("SMTP STARTTLS", "leaf", MODERN_12_13, "A+", None)
        },
        Fixture {
            starttls: Some(Starttls::Imap),
            ..fixture("IMAP STARTTLS", "leaf", MODERN_12_13, "A+", None)
        },
        Fixture {
            starttls: Some(Starttls::Pop3),
            ..fixture("POP3 STARTTLS", "leaf", MODERN_12_13, "A+", None)
        },
    ]
}

/// A mail server on loopback (SMTP, IMAP or POP3) that offers STARTTLS
/// and, once asked, hands the connection to the TLS server on `tls_port`
/// byte for byte: a mail server's STARTTLS in front of any `s_server`
/// fixture.
pub async fn mail_front(protocol: Starttls, tls_port: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = relay_after_starttls(client, protocol, tls_port).await;
            });
        }
    });
    port
}

/// The greeting, and the answer to one command line: `(reply, start TLS now)`.
fn mail_reply(protocol: Starttls, line: &str) -> (String, bool) {
    let words: Vec<&str> = line.split_whitespace().collect();
    match protocol {
        Starttls::Smtp => match words.first().map(|w| w.to_ascii_uppercase()).as_deref() {
            Some("EHLO") => (
                "250-mx.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n".into(),
                false,
            ),
            Some("STARTTLS") => ("220 2.0.0 Ready to start TLS\r\n".into(), true),
            _ => ("502 5.5.1 Not here\r\n".into(), false),
        },
        Starttls::Imap => {
            let tag = words.first().copied().unwrap_or("*");
            match words.get(1).map(|w| w.to_ascii_uppercase()).as_deref() {
                Some("CAPABILITY") => (
                    format!("* CAPABILITY IMAP4rev1 STARTTLS\r\n{tag} OK done\r\n"),
                    false,
                ),
                Some("STARTTLS") => (format!("{tag} OK Begin TLS negotiation now\r\n"), true),
                _ => (format!("{tag} BAD not here\r\n"), false),
            }
        }
        Starttls::Pop3 => match words.first().map(|w| w.to_ascii_uppercase()).as_deref() {
            Some("CAPA") => ("+OK\r\nSTLS\r\n.\r\n".into(), false),
            Some("STLS") => ("+OK Begin TLS negotiation\r\n".into(), true),
            _ => ("-ERR not here\r\n".into(), false),
        },
    }
}

async fn relay_after_starttls(
    client: TcpStream,
    protocol: Starttls,
    tls_port: u16,
) -> std::io::Result<()> {
    let mut client = BufReader::new(client);
    let greeting: &[u8] = match protocol {
        Starttls::Smtp => b"220 mx.example ESMTP ready\r\n",
        Starttls::Imap => b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n",
        Starttls::Pop3 => b"+OK ready\r\n",
    };
    client.get_mut().write_all(greeting).await?;
    let mut line = String::new();
    loop {
        line.clear();
        if client.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let (reply, start) = mail_reply(protocol, &line);
        client.get_mut().write_all(reply.as_bytes()).await?;
        if start {
            break;
        }
    }
    let mut server = TcpStream::connect(("127.0.0.1", tls_port)).await?;
    let mut client = client.into_inner();
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}
