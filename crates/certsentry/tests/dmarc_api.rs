//! The DMARC API end to end on every backend: domains and their reporting
//! address, uploads of real report files (stored once), refused files with
//! their reason, sources, and the two alerts through the outbox.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

fn sample(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dmarc/tests/samples/aggregate");
    std::fs::read(dir.join(name)).unwrap()
}

/// An aggregate report for `domain` with `(ip, count, dkim, spf)` rows.
fn report_xml(domain: &str, id: &str, begin: i64, rows: &[(&str, u64, &str, &str)]) -> Vec<u8> {
    let rows: String = rows
        .iter()
        .map(|(ip, count, dkim, spf)| {
            format!(
                "<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>\
                 <disposition>none</disposition><dkim>{dkim}</dkim><spf>{spf}</spf>\
                 </policy_evaluated></row><identifiers><header_from>{domain}</header_from></identifiers></record>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>google.com</org_name>\
         <email>noreply-dmarc-support@google.com</email><report_id>{id}</report_id><date_range>\
         <begin>{begin}</begin><end>{}</end></date_range></report_metadata><policy_published>\
         <domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf><p>reject</p><sp>reject</sp>\
         <pct>100</pct></policy_published>{rows}</feedback>",
        begin + 86_399
    )
    .into_bytes()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domains_uploads_sources_and_alerts() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store.clone(), "agency", |config| {
            config.dmarc_mail_domain = "reports.example.net".into()
        })
        .await;
        let receiver = certsentry_probes::testing::WebhookReceiver::start(
            Vec::new(),
            std::time::Duration::ZERO,
        )
        .await;
        let channel = h
            .post(
                "notification-channels",
                json!({ "name": "dmarc", "type": "webhook", "url": receiver.url,
                        "events": ["dmarc.new_source", "dmarc.failure_rate"] }),
            )
            .await;
        assert_eq!(channel.status, 201, "[{backend}] {}", channel.body);

        // Create: the address is shown once; reads have the reference's fields only.
        let created = h
            .post("dmarc/domains", json!({ "domain": " InDemed.COM. " }))
            .await;
        assert_eq!(created.status, 201, "[{backend}] {}", created.body);
        let address = created.body["ruaAddress"].as_str().unwrap().to_string();
        assert!(
            address.starts_with("dmarc+") && address.ends_with("@reports.example.net"),
            "{address}"
        );
        let id = created.body["domain"]["id"].as_str().unwrap().to_string();
        let listed = h.get("dmarc/domains").await;
        let domain = &listed.body["domains"][0];
        assert_eq!(domain["domain"], "indemed.com");
        assert_eq!(domain["failureRateThresholdPct"], 5);
        assert_eq!(
            keys(domain),
            [
                "createdAt",
                "domain",
                "failureRateThresholdPct",
                "id",
                "lastFailureRateAlertAt"
            ]
            .map(String::from)
            .into()
        );
        assert!(
            !listed.body.to_string().contains(&address[6..20]),
            "no token in reads"
        );
        assert_eq!(
            h.get(&format!("dmarc/domains/{id}")).await.body["domain"]["id"],
            id
        );
        let again = h
            .post("dmarc/domains", json!({ "domain": "indemed.com" }))
            .await;
        assert_eq!((again.status.as_u16(), again.code()), (409, "conflict"));
        let bad = h
            .post(
                "dmarc/domains",
                json!({ "domain": "not a domain", "failureRateThresholdPct": 0 }),
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(bad.detail("domain").is_some() && bad.detail("failureRateThresholdPct").is_some());

        // A real gzip report from a receiver: stored once.
        let file = sample("fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz");
        let uploaded = h
            .post_bytes(&format!("dmarc/domains/{id}/reports"), file.clone())
            .await;
        assert_eq!(uploaded.status, 201, "[{backend}] {}", uploaded.body);
        let report = &uploaded.body["reports"][0];
        assert_eq!(report["reporterOrg"], "FastMail Pty Ltd");
        assert_eq!(report["externalId"], "102675056");
        assert_eq!(report["policyPublished"]["domain"], "indemed.com");
        let twice = h
            .post_bytes(&format!("dmarc/domains/{id}/reports"), file)
            .await;
        assert_eq!(
            twice.status,
            200,
            "[{backend}] the same file again: {}; first: {}; reports now: {}",
            twice.body,
            uploaded.body,
            h.get(&format!("dmarc/domains/{id}/reports")).await.body
        );
        assert_eq!(twice.body["duplicate"], true);
        assert_eq!(twice.body["reports"][0]["id"], report["id"]);

        // A file that is no report is refused with its reason, and listed.
        let refused = h
            .post_bytes(
                &format!("dmarc/domains/{id}/reports"),
                b"hello, world".to_vec(),
            )
            .await;
        assert_eq!(refused.status, 422, "[{backend}] {}", refused.body);
        let imports = h.get("dmarc/imports").await;
        assert_eq!(imports.body["imports"][0]["via"], "upload");
        assert!(imports.body["imports"][0]["reason"].as_str().unwrap().len() > 5);

        // A report with a new failing source over the threshold: both alerts.
        let xml = report_xml(
            "indemed.com",
            "wave-1",
            1_767_225_600,
            &[
                ("192.0.2.10", 90, "pass", "pass"),
                ("203.0.113.66", 10, "fail", "fail"),
            ],
        );
        let wave = h
            .post_bytes(&format!("dmarc/domains/{id}/reports"), xml)
            .await;
        assert_eq!(wave.status, 201, "[{backend}] {}", wave.body);
        assert_eq!(wave.body["reports"][0]["failCount"], 10);
        let delivered = h.delivered(&receiver, 2).await;
        let events: BTreeSet<String> = delivered
            .iter()
            .map(|r| {
                serde_json::from_slice::<Value>(&r.body).unwrap()["event"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            events,
            ["dmarc.failure_rate", "dmarc.new_source"]
                .map(String::from)
                .into()
        );
        let body: Value = serde_json::from_slice(&delivered[0].body).unwrap();
        assert_eq!(body["monitor"]["id"], id, "the monitor is the DMARC domain");
        assert_eq!(body["monitor"]["label"], "indemed.com");

        // Source names come from reverse DNS, looked up in the background.
        let arpa = certsentry_probes::testing::DnsFixture::start("113.0.203.in-addr.arpa.").await;
        arpa.set_ptr("66.113.0.203.in-addr.arpa.", "mta7.bulk-sender.example.")
            .await;
        let resolver =
            certsentry_probes::dns::resolver(&[arpa.addr], std::time::Duration::from_secs(2))
                .unwrap();
        let looked_up = certsentry_dmarc::ptr::resolve_due(&store, &std::sync::Arc::new(resolver))
            .await
            .unwrap();
        assert!(looked_up >= 2, "[{backend}] {looked_up}");
        let sources = h.get(&format!("dmarc/domains/{id}/sources")).await;
        let named = sources.body["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["ip"] == "203.0.113.66")
            .unwrap()
            .clone();
        assert_eq!(
            named["ptr"], "mta7.bulk-sender.example",
            "[{backend}] {}",
            sources.body
        );
        let ips: Vec<&str> = sources.body["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["ip"].as_str().unwrap())
            .collect();
        assert!(ips.contains(&"203.0.113.66"), "{ips:?}");
        let reports = h.get(&format!("dmarc/domains/{id}/reports?limit=1")).await;
        assert_eq!(reports.body["reports"][0]["externalId"], "wave-1");
        assert!(reports.body["nextCursor"].is_string());

        // Threshold, rotation and deletion.
        let patched = h
            .patch(
                &format!("dmarc/domains/{id}"),
                json!({ "failureRateThresholdPct": 20 }),
            )
            .await;
        assert_eq!(patched.body["domain"]["failureRateThresholdPct"], 20);
        let rotated = h
            .post(&format!("dmarc/domains/{id}/rotate-token"), json!({}))
            .await;
        assert_eq!(rotated.status, 200);
        assert_ne!(rotated.body["ruaAddress"].as_str().unwrap(), address);
        assert_eq!(h.delete(&format!("dmarc/domains/{id}")).await.status, 200);
        assert_eq!(h.get(&format!("dmarc/domains/{id}")).await.status, 404);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dmarc_domains_are_a_plan_quota() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store.clone(), "pro", |_| {}).await;
        assert_eq!(
            h.post("dmarc/domains", json!({ "domain": "one.example" }))
                .await
                .status,
            201
        );
        let second = h
            .post("dmarc/domains", json!({ "domain": "two.example" }))
            .await;
        assert_eq!(
            (second.status.as_u16(), second.code()),
            (400, "plan_limit"),
            "[{backend}]"
        );
        assert!(
            second.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Pro plan allows 1")
        );

        let starter = add_org(&*store, "starter").await;
        let (_, key) = add_key(&*store, &starter, false).await;
        let refused = h
            .request_with(
                Method::POST,
                "dmarc/domains",
                Some(&key),
                Some(json!({ "domain": "three.example" }).to_string()),
            )
            .await;
        assert_eq!(refused.status, 400, "[{backend}] {}", refused.body);
        assert!(
            refused.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("does not include DMARC")
        );
    }
}
