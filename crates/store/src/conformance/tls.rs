//! Conformance cases: TLS scans, claimed once per endpoint across nodes.

use serde_json::json;

use super::*;
use crate::TlsScanRecord;

async fn tls_scans_are_claimed_once_per_endpoint(store: Arc<dyn Store>, twin: Arc<dyn Store>) {
    const HOUR: i64 = 3_600_000;
    let endpoint = "shop.example:443";
    assert_eq!(store.get_tls_scan(endpoint).await.unwrap(), None);
    // Two nodes race for the first scan: exactly one wins.
    let (a, b) = tokio::join!(
        store.claim_tls_scan(endpoint, 100 * HOUR, 76 * HOUR, Some("aa")),
        twin.claim_tls_scan(endpoint, 100 * HOUR, 76 * HOUR, Some("aa"))
    );
    assert!(a.unwrap() ^ b.unwrap());
    let graded = TlsScanRecord {
        endpoint: endpoint.into(),
        claimed_at: 100 * HOUR,
        graded_at: Some(100 * HOUR + 3_000),
        cert_sha256: Some("aa".into()),
        grade: Some("A".into()),
        grade_ignoring_trust: Some("A".into()),
        report: Some(json!({"grade": "A", "reasons": [{"code": "no_hsts", "cap": "A"}]})),
        error: None,
    };
    store.finish_tls_scan(&graded).await.unwrap();
    assert_eq!(
        store.get_tls_scan(endpoint).await.unwrap(),
        Some(graded.clone())
    );
    // Within the day, the same certificate is not scanned again…
    assert!(
        !store
            .claim_tls_scan(endpoint, 110 * HOUR, 86 * HOUR, Some("aa"))
            .await
            .unwrap()
    );
    // …but a new certificate is, once the minute's spacing has passed.
    assert!(
        store
            .claim_tls_scan(endpoint, 110 * HOUR, 86 * HOUR, Some("bb"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_tls_scan(endpoint, 110 * HOUR + 1_000, 86 * HOUR, Some("cc"))
            .await
            .unwrap(),
        "a minute apart at most"
    );
    let reclaimed = store.get_tls_scan(endpoint).await.unwrap().unwrap();
    assert_eq!(reclaimed.cert_sha256.as_deref(), Some("bb"));
    assert_eq!(
        reclaimed.grade.as_deref(),
        Some("A"),
        "kept until the scan ends"
    );
    // A day later, whatever the certificate.
    assert!(
        store
            .claim_tls_scan(endpoint, 135 * HOUR, 111 * HOUR, Some("bb"))
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_tls_scan("mail.example:25", 110 * HOUR, 86 * HOUR, None)
            .await
            .unwrap()
    );
    let grades = store
        .list_tls_grades(&[endpoint.to_string(), "mail.example:25".into(), "x:1".into()])
        .await
        .unwrap();
    assert_eq!(grades, [(endpoint.to_string(), "A".to_string())]);
}
register!(race: tls_scans_are_claimed_once_per_endpoint);
