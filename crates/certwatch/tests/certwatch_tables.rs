//! certwatch's tables against a scratch database: the schema check, the
//! inventory lookup in every spelling, one alert per issuance, decisions,
//! delivery bookkeeping and pruning.

use std::time::Duration;

use certsentry_certwatch::postgres::{PgCertwatch, SCHEMA};
use certsentry_certwatch::tables::{CertKeys, CertwatchTables, NewAlert};
use certsentry_store_postgres::testing::fresh_database;
use serde_json::json;
use sqlx::Connection;

fn keys(n: u8) -> CertKeys {
    CertKeys {
        fingerprint_sha1: format!("{n:02x}").repeat(20),
        cert_sha256: format!("{n:02x}").repeat(32),
        tbs_sha256: format!("{:02x}", n + 100).repeat(32),
    }
}

fn payload(keys: &CertKeys, severity: &str) -> serde_json::Value {
    json!({
        "fingerprint_sha1": keys.fingerprint_sha1, "severity": severity,
        "matched_entries": ["example.org"], "matched_sans": ["shop.example.org"],
        "all_sans": ["shop.example.org"], "issuer_o": "Test CA", "issuer_cn": "CT1",
        "not_before": 1_761_915_088, "not_after": 1_769_694_679, "lifetime_days": 90.0,
        "source_log": "Test Log", "cert_link": null, "serial": "0102",
        "update_type": "PrecertLogEntry", "seen_at": 1_761_918_776
    })
}

#[tokio::test]
async fn certwatch_tables_round_trip() {
    let Some(url) = fresh_database().await else {
        return;
    };
    // Without the schema, connecting says what to do.
    let error = PgCertwatch::connect(&url)
        .await
        .err()
        .expect("no schema yet");
    assert!(error.to_string().contains("--print-schema"), "{error}");

    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(SCHEMA).execute(&mut admin).await.unwrap();
    sqlx::raw_sql(SCHEMA).execute(&mut admin).await.unwrap(); // idempotent
    let inventoried = keys(1).fingerprint_sha1.to_ascii_uppercase();
    let colons: Vec<String> = inventoried
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect();
    sqlx::query("INSERT INTO public.certs (fingerprint_sha1) VALUES ($1)")
        .bind(colons.join(":"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("INSERT INTO public.certs (fingerprint_sha1, tbs_sha256) VALUES ('x', $1)")
        .bind(keys(3).tbs_sha256)
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("INSERT INTO public.intent_current (fqdn) VALUES ('example.org'), ('*.acme.test')")
        .execute(&mut admin)
        .await
        .unwrap();

    let tables = PgCertwatch::connect(&url).await.unwrap();
    let mut names = tables.watched_names().await.unwrap();
    names.sort();
    assert_eq!(names, vec!["*.acme.test", "example.org"]);
    assert!(
        tables.in_inventory(&keys(1)).await.unwrap(),
        "SHA-1 with colons, uppercase"
    );
    assert!(!tables.in_inventory(&keys(2)).await.unwrap());
    assert!(
        tables.in_inventory(&keys(3)).await.unwrap(),
        "by tbs_sha256"
    );

    // One row per issuance.
    let new = NewAlert {
        keys: keys(2),
        payload: payload(&keys(2), "suspicious"),
        decided: false,
        deliver: false,
    };
    let id = tables
        .insert_alert(&new)
        .await
        .unwrap()
        .expect("a new alert");
    assert_eq!(
        tables.insert_alert(&new).await.unwrap(),
        None,
        "deduplicated by tbs_sha256"
    );
    assert!(
        tables.due_deliveries(10).await.unwrap().is_empty(),
        "undecided: not sent"
    );
    assert!(
        tables
            .undecided_alerts(Duration::from_secs(3600), 10)
            .await
            .unwrap()
            .is_empty(),
        "still in its grace window"
    );
    let undecided = tables.undecided_alerts(Duration::ZERO, 10).await.unwrap();
    assert_eq!(undecided.len(), 1);
    assert_eq!(undecided[0].keys, keys(2));
    assert_eq!(undecided[0].payload["severity"], "suspicious");

    // Decided and queued; a failed delivery waits for its retry time.
    let decided = payload(&keys(2), "info");
    assert!(tables.decide_alert(id, &decided, true).await.unwrap());
    assert!(
        !tables.decide_alert(id, &decided, true).await.unwrap(),
        "decided once"
    );
    let due = tables.due_deliveries(10).await.unwrap();
    assert_eq!((due.len(), due[0].attempts), (1, 0));
    tables
        .record_delivery(id, 3, Some("HTTP 500"), Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(tables.due_deliveries(10).await.unwrap().is_empty());
    tables
        .record_delivery(id, 3, Some("HTTP 500"), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(tables.due_deliveries(10).await.unwrap()[0].attempts, 6);
    tables
        .record_delivery(id, 1, None, Duration::ZERO)
        .await
        .unwrap();
    assert!(tables.due_deliveries(10).await.unwrap().is_empty());
    let row: (bool, String, f64, i32, Option<String>, bool) = sqlx::query_as(
        "SELECT delivered, severity, lifetime_days, attempts, last_error, \
           not_before = to_timestamp(1761915088) FROM public.alerts WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(row, (true, "info".into(), 90.0, 7, None, true));

    // Decided at once, then pruned with the rest.
    let known = NewAlert {
        keys: keys(1),
        payload: payload(&keys(1), "info"),
        decided: true,
        deliver: true,
    };
    tables.insert_alert(&known).await.unwrap().unwrap();
    assert_eq!(tables.due_deliveries(10).await.unwrap().len(), 1);
    assert_eq!(
        tables
            .prune_alerts(Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        tables.prune_alerts(Duration::from_millis(1)).await.unwrap(),
        2
    );
}
