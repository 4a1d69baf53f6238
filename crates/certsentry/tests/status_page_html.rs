//! The public status page at `/status/:slug`, served by the runtime on
//! every backend: each monitor's state in words, 90 daily bars with their
//! tooltips, the overall verdict, a hidden target that appears nowhere,
//! the caching and security headers, 304s, and the 404 page.

mod common;

use certsentry_probes::testing::http_server;
use common::*;
use serde_json::json;

struct Fetched {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn fetch(h: &Harness, path: &str, etag: Option<&str>) -> Fetched {
    let mut request = reqwest::Client::new().get(h.server.url(path));
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    let response = request.send().await.unwrap();
    Fetched {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

async fn monitor(h: &Harness, label: &str, target: String, extra: serde_json::Value) -> String {
    let mut body = json!({
        "label": label, "target": target, "checkSsl": false, "checkDomain": false,
        "checkDns": false, "checkUptime": true, "uptimeIntervalSeconds": 300,
        "regions": ["virginia"], "alertLeadDays": [7]
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let created = h.post("monitors", body).await;
    assert_eq!(created.status, 201, "[{}] {}", h.backend, created.body);
    created.body["monitor"]["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_page_tells_each_monitors_state_and_history() {
    let port = http_server().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let up = monitor(&h, "web", format!("http://127.0.0.1:{port}/"), json!({})).await;
        let slow = monitor(
            &h,
            "api",
            format!("http://127.0.0.1:{port}/slow"),
            json!({ "degradedThresholdMs": 100 }),
        )
        .await;
        let down = monitor(
            &h,
            "db",
            format!("http://localhost:{closed_port}/secret-path"),
            json!({}),
        )
        .await;
        let fresh = monitor(&h, "new", format!("http://127.0.0.1:{port}/"), json!({})).await;
        for id in [&up, &slow, &down, &down, &down] {
            h.post(&format!("monitors/{id}/check"), json!({})).await;
        }
        let entry = |id: &str, label: &str, show_target: bool| json!({ "monitorId": id, "publicLabel": label, "showTarget": show_target, "showCertHealth": true });
        let page = h
            .post(
                "status-pages",
                json!({ "slug": format!("acme-{backend}"), "title": "Acme & Co status",
                        "description": "Our <public> services",
                        "monitors": [entry(&up, "Website", true), entry(&slow, "API", true),
                                     entry(&down, "Database", false), entry(&fresh, "Newcomer", true)] }),
            )
            .await;
        assert_eq!(page.status, 201, "[{backend}] {}", page.body);

        let path = format!("/status/acme-{backend}");
        let got = fetch(&h, &path, None).await;
        assert_eq!(got.status, 200, "[{backend}] {}", got.body);
        let html = &got.body;
        assert!(
            html.contains("<h1>Acme &#38; Co status</h1>")
                || html.contains("<h1>Acme &amp; Co status</h1>"),
            "{html}"
        );
        assert!(
            html.contains("Our &#60;public&#62; services")
                || html.contains("Our &lt;public&gt; services"),
            "escaped: {html}"
        );
        assert!(html.contains("Partial outage"), "[{backend}] {html}");
        for (label, state) in [
            ("Website", "Operational"),
            ("API", "Degraded performance"),
            ("Database", "Down"),
            ("Newcomer", "No data yet"),
        ] {
            let at = html
                .find(&format!("<h2>{label}</h2>"))
                .unwrap_or_else(|| panic!("{label}"));
            let next = html[at..].find("</article>").unwrap();
            assert!(
                html[at..at + next].contains(state),
                "[{backend}] {label}: {state}"
            );
        }
        // Days with something to say are elements placed on their columns
        // (`dN sM`: from day N, M days wide); the quiet days are the list's
        // background, with one tooltip. Here only today was checked: the
        // website and the API were up today (drawn 89 days of no data each),
        // the database was down (89 + today) and the newcomer has no data
        // (90).
        let mut drawn = Vec::new();
        for list in html.split("<ol>").skip(1) {
            let list = &list[..list.find("</ol>").unwrap()];
            let mut days = 0;
            for bar in list
                .split("<li class=\"")
                .skip(1)
                .filter(|b| !b.starts_with("q\""))
            {
                let classes: Vec<&str> = bar[..bar.find('"').unwrap()].split(' ').collect();
                let start: usize = classes[1].trim_start_matches('d').parse().unwrap();
                let span: usize = classes[2].trim_start_matches('s').parse().unwrap();
                assert!(start + span <= 91, "{classes:?}");
                days += span;
            }
            drawn.push(days);
        }
        assert_eq!(drawn, vec![89, 89, 90, 90], "{html}");
        let today = certsentry_web::status::view::short_day(&certsentry_domain::time::day_of(
            certsentry_domain::time::now_ms(),
        ));
        assert!(
            html.contains("<ol><li class=\"q\"><span>Other days: 100 %</span>"),
            "{html}"
        );
        assert!(
            html.contains(&format!(
                "<li class=\"down d90 s1\"><span>{today}: 0 %, 1 incident</span>"
            )),
            "{html}"
        );
        assert!(html.contains("no data"));
        assert!(
            html.contains(&format!("http://127.0.0.1:{port}/")),
            "shown targets"
        );
        assert!(
            !html.contains("secret-path") && !html.contains(&closed_port.to_string()),
            "a hidden target appears nowhere"
        );
        assert!(html.contains("Certificate not checked yet"));
        assert!(!html.contains("<script"), "no script at all");

        let header = |name: &str| got.headers.get(name).unwrap().to_str().unwrap().to_string();
        assert_eq!(header("content-type"), "text/html; charset=utf-8");
        assert_eq!(header("cache-control"), "public, max-age=10");
        assert!(header("content-security-policy").contains("default-src 'none'"));
        assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert!(header("last-modified").ends_with(" GMT"));
        let etag = header("etag");
        let again = fetch(&h, &path, Some(&etag)).await;
        assert_eq!(again.status, 304);
        assert!(again.body.is_empty());
        assert_eq!(fetch(&h, &path, Some("\"other\"")).await.status, 200);

        // Statuspage's summary shape, for widgets and aggregators.
        let summary = fetch(&h, &format!("{path}/summary.json"), None).await;
        assert_eq!(summary.status, 200, "{}", summary.body);
        assert_eq!(summary.headers["content-type"], "application/json");
        let summary: serde_json::Value = serde_json::from_str(&summary.body).unwrap();
        assert_eq!(summary["page"]["name"], "Acme & Co status");
        assert_eq!(summary["page"]["time_zone"], "Etc/UTC");
        assert_eq!(summary["status"]["indicator"], "minor");
        assert_eq!(summary["status"]["description"], "Partial outage");
        let statuses: Vec<&str> = summary["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            [
                "operational",
                "degraded_performance",
                "major_outage",
                "operational"
            ]
        );
        assert_eq!(summary["components"][3]["description"], "No data yet");
        assert_eq!(summary["incidents"], json!([]));
        assert_eq!(summary["scheduled_maintenances"], json!([]));
        assert!(!summary.to_string().contains("secret-path"));

        // Badges are well-formed SVG that say their state in words.
        for (badge, says) in [
            ("badge.svg", "partial outage"),
            ("monitors/1/badge.svg", "operational"),
            ("monitors/3/badge.svg?metric=status", "down"),
            ("monitors/1/badge.svg?metric=uptime90", "100.00%"),
            ("monitors/3/badge.svg?metric=uptime30", "0.00%"),
            ("monitors/4/badge.svg?metric=cert", "not checked yet"),
        ] {
            let got = fetch(&h, &format!("{path}/{badge}"), None).await;
            assert_eq!(got.status, 200, "{badge}");
            assert_eq!(got.headers["content-type"], "image/svg+xml");
            assert!(got.body.contains(says), "{badge}: {}", got.body);
            assert_well_formed_svg(&got.body);
        }
        assert_eq!(
            fetch(&h, &format!("{path}/monitors/9/badge.svg"), None)
                .await
                .status,
            404
        );
        assert_eq!(
            fetch(
                &h,
                &format!("{path}/monitors/1/badge.svg?metric=speed"),
                None
            )
            .await
            .status,
            404
        );

        // Compressed on the wire for a client that accepts it.
        let raw = reqwest::Client::builder()
            .no_gzip()
            .build()
            .unwrap()
            .get(h.server.url(&path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(raw.headers()["content-encoding"], "gzip");
        let compressed = raw.bytes().await.unwrap().len();
        assert!(
            compressed < html.len() / 2,
            "{compressed} of {}",
            html.len()
        );

        let css = fetch(&h, "/assets/status.css", None).await;
        assert_eq!(css.status, 200);
        assert!(css.body.contains("prefers-color-scheme: dark"));

        // A page may name the origins that can frame it.
        let refused = h
            .post(
                "status-pages",
                json!({ "slug": format!("framed-{backend}"), "title": "Framed",
                        "embedOrigins": ["http://client.example/path"],
                        "monitors": [entry(&up, "Website", true)] }),
            )
            .await;
        assert_eq!(refused.status, 422, "[{backend}] {}", refused.body);
        assert!(
            refused.detail("embedOrigins[0]").is_some(),
            "{}",
            refused.body
        );
        let framed = h
            .post(
                "status-pages",
                json!({ "slug": format!("framed-{backend}"), "title": "Framed",
                        "embedOrigins": ["https://client.example", "https://intranet.example:8443"],
                        "monitors": [entry(&up, "Website", true)] }),
            )
            .await;
        assert_eq!(framed.status, 201, "[{backend}] {}", framed.body);
        assert_eq!(
            framed.body["statusPage"]["embedOrigins"],
            json!(["https://client.example", "https://intranet.example:8443"])
        );
        let got = fetch(&h, &format!("/status/framed-{backend}"), None).await;
        let csp = got.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.ends_with("frame-ancestors https://client.example https://intranet.example:8443"),
            "{csp}"
        );
        // The framed page shows only the website, which is up; a page of
        // monitors never checked claims nothing.
        assert!(got.body.contains("All systems operational"), "{}", got.body);
        let waiting = h
            .post(
                "status-pages",
                json!({ "slug": format!("waiting-{backend}"), "title": "Waiting",
                        "monitors": [entry(&fresh, "Newcomer", true)] }),
            )
            .await;
        assert_eq!(waiting.status, 201, "[{backend}] {}", waiting.body);
        let got = fetch(&h, &format!("/status/waiting-{backend}"), None).await;
        assert!(
            got.body
                .contains("<p class=\"overall nodata\" role=\"status\">No data yet</p>"),
            "{}",
            got.body
        );
        assert!(!got.body.contains("All systems operational"));

        // A slug nobody has, and a disabled page: the same 404 page.
        let unknown = fetch(&h, "/status/nobody-here", None).await;
        assert_eq!(unknown.status, 404);
        assert!(unknown.body.contains("Page not found") && !unknown.body.contains("Acme"));
        let hidden = h
            .post(
                "status-pages",
                json!({ "slug": format!("hidden-{backend}"), "title": "Hidden", "enabled": false,
                        "monitors": [entry(&up, "Website", true)] }),
            )
            .await;
        assert_eq!(hidden.status, 201, "[{backend}] {}", hidden.body);
        let disabled = fetch(&h, &format!("/status/hidden-{backend}"), None).await;
        assert_eq!(disabled.status, 404);
        assert!(!disabled.body.contains("Hidden"));
    }
}

/// Parses `svg` as XML to the end; its root is an `<svg>`.
fn assert_well_formed_svg(svg: &str) {
    let mut reader = quick_xml::Reader::from_str(svg);
    let mut root = None;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e)) if root.is_none() => {
                root = Some(e.name().into_inner().to_string());
            }
            Ok(_) => {}
            Err(e) => panic!("not XML: {e}\n{svg}"),
        }
    }
    assert_eq!(root.as_deref(), Some("svg"));
}
