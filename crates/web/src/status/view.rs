//! The status page's content, read from the store: each monitor's state,
//! its 90 daily bars (uptime from the daily stats, incidents from
//! `uptime.down` events) and, when shown, its certificate's health. Only
//! what the page's entries allow leaves here: a target the page hides is
//! never read into the view.

use std::collections::HashMap;

use askama::Template;
use certsentry_domain::alert::EventType;
use certsentry_domain::status_page::StatusPage;
use certsentry_domain::status_page::public::{ComponentState, HISTORY_DAYS, PageState, day_class};
use certsentry_domain::time::{Millis, day_bounds, day_of, last_days, parse_day};
use certsentry_store::{EventQuery, Store, StoreResult};

/// One daily bar.
pub struct DayView {
    pub class: &'static str,
    pub tooltip: String,
}

pub struct CertView {
    pub class: &'static str,
    pub text: String,
}

pub struct MonitorView {
    pub label: String,
    pub target: Option<String>,
    pub state_class: &'static str,
    pub state_label: &'static str,
    pub days: Vec<DayView>,
    pub uptime_90: String,
    pub cert: Option<CertView>,
}

#[derive(Template)]
#[template(path = "status.html")]
pub struct StatusTemplate {
    pub title: String,
    pub description: Option<String>,
    pub overall_class: &'static str,
    pub overall_label: &'static str,
    pub monitors: Vec<MonitorView>,
    pub rendered_at: String,
}

#[derive(Template)]
#[template(path = "not_found.html")]
pub struct NotFoundTemplate;

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// The page's content at `now`.
pub async fn page_view(
    store: &dyn Store,
    page: &StatusPage,
    now: Millis,
) -> StoreResult<StatusTemplate> {
    let org = &page.org_id;
    let Some(today) = parse_day(&day_of(now)) else {
        unreachable!("a formatted day parses")
    };
    let days = last_days(today, HISTORY_DAYS);
    let (from, _) = day_bounds(days[0]);
    let certificates: HashMap<_, _> = store
        .list_monitor_certificates(org)
        .await?
        .into_iter()
        .map(|c| (c.monitor_id.clone(), c))
        .collect();
    let mut monitors = Vec::new();
    let mut states = Vec::new();
    let mut graded_endpoints = Vec::new();
    for entry in &page.spec.monitors {
        let Some(monitor) = store.get_monitor(org, &entry.monitor_id).await? else {
            continue;
        };
        let stats: HashMap<String, (u64, u64)> = store
            .list_daily_stats(org, &monitor.id, &days[0].to_string(), &today.to_string())
            .await?
            .into_iter()
            .map(|d| (d.day.clone(), (d.total_checks, d.failed_checks)))
            .collect();
        let incidents = incidents_per_day(store, page, &monitor.id, from).await?;
        let mut bars = Vec::with_capacity(days.len());
        let (mut total, mut failed) = (0u64, 0u64);
        for day in &days {
            let key = day.to_string();
            let uptime = stats.get(&key).filter(|(t, _)| *t > 0).map(|(t, f)| {
                total += t;
                failed += f;
                ((t - f) as f64 / *t as f64 * 10_000.0).round() / 100.0
            });
            let count = incidents.get(&key).copied().unwrap_or(0);
            let tooltip = match uptime {
                None => format!("{key}: no data"),
                Some(u) => format!("{key}: {u:.2} % uptime, {}", plural(count, "incident")),
            };
            bars.push(DayView {
                class: day_class(uptime),
                tooltip,
            });
        }
        let uptime_90 = if total == 0 {
            "No data yet".to_string()
        } else {
            format!(
                "{:.2} % uptime",
                (total - failed) as f64 / total as f64 * 100.0
            )
        };
        let state = ComponentState::of(monitor.last_status);
        states.push(state);
        let cert = entry
            .show_cert_health
            .then(|| cert_view(certificates.get(&monitor.id), now));
        graded_endpoints.push(
            entry
                .show_cert_health
                .then(|| monitor.spec.graded_endpoint())
                .flatten(),
        );
        monitors.push(MonitorView {
            label: entry.public_label.clone(),
            target: entry
                .show_target
                .then(|| monitor.spec.target.clone())
                .flatten(),
            state_class: state.class(),
            state_label: state.label(),
            days: bars,
            uptime_90,
            cert,
        });
    }
    let overall = PageState::of(&states);
    add_grades(store, &graded_endpoints, &mut monitors).await?;
    Ok(StatusTemplate {
        title: page.spec.title.clone(),
        description: page.spec.description.clone(),
        overall_class: overall.class(),
        overall_label: overall.label(),
        monitors,
        rendered_at: certsentry_domain::time::format_ms(now)[..16].replace('T', " "),
    })
}

/// `uptime.down` events of one monitor since `from`, counted per day.
async fn incidents_per_day(
    store: &dyn Store,
    page: &StatusPage,
    monitor: &certsentry_domain::MonitorId,
    from: Millis,
) -> StoreResult<HashMap<String, usize>> {
    let mut counts = HashMap::new();
    let mut query = EventQuery {
        monitor_id: Some(monitor.clone()),
        event_type: Some(EventType::UptimeDown.as_str().to_string()),
        since: Some(from),
        cursor: None,
        limit: 500,
    };
    loop {
        let events = store.list_events(&page.org_id, &query).await?;
        for event in &events.items {
            *counts.entry(day_of(event.created_at)).or_insert(0) += 1;
        }
        match events.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok(counts),
        }
    }
}

fn cert_view(cert: Option<&certsentry_store::MonitorCertificate>, now: Millis) -> CertView {
    match cert {
        None => CertView {
            class: "nodata",
            text: "not checked yet".into(),
        },
        Some(c) if c.valid => {
            let text = match c.not_after {
                Some(not_after) => {
                    let days = (not_after - now).div_euclid(86_400_000);
                    format!("valid, expires in {}", plural(days.max(0) as usize, "day"))
                }
                None => "valid".into(),
            };
            CertView {
                class: "valid",
                text,
            }
        }
        Some(c) => CertView {
            class: "invalid",
            text: format!("invalid ({})", c.error.as_deref().unwrap_or("not trusted")),
        },
    }
}

/// Adds the TLS grade to each shown certificate whose endpoint has one;
/// `endpoints` runs beside `monitors`.
async fn add_grades(
    store: &dyn Store,
    endpoints: &[Option<String>],
    monitors: &mut [MonitorView],
) -> StoreResult<()> {
    let wanted: Vec<String> = endpoints.iter().flatten().cloned().collect();
    let grades: HashMap<String, String> =
        store.list_tls_grades(&wanted).await?.into_iter().collect();
    for (view, endpoint) in monitors.iter_mut().zip(endpoints) {
        if let (Some(cert), Some(grade)) = (
            view.cert.as_mut(),
            endpoint.as_ref().and_then(|e| grades.get(e)),
        ) && cert.class != "nodata"
        {
            cert.text = format!("{}, TLS grade {grade}", cert.text);
        }
    }
    Ok(())
}
