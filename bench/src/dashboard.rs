//! `certsentry-bench dashboard`: the dashboard's pages for an organization
//! of 10,000 monitors, signed in, paced at a steady rate, against a bare
//! axum handler serving a body of the same size in the same run. The issue
//! asks every page to render server-side in under 100 ms p95 with 10,000
//! monitors; list pages paginate.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use certsentry_api::ApiConfig;
use certsentry_domain::people::password::hash_password;
use certsentry_domain::people::{Role, User};
use certsentry_domain::plan::Plan;
use rand::RngExt;

use crate::load::{self, PathFn};

#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    /// Monitors in the organization.
    #[arg(long, default_value_t = 10_000)]
    monitors: usize,
    /// Seconds per page measured.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Requests per second, per page measured.
    #[arg(long, default_value_t = 100)]
    rate: u32,
}

const EMAIL: &str = "bench@acme.example";
const PASSWORD: &str = "bench password";

/// Signs in over HTTP as a browser would; returns the session cookie.
async fn sign_in(base: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let form = client.get(format!("{base}/login")).send().await?;
    let cookie = session_cookie(&form).ok_or_else(|| anyhow::anyhow!("no session cookie"))?;
    let html = form.text().await?;
    let marker = "name=\"csrf_token\" value=\"";
    let start = html
        .find(marker)
        .ok_or_else(|| anyhow::anyhow!("no csrf token"))?
        + marker.len();
    let csrf = &html[start..start + html[start..].find('"').unwrap_or(0)];
    let signed = client
        .post(format!("{base}/login"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf_token", csrf),
            ("email", EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        signed.status() == 303,
        "sign-in answered {}",
        signed.status()
    );
    session_cookie(&signed).ok_or_else(|| anyhow::anyhow!("no session after sign-in"))
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("certsentry_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
}

pub fn run(args: DashboardArgs) -> anyhow::Result<()> {
    let servers = crate::server_runtime();
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let store = servers.block_on(crate::cached_sqlite_store())?;
    let (_, monitors) = servers.block_on(crate::seed_with(&*store, args.monitors, crate::spec))?;
    let org = monitors[0].org_id.clone();
    servers.block_on(async {
        let mut user = User::new(EMAIL);
        user.password_hash = Some(hash_password(PASSWORD));
        store
            .create_user(&user, Some((&org, Role::Owner)), None)
            .await
    })?;
    let plans = crate::bench_plans(Plan {
        max_regions: 3,
        audit_logs: true,
        ..Plan::default()
    });
    // The state spawns its check writer: inside the servers' runtime.
    let _inside = servers.enter();
    let state = certsentry_api::testing::state(
        store.clone(),
        ApiConfig {
            plans,
            ..ApiConfig::default()
        },
    );
    let (listener, addr) = servers.block_on(crate::bind());
    let base = format!("http://{addr}");
    let pages = certsentry_web::router(
        state,
        certsentry_web::WebConfig {
            public_url: base.clone(),
            mail: None,
            trusted_header: None,
            github: None,
            oidc: None,
        },
    );
    servers.spawn(async move {
        axum::serve(
            listener,
            pages.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let cookie = client.block_on(sign_in(&base))?;
    let credential = format!("cookie:{cookie}");

    // The first page of the list, for the baseline's body size.
    let list = client.block_on(async {
        reqwest::Client::new()
            .get(format!("{base}/monitors"))
            .header("cookie", &cookie)
            .send()
            .await?
            .text()
            .await
    })?;
    anyhow::ensure!(list.contains("<table"), "the monitors page did not render");
    let (bare_listener, bare_addr) = servers.block_on(crate::bind());
    let body = list.clone();
    let bare = axum::Router::new().route(
        "/x",
        get(move || std::future::ready(axum::response::Html(body.clone()))),
    );
    servers.spawn(async move { axum::serve(bare_listener, bare).await });

    let ids: Arc<Vec<String>> = Arc::new(monitors.iter().map(|m| m.id.to_string()).collect());
    let fixed = |path: &str| -> PathFn {
        let path = path.to_string();
        Arc::new(move || path.clone())
    };
    let random_id = |prefix: &'static str, suffix: &'static str| -> PathFn {
        let ids = ids.clone();
        Arc::new(move || {
            format!(
                "{prefix}{}{suffix}",
                ids[rand::rng().random_range(0..ids.len())]
            )
        })
    };
    let pages: Vec<(&str, PathFn)> = vec![
        ("/monitors (first page of 50)", fixed("/monitors")),
        (
            "/monitors?after=… (a page deep in the list)",
            random_id("/monitors?after=", ""),
        ),
        (
            "/monitors?q=… (search: every monitor scanned)",
            fixed("/monitors?q=no-such-label"),
        ),
        (
            "/monitors?state=down (filter: every monitor scanned)",
            fixed("/monitors?state=down"),
        ),
        ("/monitors/:id", random_id("/monitors/", "")),
        (
            "/certificates (inventory and CT findings)",
            fixed("/certificates"),
        ),
        ("/status-pages/new (the editor)", fixed("/status-pages/new")),
        ("/settings/channels", fixed("/settings/channels")),
        ("/dmarc", fixed("/dmarc")),
        ("/settings/members", fixed("/settings/members")),
        ("/settings/api-keys", fixed("/settings/api-keys")),
        ("/settings/audit", fixed("/settings/audit")),
        ("/account", fixed("/account")),
    ];
    let seconds = Duration::from_secs(args.seconds);
    let baseline = client.block_on(load::open_loop(
        bare_addr,
        "",
        fixed("/x"),
        8,
        args.rate,
        seconds,
    ))?;
    println!(
        "{} monitors, paced at {} req/s per page, {} s each, signed in",
        args.monitors, args.rate, args.seconds
    );
    println!();
    println!("| page | p50 ms | p95 ms | p99 ms | p95 / bare p95 | errors |");
    println!("|---|---|---|---|---|---|");
    let bare_p95 = baseline.percentile_ms(0.95);
    println!(
        "| bare axum, same {} KB body (baseline) | {:.2} | {:.2} | {:.2} | - | {} |",
        list.len() / 1024,
        baseline.percentile_ms(0.50),
        bare_p95,
        baseline.percentile_ms(0.99),
        baseline.errors
    );
    for (name, path) in pages {
        let report = client.block_on(load::open_loop(
            addr,
            &credential,
            path,
            8,
            args.rate,
            seconds,
        ))?;
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.1} | {} |",
            report.percentile_ms(0.50),
            report.percentile_ms(0.95),
            report.percentile_ms(0.99),
            report.percentile_ms(0.95) / bare_p95,
            report.errors
        );
    }
    Ok(())
}
