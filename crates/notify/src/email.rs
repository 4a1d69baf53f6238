//! Email channels: SMTP through lettre, with STARTTLS or implicit TLS,
//! credentials, and a plain-text plus HTML body. The SMTP host gets the
//! same private-address guard as webhook URLs, and the connection goes to
//! the address that was checked (TLS still verifies the host name).

use std::time::{Duration, Instant};

use certsentry_domain::alert::Event;
use certsentry_domain::channel::{ChannelSpec, SmtpTls};
use certsentry_domain::net::TargetPolicy;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::http::AttemptResult;

/// The subject line: severity, event and monitor.
pub fn subject(event: &Event) -> String {
    let label = event
        .monitor
        .as_ref()
        .map(|m| m.label.as_str())
        .unwrap_or("CertSentry");
    format!(
        "[CertSentry] {} {}: {label}",
        event.severity.as_str(),
        event.event_type.as_str()
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The plain-text and HTML bodies.
pub fn bodies(event: &Event) -> (String, String) {
    let mut rows = vec![
        ("Event".to_string(), event.event_type.as_str().to_string()),
        ("Severity".to_string(), event.severity.as_str().to_string()),
        ("Status".to_string(), event.status.clone()),
    ];
    if let Some(m) = &event.monitor {
        rows.push(("Monitor".into(), m.label.clone()));
        if let Some(target) = &m.target {
            rows.push(("Target".into(), target.clone()));
        }
    }
    if let Some(details) = event.details.as_object() {
        for (k, v) in details {
            let value = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            rows.push((k.clone(), value));
        }
    }
    rows.push((
        "Time".into(),
        certsentry_domain::time::format_ms(event.created_at),
    ));
    let text = rows
        .iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect::<String>();
    let html = format!(
        "<html><body><h2>{}</h2><table>{}</table></body></html>",
        escape(&subject(event)),
        rows.iter()
            .map(|(k, v)| format!(
                "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
                escape(k),
                escape(v)
            ))
            .collect::<String>()
    );
    (text, html)
}

/// Sends one event to an email channel; the SMTP reply code is the status.
pub async fn send(
    spec: &ChannelSpec,
    event: &Event,
    timeout: Duration,
    allow_private: bool,
) -> AttemptResult {
    let started = Instant::now();
    let failed = |error: String| AttemptResult::failed(started.elapsed(), error);
    let (Some(smtp), Some(from)) = (&spec.smtp, &spec.from) else {
        return failed("the channel has no SMTP settings".into());
    };
    let message = match build_message(from, &spec.to, event) {
        Ok(m) => m,
        Err(e) => return failed(e),
    };
    let address = match tokio::net::lookup_host((smtp.host.as_str(), smtp.port)).await {
        Ok(mut found) => match found.next() {
            Some(a) => a,
            None => return failed(format!("SMTP: {} has no address", smtp.host)),
        },
        Err(e) => return failed(format!("SMTP: resolving {}: {e}", smtp.host)),
    };
    if let Err(refusal) = TargetPolicy::new(allow_private)
        .check_resolved(&format!("the SMTP host {}", smtp.host), address.ip())
    {
        return failed(refusal.to_string());
    }
    let tls = match smtp.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::StartTls | SmtpTls::Tls => match TlsParameters::new(smtp.host.clone()) {
            Ok(params) if smtp.tls == SmtpTls::Tls => Tls::Wrapper(params),
            Ok(params) => Tls::Required(params),
            Err(e) => return failed(format!("SMTP TLS: {e}")),
        },
    };
    let mut builder =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address.ip().to_string())
            .port(address.port())
            .tls(tls)
            .timeout(Some(timeout));
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    match builder.build().send(message).await {
        Ok(response) => AttemptResult {
            status_code: Some(u16::from(response.code())),
            duration: started.elapsed(),
            body: Some(response.message().collect::<Vec<_>>().join("\n")),
            error: None,
            retry_after: None,
        },
        Err(e) => AttemptResult {
            status_code: e.status().map(u16::from),
            ..failed(format!("SMTP: {e}"))
        },
    }
}

/// Where the operator hears about channels the outbox disabled.
#[derive(Debug, Clone)]
pub struct OperatorMail {
    /// lettre's SMTP URL: `smtp://host:25`, `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS) or `smtps://user:pass@host:465`.
    pub smtp_url: String,
    /// The operator's address, also the sender.
    pub address: String,
}

/// Sends a plain-text message from the operator's address to `to`
/// through the operator's SMTP server: the operator's own notices, and
/// the dashboard's invitations and password-reset links.
pub async fn send_from_operator(
    mail: &OperatorMail,
    to: &str,
    subject: &str,
    text: String,
    timeout: Duration,
) -> Result<(), String> {
    let from: Mailbox = mail
        .address
        .parse()
        .map_err(|e| format!("operator address: {e}"))?;
    let to: Mailbox = to.parse().map_err(|e| format!("to {to}: {e}"))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .body(text)
        .map_err(|e| format!("building the message: {e}"))?;
    AsyncSmtpTransport::<Tokio1Executor>::from_url(&mail.smtp_url)
        .map_err(|e| format!("operator SMTP URL: {e}"))?
        .timeout(Some(timeout))
        .build()
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("SMTP: {e}"))
}

/// Tells the operator that a channel was disabled, and why.
pub async fn notify_operator(
    mail: &OperatorMail,
    disabled: &certsentry_store::DisabledChannel,
    timeout: Duration,
) -> Result<(), String> {
    let text = format!(
        "CertSentry disabled the notification channel \"{}\" ({}) of organization {}.\n\nReason: {}\n\nFix the receiver, then enable the channel again (PATCH /api/v1/notification-channels/{} with \"enabled\": true).\n",
        disabled.name, disabled.channel_id, disabled.org_id, disabled.reason, disabled.channel_id
    );
    let subject = format!(
        "[CertSentry] notification channel \"{}\" disabled",
        disabled.name
    );
    send_from_operator(mail, &mail.address, &subject, text, timeout).await
}

fn build_message(from: &str, to: &[String], event: &Event) -> Result<Message, String> {
    let from: Mailbox = from.parse().map_err(|e| format!("from: {e}"))?;
    let mut builder = Message::builder().from(from).subject(subject(event));
    for address in to {
        builder = builder.to(address.parse().map_err(|e| format!("to {address}: {e}"))?);
    }
    let (text, html) = bodies(event);
    builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("building the message: {e}"))
}
