//! DNS probes against an in-process hickory server on loopback.

use std::time::Duration;

use certsentry_domain::dns::{DnsChangeTracker, RrState};
use certsentry_probes::dns::{failure, resolver, snapshot};
use certsentry_probes::testing::DnsFixture;
use hickory_server::proto::rr::rdata::{A, MX, TXT};
use hickory_server::proto::rr::{Name, RData, RecordType};

#[tokio::test]
async fn records_are_normalized_and_states_are_distinct() {
    let dns = DnsFixture::start("example.test.").await;
    dns.set(
        "www.example.test.",
        vec![
            RData::A(A("192.0.2.2".parse().unwrap())),
            RData::A(A("192.0.2.1".parse().unwrap())),
        ],
    )
    .await;
    dns.set(
        "www.example.test.",
        vec![RData::MX(MX::new(
            10,
            Name::from_ascii("MX1.Example.Test.").unwrap(),
        ))],
    )
    .await;
    dns.set(
        "www.example.test.",
        vec![RData::TXT(TXT::new(vec!["v=spf1 -all".into()]))],
    )
    .await;
    let resolver = resolver(&[dns.addr], Duration::from_secs(2)).unwrap();

    let seen = snapshot(&resolver, "www.example.test").await;
    assert_eq!(
        seen["A"],
        RrState::Records(vec!["192.0.2.1".into(), "192.0.2.2".into()]),
        "sorted"
    );
    assert_eq!(
        seen["MX"],
        RrState::Records(vec!["10 mx1.example.test".into()]),
        "lowercased, no trailing dot"
    );
    assert_eq!(seen["TXT"], RrState::Records(vec!["v=spf1 -all".into()]));
    assert_eq!(seen["CAA"], RrState::Nodata);
    assert_eq!(failure(&seen), None);

    let missing = snapshot(&resolver, "nope.example.test").await;
    assert!(
        missing.values().all(|s| *s == RrState::Nxdomain),
        "{missing:?}"
    );
    assert_eq!(failure(&missing).as_deref(), Some("DNS: NXDOMAIN"));

    // A server that does not answer: timeouts, not changes.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let quiet = certsentry_probes::dns::resolver(
        &[silent.local_addr().unwrap()],
        Duration::from_millis(200),
    )
    .unwrap();
    let timed_out = snapshot(&quiet, "www.example.test").await;
    assert!(
        timed_out.values().all(|s| *s == RrState::Timeout),
        "{timed_out:?}"
    );
}

#[tokio::test]
async fn a_record_change_is_confirmed_on_the_second_check() {
    let dns = DnsFixture::start("example.test.").await;
    dns.set(
        "app.example.test.",
        vec![RData::A(A("192.0.2.10".parse().unwrap()))],
    )
    .await;
    let resolver = resolver(&[dns.addr], Duration::from_secs(2)).unwrap();
    let mut tracker = DnsChangeTracker::default();
    assert_eq!(
        tracker.observe(&snapshot(&resolver, "app.example.test").await),
        None
    );

    dns.set(
        "app.example.test.",
        vec![RData::A(A("192.0.2.99".parse().unwrap()))],
    )
    .await;
    assert_eq!(
        tracker.observe(&snapshot(&resolver, "app.example.test").await),
        None,
        "first sighting"
    );
    let change = tracker
        .observe(&snapshot(&resolver, "app.example.test").await)
        .expect("confirmed on the second");
    assert_eq!(
        change.before["A"],
        RrState::Records(vec!["192.0.2.10".into()])
    );
    assert_eq!(
        change.after["A"],
        RrState::Records(vec!["192.0.2.99".into()])
    );

    dns.clear("app.example.test.", RecordType::A).await;
    assert_eq!(
        tracker.observe(&snapshot(&resolver, "app.example.test").await),
        None
    );
    let removed = tracker
        .observe(&snapshot(&resolver, "app.example.test").await)
        .expect("removal confirmed");
    assert!(
        matches!(removed.after["A"], RrState::Nodata | RrState::Nxdomain),
        "{removed:?}"
    );
}
