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
    /// `[[dmarc.imap]]`: mailboxes to poll, one table each.
    #[serde(default)]
    imap: Vec<ImapSettings>,
}

/// A secret from the configuration: usable, never printed.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

/// One `[[dmarc.imap]]` table: a mailbox whose report mail is imported for
/// an organization's domains, over IMAPS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapSettings {
    pub host: String,
    #[serde(default = "imaps_port")]
    pub port: u16,
    pub username: String,
    pub password: Secret,
    /// The organization (its id) whose DMARC domains the reports are for.
    pub org: String,
    #[serde(default = "inbox")]
    pub folder: String,
    /// Where read messages are moved.
    #[serde(default = "processed")]
    pub processed_folder: String,
    #[serde(default = "five_minutes")]
    pub interval_seconds: u64,
    /// PEM CA certificates to trust for this server (an internal CA).
    pub ca_file: Option<PathBuf>,
}

fn imaps_port() -> u16 {
    993
}
fn inbox() -> String {
    "INBOX".into()
}
fn processed() -> String {
    "DMARC/Processed".into()
}
fn five_minutes() -> u64 {
    300
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
    pub imap: Vec<ImapSettings>,
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
            args.smtp_tls_cert.clone().or(file.smtp_tls_cert.clone()),
            args.smtp_tls_key.clone().or(file.smtp_tls_key.clone()),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => anyhow::bail!("STARTTLS needs both --smtp-tls-cert and --smtp-tls-key"),
        };
        let smtp = args
            .smtp_listen
            .clone()
            .or(file.smtp_listen.clone())
            .map(|listen| SmtpSettings {
                listen,
                tls,
                max_message_bytes: args
                    .smtp_max_message_bytes
                    .or(file.smtp_max_message_bytes)
                    .unwrap_or(DEFAULT_MAX_MESSAGE_BYTES),
                max_connections_per_ip: DEFAULT_CONNECTIONS_PER_IP,
            });
        Ok(Self {
            mail_domain,
            smtp,
            imap: file.imap,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imap_tables_resolve_with_defaults_and_hide_the_password() {
        let file: DmarcFile = toml::from_str(
            "mail_domain = \"reports.example.net\"\n\
             [[imap]]\nhost = \"imap.example.net\"\nusername = \"dmarc\"\n\
             password = \"s3cret-pass\"\norg = \"cmx000000000000000\"\n\
             [[imap]]\nhost = \"mail.example.org\"\nport = 1993\nusername = \"r\"\n\
             password = \"x\"\norg = \"cmx000000000000001\"\nfolder = \"Reports\"\n",
        )
        .unwrap();
        let settings =
            DmarcSettings::resolve(&DmarcArgs::default(), file, "http://127.0.0.1:8765").unwrap();
        assert_eq!(settings.mail_domain, "reports.example.net");
        assert_eq!(settings.imap.len(), 2);
        let first = &settings.imap[0];
        assert_eq!((first.port, first.folder.as_str()), (993, "INBOX"));
        assert_eq!(first.processed_folder, "DMARC/Processed");
        assert_eq!(
            (settings.imap[1].port, settings.imap[1].folder.as_str()),
            (1993, "Reports")
        );
        assert!(!format!("{settings:?}").contains("s3cret"));
    }
}
