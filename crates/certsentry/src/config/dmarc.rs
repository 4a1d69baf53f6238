//! DMARC intake settings: the domain of the reporting addresses and the
//! inbound SMTP listener (off unless `--smtp-listen` is set).

use std::path::PathBuf;

use serde::Deserialize;

/// The largest message the listener accepts unless told otherwise.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;
/// Simultaneous SMTP connections from one address.
pub const DEFAULT_CONNECTIONS_PER_IP: usize = 8;

/// `serve`'s DMARC flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DmarcArgs {
    /// Domain of the DMARC reporting addresses, `dmarc+TOKEN@DOMAIN` (default: the host of --public-url).
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_DMARC_MAIL_DOMAIN",
        value_name = "DOMAIN"
    )]
    pub dmarc_mail_domain: Option<String>,
    /// Accept DMARC report mail by SMTP on this address (for example `0.0.0.0:2525`); off by default.
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_SMTP_LISTEN",
        value_name = "ADDR"
    )]
    pub smtp_listen: Option<String>,
    /// PEM certificate chain for SMTP STARTTLS (with --smtp-tls-key).
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_SMTP_TLS_CERT",
        value_name = "FILE"
    )]
    pub smtp_tls_cert: Option<PathBuf>,
    /// PEM private key for SMTP STARTTLS.
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_SMTP_TLS_KEY",
        value_name = "FILE"
    )]
    pub smtp_tls_key: Option<PathBuf>,
    /// Largest SMTP message accepted, in bytes (default 25 MiB).
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_SMTP_MAX_MESSAGE_BYTES",
        value_name = "BYTES"
    )]
    pub smtp_max_message_bytes: Option<usize>,
}

/// The `[dmarc]` table of the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DmarcFile {
    mail_domain: Option<String>,
    smtp_listen: Option<String>,
    smtp_tls_cert: Option<PathBuf>,
    smtp_tls_key: Option<PathBuf>,
    smtp_max_message_bytes: Option<usize>,
}

/// The SMTP listener's settings.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub listen: String,
    /// Certificate and key files for STARTTLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub max_message_bytes: usize,
    pub max_connections_per_ip: usize,
}

/// DMARC settings, resolved.
#[derive(Debug, Clone)]
pub struct DmarcSettings {
    pub mail_domain: String,
    pub smtp: Option<SmtpSettings>,
}

impl DmarcSettings {
    /// Flags and env beat the file; the mail domain defaults to the public
    /// URL's host.
    pub(super) fn resolve(
        args: &DmarcArgs,
        file: DmarcFile,
        public_url: &str,
    ) -> anyhow::Result<Self> {
        let mail_domain = match args.dmarc_mail_domain.clone().or(file.mail_domain) {
            Some(domain) => domain.trim().trim_end_matches('.').to_ascii_lowercase(),
            None => url::Url::parse(public_url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| "localhost".into()),
        };
        let tls = match (
            args.smtp_tls_cert.clone().or(file.smtp_tls_cert),
            args.smtp_tls_key.clone().or(file.smtp_tls_key),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => anyhow::bail!("STARTTLS needs both --smtp-tls-cert and --smtp-tls-key"),
        };
        let smtp = args
            .smtp_listen
            .clone()
            .or(file.smtp_listen)
            .map(|listen| SmtpSettings {
                listen,
                tls,
                max_message_bytes: args
                    .smtp_max_message_bytes
                    .or(file.smtp_max_message_bytes)
                    .unwrap_or(DEFAULT_MAX_MESSAGE_BYTES),
                max_connections_per_ip: DEFAULT_CONNECTIONS_PER_IP,
            });
        Ok(Self { mail_domain, smtp })
    }
}
