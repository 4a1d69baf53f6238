//! The monitors: a filtered, paginated list (so a page stays fast with
//! 10,000 monitors in the organization) and each monitor's page.

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use certsentry_domain::MonitorId;
use certsentry_domain::alert::Event;
use certsentry_domain::check::CheckResult;
use certsentry_domain::monitor::{Monitor, MonitorKind, MonitorStatus};
use certsentry_domain::time::{Millis, format_ms, now_ms};
use certsentry_store::{EventQuery, MonitorQuery, ResultQuery};
use serde::Deserialize;

use super::monitor_charts;
use super::views::{Frame, minute, not_found, render, unavailable};
use super::{Dashboard, Signed};

/// Rows per page of the list.
pub const PAGE_SIZE: usize = 50;
/// How many monitors one filtered page reads at most from the store in
/// one go while looking for matches.
const SCAN_BATCH: u32 = 1000;
const DAY_MS: i64 = 86_400_000;

/// `GET /`: the monitors are the dashboard's home.
pub async fn home() -> Response {
    Redirect::to("/monitors").into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct ListFilters {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub after: String,
}

impl ListFilters {
    fn kind(&self) -> Option<MonitorKind> {
        MonitorKind::parse(&self.kind)
    }

    fn state(&self) -> Option<MonitorStatus> {
        MonitorStatus::parse(&self.state)
    }

    /// Whether the store's own filters (kind) are all there is.
    fn only_kind(&self) -> bool {
        self.state().is_none() && self.environment.is_empty() && self.q.trim().is_empty()
    }

    fn matches(&self, monitor: &Monitor) -> bool {
        let q = self.q.trim().to_lowercase();
        self.state().is_none_or(|s| monitor.last_status == s)
            && (self.environment.is_empty()
                || monitor
                    .spec
                    .environment_id
                    .as_ref()
                    .is_some_and(|e| e.as_str() == self.environment))
            && (q.is_empty()
                || monitor.spec.label.to_lowercase().contains(&q)
                || monitor
                    .spec
                    .target
                    .as_ref()
                    .is_some_and(|t| t.to_lowercase().contains(&q)))
    }

    /// The query string of the next page.
    fn next_query(&self, after: &str) -> String {
        let pairs = [
            ("kind", self.kind.as_str()),
            ("state", self.state.as_str()),
            ("environment", self.environment.as_str()),
            ("q", self.q.as_str()),
            ("after", after),
        ];
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()))
            .finish()
    }
}

/// One row of the list.
pub struct MonitorRow {
    pub id: String,
    pub label: String,
    pub kind: &'static str,
    pub target: String,
    pub state: &'static str,
    /// When the last check ran, `YYYY-MM-DD HH:MM` UTC.
    pub last_check: Option<String>,
    pub ssl_days_left: Option<i64>,
    pub grade: Option<String>,
    pub domain_expiry: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/monitors.html")]
struct MonitorsPage {
    frame: Frame,
    filters: ListFilters,
    environments: Vec<(String, String)>,
    rows: Vec<MonitorRow>,
    next: Option<String>,
    kinds: &'static [MonitorKind],
    states: &'static [MonitorStatus],
    may_create: bool,
}

fn days_until(at: Option<Millis>, now: Millis) -> Option<i64> {
    at.map(|at| (at - now).div_euclid(DAY_MS))
}

/// One page of monitors matching `filters`, and the cursor of the next.
async fn matching(
    dashboard: &Dashboard,
    signed: &Signed,
    filters: &ListFilters,
) -> certsentry_store::StoreResult<(Vec<Monitor>, Option<String>)> {
    let mut query = MonitorQuery {
        kind: filters.kind(),
        cursor: (!filters.after.is_empty()).then(|| filters.after.clone()),
        limit: if filters.only_kind() {
            PAGE_SIZE as u32
        } else {
            SCAN_BATCH
        },
        ..Default::default()
    };
    let mut found = Vec::new();
    loop {
        let page = dashboard
            .store
            .list_monitors(signed.org_id(), &query)
            .await?;
        for monitor in page.items {
            if filters.matches(&monitor) {
                found.push(monitor);
                if found.len() == PAGE_SIZE {
                    let next = found.last().map(|m| m.id.to_string());
                    return Ok((found, next));
                }
            }
        }
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok((found, None)),
        }
    }
}

pub async fn list(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Query(filters): Query<ListFilters>,
) -> Response {
    let store = &dashboard.store;
    let Ok((monitors, next)) = matching(&dashboard, &signed, &filters).await else {
        return unavailable();
    };
    let endpoints: Vec<String> = monitors
        .iter()
        .filter_map(|m| m.spec.graded_endpoint())
        .collect();
    let Ok(grades) = store.list_tls_grades(&endpoints).await else {
        return unavailable();
    };
    let grades: HashMap<String, String> = grades.into_iter().collect();
    let ids: Vec<MonitorId> = monitors.iter().map(|m| m.id.clone()).collect();
    let Ok(last_checks) = store.last_checked_at(&ids).await else {
        return unavailable();
    };
    let last_checks: HashMap<MonitorId, Millis> = last_checks.into_iter().collect();
    let Ok(environments) = store.list_environments(signed.org_id()).await else {
        return unavailable();
    };
    let now = now_ms();
    let rows = monitors
        .iter()
        .map(|m| MonitorRow {
            id: m.id.to_string(),
            label: m.spec.label.clone(),
            kind: m.spec.kind.as_str(),
            target: m.spec.target.clone().unwrap_or_default(),
            state: m.last_status.as_str(),
            last_check: last_checks.get(&m.id).map(|at| minute(*at)),
            ssl_days_left: days_until(m.ssl_not_after, now),
            grade: m
                .spec
                .graded_endpoint()
                .and_then(|e| grades.get(&e).cloned()),
            domain_expiry: m.domain_expiry.map(|at| format_ms(at)[..10].to_string()),
        })
        .collect();
    let next = next.map(|after| filters.next_query(&after));
    render(&MonitorsPage {
        frame: Frame::new(&signed, "Monitors", "monitors"),
        environments: environments
            .into_iter()
            .map(|e| (e.id.to_string(), e.name))
            .collect(),
        filters,
        rows,
        next,
        kinds: MonitorKind::ALL,
        states: MonitorStatus::ALL,
        may_create: signed.may(certsentry_domain::people::Permission::ManageMonitors),
    })
}

#[derive(Template)]
#[template(path = "dashboard/monitor.html")]
struct MonitorPage {
    frame: Frame,
    monitor: Monitor,
    state: &'static str,
    ssl_days_left: Option<i64>,
    domain_expiry: Option<String>,
    results: Vec<CheckResult>,
    events: Vec<Event>,
    /// Response time per region, of the latest uptime or TCP checks.
    chart: Option<monitor_charts::Chart>,
    /// 90 days of uptime, oldest first.
    bars: Vec<monitor_charts::DayBar>,
    /// The latest SSL check's served chain, leaf first.
    chain: Vec<monitor_charts::ChainRow>,
    dns_changes: Vec<monitor_charts::DnsChange>,
    /// Heartbeat monitors: the URL their job pings.
    ping_url: Option<String>,
    may_manage: bool,
}

impl MonitorPage {
    fn when(&self, at: &Millis) -> String {
        format_ms(*at)
    }
}

pub async fn detail(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    let store = &dashboard.store;
    let id = MonitorId::from_string(id);
    let monitor = match store.get_monitor(signed.org_id(), &id).await {
        Ok(Some(monitor)) => monitor,
        Ok(None) => return not_found(),
        Err(_) => return unavailable(),
    };
    let results = store
        .list_results(
            signed.org_id(),
            &id,
            &ResultQuery {
                limit: 20,
                ..Default::default()
            },
        )
        .await;
    let events = store
        .list_events(
            signed.org_id(),
            &EventQuery {
                monitor_id: Some(id.clone()),
                event_type: None,
                since: None,
                cursor: None,
                limit: 20,
            },
        )
        .await;
    let (Ok(results), Ok(events)) = (results, events) else {
        return unavailable();
    };
    let now = now_ms();
    let Ok(history) = history(store.as_ref(), signed.org_id(), &monitor, now).await else {
        return unavailable();
    };
    let ping_url = monitor.heartbeat_token.as_ref().map(|token| {
        format!(
            "{}/api/ping/{token}",
            dashboard.public_url.trim_end_matches('/')
        )
    });
    render(&MonitorPage {
        ping_url,
        may_manage: signed.may(certsentry_domain::people::Permission::ManageMonitors),
        frame: Frame::new(&signed, monitor.spec.label.clone(), "monitors"),
        state: monitor.last_status.as_str(),
        ssl_days_left: days_until(monitor.ssl_not_after, now),
        domain_expiry: monitor
            .domain_expiry
            .map(|at| format_ms(at)[..10].to_string()),
        monitor,
        results: results.items,
        events: events.items,
        chart: history.chart,
        bars: history.bars,
        chain: history.chain,
        dns_changes: history.dns_changes,
    })
}

/// What the page draws besides its lists.
struct History {
    chart: Option<monitor_charts::Chart>,
    bars: Vec<monitor_charts::DayBar>,
    chain: Vec<monitor_charts::ChainRow>,
    dns_changes: Vec<monitor_charts::DnsChange>,
}

async fn history(
    store: &dyn certsentry_store::Store,
    org: &certsentry_domain::OrgId,
    monitor: &Monitor,
    now: Millis,
) -> certsentry_store::StoreResult<History> {
    use certsentry_domain::check::CheckType;
    let of_type = |check_type, limit| ResultQuery {
        check_type: Some(check_type),
        limit,
        ..Default::default()
    };
    let timed = if monitor.spec.kind == MonitorKind::Tcp {
        CheckType::Tcp
    } else {
        CheckType::Uptime
    };
    let timed = store
        .list_results(org, &monitor.id, &of_type(timed, 300))
        .await?;
    let ssl = store
        .list_results(org, &monitor.id, &of_type(CheckType::Ssl, 1))
        .await?;
    let dns = store
        .list_results(org, &monitor.id, &of_type(CheckType::Dns, 100))
        .await?;
    let today = certsentry_domain::time::parse_day(&certsentry_domain::time::day_of(now))
        .expect("a formatted day parses");
    let days: Vec<String> = certsentry_domain::time::last_days(today, 90)
        .iter()
        .map(ToString::to_string)
        .collect();
    let stats = store
        .list_daily_stats(org, &monitor.id, &days[0], &days[days.len() - 1])
        .await?;
    Ok(History {
        chart: monitor_charts::response_chart(&timed.items),
        bars: monitor_charts::uptime_bars(&days, &stats),
        chain: ssl
            .items
            .first()
            .map(monitor_charts::chain_of)
            .unwrap_or_default(),
        dns_changes: monitor_charts::dns_changes(&dns.items),
    })
}
