//! Every error code of the seed's table, the rate limits, and bad input.

mod common;

use std::time::Duration;

use certsentry_domain::audit::{Actor, AuditEvent};
use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_for_missing_malformed_unknown_and_revoked_keys() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let unknown = format!("csk_{}", "A".repeat(40));
        for key in [
            None,
            Some("not-a-key"),
            Some("csk_short"),
            Some(unknown.as_str()),
        ] {
            let reply = h.request_with(Method::GET, "monitors", key, None).await;
            assert_eq!(
                (reply.status.as_u16(), reply.code()),
                (401, "unauthorized"),
                "[{backend}] {key:?}"
            );
        }
        let raw = reqwest::Client::new()
            .get(format!("{}/monitors", h.server.api_url()))
            .header("authorization", format!("Basic {}", h.key))
            .send()
            .await
            .unwrap();
        assert_eq!(raw.status(), 401);

        // Revocation takes effect within a second, despite the key cache.
        assert_eq!(h.get("monitors").await.status, 200);
        let audit = AuditEvent::new(
            &h.org,
            &Actor::cli(),
            "apiKey.revoke",
            "apiKey",
            h.key_id.as_str(),
            json!({}),
        );
        h.store.revoke_api_key(&h.key_id, 1, &audit).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let revoked = h.get("monitors").await;
        assert_eq!(
            (revoked.status.as_u16(), revoked.code()),
            (401, "unauthorized"),
            "[{backend}]"
        );
        assert!(
            revoked.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("revoked")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_for_free_plans_and_read_only_writes() {
    for (backend, store) in backends().await {
        let free = Harness::start(backend, store.clone(), "free", |_| {}).await;
        let reply = free.get("monitors").await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (403, "forbidden"),
            "[{backend}]"
        );

        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let (_, reader) = add_key(&*h.store, &h.org, true).await;
        let read = h
            .request_with(Method::GET, "monitors", Some(&reader), None)
            .await;
        assert_eq!(read.status, 200);
        let write = h
            .request_with(
                Method::POST,
                "monitors",
                Some(&reader),
                Some(seed_standard().to_string()),
            )
            .await;
        assert_eq!((write.status.as_u16(), write.code()), (403, "forbidden"));
        let delete = h
            .request_with(
                Method::DELETE,
                "monitors/cmb1xk2lq0001v8d3",
                Some(&reader),
                None,
            )
            .await;
        assert_eq!(delete.code(), "forbidden");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_includes_other_organizations_objects() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store.clone(), "agency", |_| {}).await;
        let other = Harness::start(backend, store, "agency", |_| {}).await;
        let id = other.post("monitors", seed_standard()).await.body["monitor"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        for reply in [
            h.get(&format!("monitors/{id}")).await,
            h.patch(&format!("monitors/{id}"), seed_standard()).await,
            h.delete(&format!("monitors/{id}")).await,
            h.get("monitors/nope").await,
            h.get("status-pages/cmb1xk2lq0001v8d3").await,
            h.delete("environments/cmb1xk2lq0001v8d3").await,
            h.get("no-such-endpoint").await,
        ] {
            assert_eq!(
                (reply.status.as_u16(), reply.code()),
                (404, "not_found"),
                "[{backend}] {}",
                reply.body
            );
        }
        assert_eq!(
            other.get(&format!("monitors/{id}")).await.status,
            200,
            "still there"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_names_the_fields() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |config| {
            config.allow_private_targets = false
        })
        .await;
        let cases = [
            (
                with(seed_standard(), "uptimeIntervalSeconds", json!(120)),
                "uptimeIntervalSeconds",
            ),
            (
                with(seed_standard(), "regions", json!(["mars"])),
                "regions[0]",
            ),
            (
                with(seed_standard(), "label", json!("x".repeat(101))),
                "label",
            ),
            (
                with(seed_standard(), "alertLeadDays", json!([0, 400])),
                "alertLeadDays[0]",
            ),
            (
                with(seed_standard(), "httpBody", json!("payload")),
                "httpBody",
            ),
            (
                with(seed_standard(), "httpExpectedStatus", json!("2xx")),
                "httpExpectedStatus",
            ),
            (
                with(seed_standard(), "degradedThresholdMs", json!(10)),
                "degradedThresholdMs",
            ),
            (
                with(seed_standard(), "target", json!("127.0.0.1")),
                "target",
            ),
            (with(seed_tcp(), "tcpPort", json!(25)), "tcpPort"),
            (
                with(seed_tcp(), "target", json!("https://db.example.com")),
                "target",
            ),
            (
                with(seed_heartbeat(), "heartbeatGraceSeconds", json!(7)),
                "heartbeatGraceSeconds",
            ),
        ];
        for (body, field) in cases {
            let reply = h.post("monitors", body.clone()).await;
            assert_eq!(
                (reply.status.as_u16(), reply.code()),
                (422, "invalid_input"),
                "[{backend}] {body}"
            );
            assert!(
                reply.detail(field).is_some(),
                "[{backend}] {field} not in {}",
                reply.body
            );
        }
        let private = h
            .post(
                "monitors",
                with(seed_standard(), "target", json!("https://10.1.2.3/health")),
            )
            .await;
        assert!(
            private
                .detail("target")
                .unwrap()
                .contains("CERTSENTRY_ALLOW_PRIVATE_TARGETS")
        );

        // Well-formed JSON that is not a monitor, and bodies that are not JSON: 400.
        let bad_bodies = [
            ("{\"label\": ", "label"),
            ("", "body"),
            ("[1,2]", "body"),
            ("{\"label\": 5}", "label"),
            ("{\"kind\": \"ftp\"}", "kind"),
            ("{\"chekSsl\": true}", "chekSsl"),
            ("{\"regions\": \"virginia\"}", "regions"),
            ("{} trailing", "body"),
        ];
        for (raw, field) in bad_bodies {
            let reply = h
                .request_with(
                    Method::POST,
                    "monitors",
                    Some(&h.key),
                    Some(raw.to_string()),
                )
                .await;
            assert_eq!(
                (reply.status.as_u16(), reply.code()),
                (400, "invalid_input"),
                "[{backend}] {raw}"
            );
            assert!(
                reply.detail(field).is_some(),
                "[{backend}] {raw}: {}",
                reply.body
            );
        }
        let huge = format!("{{\"label\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
        let reply = h
            .request_with(Method::POST, "monitors", Some(&h.key), Some(huge))
            .await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (400, "invalid_input"),
            "[{backend}]"
        );
        assert!(reply.detail("body").unwrap().contains("1 MiB"));

        for query in [
            "monitors?limit=0",
            "monitors?limit=101",
            "monitors?limit=abc",
            "monitors?cursor=garbage",
            "monitors?kind=ftp",
            "monitors?enabled=yes",
            "audit-logs?since=yesterday",
            "audit-logs?limit=501",
        ] {
            let reply = h.get(query).await;
            assert_eq!(
                (reply.status.as_u16(), reply.code()),
                (400, "invalid_input"),
                "[{backend}] {query}"
            );
        }

        // Kind can't change on PATCH.
        let id = h.post("monitors", seed_standard()).await.body["monitor"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let reply = h.patch(&format!("monitors/{id}"), seed_tcp()).await;
        assert!(reply.detail("kind").is_some(), "{}", reply.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_limits_use_the_seed_wording() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "starter", |_| {}).await;
        for i in 0..10 {
            let reply = h
                .post(
                    "monitors",
                    with(seed_standard(), "label", json!(format!("m{i}"))),
                )
                .await;
            assert_eq!(reply.status, 201, "[{backend}] {}", reply.body);
        }
        let eleventh = h.post("monitors", seed_standard()).await;
        assert_eq!(
            (eleventh.status.as_u16(), eleventh.code()),
            (400, "plan_limit"),
            "[{backend}]"
        );
        assert_eq!(
            eleventh.body["error"]["message"],
            "The Starter plan allows 10 monitors. Upgrade to add more."
        );

        let id = h.get("monitors?limit=1").await.body["monitors"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let regions = h
            .patch(
                &format!("monitors/{id}"),
                with(seed_standard(), "regions", json!(["virginia", "dublin"])),
            )
            .await;
        assert_eq!(regions.code(), "plan_limit");
        let ct = h
            .patch(
                &format!("monitors/{id}"),
                with(seed_standard(), "checkCt", json!(true)),
            )
            .await;
        assert_eq!(ct.code(), "plan_limit");
        let audit = h.get("audit-logs").await;
        assert_eq!((audit.status.as_u16(), audit.code()), (400, "plan_limit"));

        let page = json!({"slug": format!("starter-{}", &id[9..]), "title": "t", "monitors": [{"monitorId": id, "publicLabel": "x"}]});
        assert_eq!(h.post("status-pages", page.clone()).await.status, 201);
        let second = h
            .post(
                "status-pages",
                with(page, "slug", json!(format!("starter2-{}", &id[9..]))),
            )
            .await;
        assert_eq!(second.code(), "plan_limit");
        assert_eq!(
            second.body["error"]["message"],
            "The Starter plan allows 1 status page. Upgrade to add more."
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_on_duplicate_external_ids_and_slugs() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store.clone(), "agency", |_| {}).await;
        let other = Harness::start(backend, store, "agency", |_| {}).await;
        let body = with(seed_standard(), "externalId", json!("acme-web"));
        assert_eq!(h.post("monitors", body.clone()).await.status, 201);
        let dup = h.post("monitors", body.clone()).await;
        assert_eq!(
            (dup.status.as_u16(), dup.code()),
            (409, "conflict"),
            "[{backend}]"
        );
        assert_eq!(
            other.post("monitors", body).await.status,
            201,
            "externalIds are per organization"
        );

        let mine = h.post("monitors", seed_standard()).await.body["monitor"]["id"].clone();
        let theirs = other.post("monitors", seed_standard()).await.body["monitor"]["id"].clone();
        let slug = format!("taken-{}", &mine.as_str().unwrap()[9..]);
        assert_eq!(h.post("status-pages", json!({"slug": slug, "title": "t", "monitors": [{"monitorId": mine, "publicLabel": "x"}]})).await.status, 201);
        let stolen = other.post("status-pages", json!({"slug": slug, "title": "t", "monitors": [{"monitorId": theirs, "publicLabel": "x"}]})).await;
        assert_eq!(
            (stolen.status.as_u16(), stolen.code()),
            (409, "conflict"),
            "slugs are global"
        );
        let foreign = other.post("status-pages", json!({"slug": "foreign-monitor", "title": "t", "monitors": [{"monitorId": mine, "publicLabel": "x"}]})).await;
        assert!(
            foreign.detail("monitors[0].monitorId").is_some(),
            "{}",
            foreign.body
        );

        assert_eq!(
            h.post("environments", json!({"name": "Prod"})).await.status,
            201
        );
        assert_eq!(
            h.post("environments", json!({"name": "Prod"})).await.code(),
            "conflict"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_31st_write_in_a_minute_is_rate_limited() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        for i in 0..30 {
            let reply = h
                .post("environments", json!({"name": format!("env {i}")}))
                .await;
            assert_eq!(reply.status, 201, "[{backend}] write {i}");
            assert_eq!(reply.headers["x-ratelimit-limit"], "30");
            assert_eq!(
                reply.headers["x-ratelimit-remaining"].to_str().unwrap(),
                (29 - i).to_string()
            );
            assert!(reply.headers.contains_key("x-ratelimit-reset"));
        }
        let limited = h
            .post("environments", json!({"name": "one too many"}))
            .await;
        assert_eq!(
            (limited.status.as_u16(), limited.code()),
            (429, "rate_limited"),
            "[{backend}]"
        );
        let retry_after: u64 = limited.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry_after));
        assert_eq!(limited.headers["x-ratelimit-remaining"], "0");
        // Reads have their own budget.
        let read = h.get("environments").await;
        assert_eq!(read.status, 200);
        assert_eq!(read.headers["x-ratelimit-limit"], "120");
        assert_eq!(
            read.body["environments"].as_array().unwrap().len(),
            30,
            "the refused write did nothing"
        );
    }
}

/// A public-looking name whose DNS answer is private is refused when it is
/// saved, for a monitor target and for a webhook URL, with the field named.
/// The names resolve through a real DNS server on loopback, which the
/// server is pointed at with the DNS checks' `--dns-servers` setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_resolve_to_private_addresses_are_refused_when_saved() {
    use certsentry_probes::testing::DnsFixture;

    let dns = DnsFixture::start("corp.test.").await;
    dns.set_a("intranet.corp.test.", &["10.20.30.40"]).await;
    dns.set_a("www.corp.test.", &["93.184.215.14"]).await;
    for (backend, store) in backends().await {
        let addr = dns.addr;
        let h = Harness::start(backend, store, "agency", |config| {
            config.allow_private_targets = false;
            config.probe.dns_servers = vec![addr];
        })
        .await;
        let refused = h
            .post(
                "monitors",
                with(seed_standard(), "target", json!("intranet.corp.test")),
            )
            .await;
        assert_eq!(refused.status, 422, "[{backend}] {}", refused.body);
        let message = refused.body["error"]["details"]["target"].as_str().unwrap();
        assert!(message.contains("10.20.30.40"), "[{backend}] {message}");

        let hook = h
            .post(
                "notification-channels",
                json!({ "name": "intranet", "type": "webhook", "url": "https://intranet.corp.test/hook" }),
            )
            .await;
        assert_eq!(hook.status, 422, "[{backend}] {}", hook.body);
        assert!(
            hook.body["error"]["details"]["url"].is_string(),
            "[{backend}] {}",
            hook.body
        );

        // A public answer from the same server passes.
        let public = h
            .post(
                "monitors",
                with(seed_standard(), "target", json!("www.corp.test")),
            )
            .await;
        assert_eq!(public.status, 201, "[{backend}] {}", public.body);
    }
}
