//! An email channel through the outbox to a fake SMTP server on loopback.

use std::sync::Arc;
use std::time::Duration;

use certsentry_domain::OrgId;
use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::channel::{
    Channel, ChannelDraft, ChannelType, SmtpDraft, SmtpTls, validate_channel,
};
use certsentry_domain::org::Org;
use certsentry_domain::time::now_ms;
use certsentry_notify::{Outbox, OutboxConfig};
use certsentry_store::{DeliveryQuery, DeliveryStatus, Store};
use certsentry_store_sqlite::SqliteBackend;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_channel_sends_text_and_html() {
    let (port, messages) = certsentry_notify::smtp_sink::smtp_sink().await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteBackend::open(&dir.path().join("e.db")).await.unwrap());
    let org = Org {
        id: OrgId::generate(),
        name: "mail".into(),
        plan: "agency".into(),
        created_at: now_ms(),
    };
    let audit = || AuditEvent::new(&org.id, &Actor::cli(), "x", "x", "x", json!({}));
    store.create_org(&org, &audit()).await.unwrap();
    let input = ChannelDraft {
        name: Some("ops mail".into()),
        channel_type: Some(ChannelType::Email),
        smtp: Some(SmtpDraft {
            host: Some("127.0.0.1".into()),
            port: Some(port),
            tls: Some(SmtpTls::None),
            ..Default::default()
        }),
        from: Some("alerts@certsentry.example".into()),
        to: Some(vec!["ops@example.com".into(), "oncall@example.com".into()]),
        ..Default::default()
    };
    let channel = Channel::new(org.id.clone(), validate_channel(input, None).unwrap());
    store.create_channel(&channel, &audit()).await.unwrap();
    let event = certsentry_notify::format::sample_event(&org.id);
    store.record_alert(None, Some(&event), None).await.unwrap();

    let outbox = Outbox::new(
        store.clone(),
        OutboxConfig {
            allow_private_targets: true,
            timeout: Duration::from_secs(5),
            ..Default::default()
        },
        Arc::new(tokio::sync::Notify::new()),
    );
    assert_eq!(outbox.run_once().await.unwrap(), 1);
    let log = store
        .list_deliveries(
            &org.id,
            &DeliveryQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        log.items[0].status,
        DeliveryStatus::Delivered,
        "{:?}",
        log.items[0]
    );
    assert_eq!(log.items[0].attempt_log[0].status_code, Some(250));
    let messages = messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert!(
        message.contains("Subject: [CertSentry] critical uptime.down: Test: example monitor"),
        "{message}"
    );
    assert!(
        message.contains("text/plain") && message.contains("text/html"),
        "{message}"
    );
    assert!(message.contains("ops@example.com") && message.contains("oncall@example.com"));
    assert!(message.contains("connect timeout"));

    // A private SMTP host is refused unless the operator allows it.
    store
        .record_alert(None, Some(&event_again(&org.id)), None)
        .await
        .unwrap();
    let strict = Outbox::new(
        store.clone(),
        OutboxConfig::default(),
        Arc::new(tokio::sync::Notify::new()),
    );
    strict.run_once().await.unwrap();
    let log = store
        .list_deliveries(
            &org.id,
            &DeliveryQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let error = log.items[0].attempt_log[0].error.clone().unwrap();
    assert!(
        error.contains("refused") && error.contains("SMTP host"),
        "{error}"
    );
}

fn event_again(org: &OrgId) -> certsentry_domain::alert::Event {
    certsentry_notify::format::sample_event(org)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_hears_when_a_failing_channel_is_disabled() {
    let (port, messages) = certsentry_notify::smtp_sink::smtp_sink().await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteBackend::open(&dir.path().join("o.db")).await.unwrap());
    let org = Org {
        id: OrgId::generate(),
        name: "ops".into(),
        plan: "agency".into(),
        created_at: now_ms(),
    };
    let audit = || AuditEvent::new(&org.id, &Actor::cli(), "x", "x", "x", json!({}));
    store.create_org(&org, &audit()).await.unwrap();
    let input = ChannelDraft {
        name: Some("dead hook".into()),
        channel_type: Some(ChannelType::Webhook),
        url: Some("http://127.0.0.1:1/hook".into()),
        ..Default::default()
    };
    let channel = Channel::new(org.id.clone(), validate_channel(input, None).unwrap());
    store.create_channel(&channel, &audit()).await.unwrap();
    let event = certsentry_notify::format::sample_event(&org.id);
    store.record_alert(None, Some(&event), None).await.unwrap();

    // Every attempt fails, and the limit is zero: the first failure disables it.
    let outbox = Outbox::new(
        store.clone(),
        OutboxConfig {
            allow_private_targets: true,
            timeout: Duration::from_secs(5),
            disable_after: Duration::ZERO,
            operator: Some(certsentry_notify::email::OperatorMail {
                smtp_url: format!("smtp://127.0.0.1:{port}"),
                address: "operator@example.com".into(),
            }),
            ..Default::default()
        },
        Arc::new(tokio::sync::Notify::new()),
    );
    assert_eq!(outbox.run_once().await.unwrap(), 1);
    assert!(
        !store
            .get_channel(&org.id, &channel.id)
            .await
            .unwrap()
            .unwrap()
            .spec
            .enabled
    );
    let messages = messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("Subject: [CertSentry] notification channel \"dead hook\" disabled"),
        "{}",
        messages[0]
    );
    assert!(messages[0].contains("operator@example.com"));
    assert!(messages[0].contains(channel.id.as_str()));
}
