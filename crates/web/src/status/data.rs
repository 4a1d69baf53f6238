//! A status page's content, read from the store once and shared by every
//! form it is served in (the HTML page, its history, `summary.json`, the
//! Atom feed, the badges): each monitor's state, 90 days of daily checks
//! and outages (`uptime.down` events), when shown its certificate's
//! health, and the page's incidents and maintenance windows. A target the
//! page hides is never read into it.
//!
//! A maintenance window's checks are left out of the uptime figures, and
//! its monitors show "maintenance" while it runs.

use std::collections::HashMap;

use certsentry_domain::alert::EventType;
use certsentry_domain::monitor::Monitor;
use certsentry_domain::status_page::StatusPage;
use certsentry_domain::status_page::incident::Incident;
use certsentry_domain::status_page::maintenance::Maintenance;
use certsentry_domain::status_page::public::{ComponentState, HISTORY_DAYS, PageState};
use certsentry_domain::time::{Millis, day_bounds, day_of, last_days, parse_day};
use certsentry_domain::{MonitorId, OrgId};
use certsentry_store::prelude::*;
use certsentry_store::{EventQuery, MonitorCertificate, MonitorQuery, StoreResult};

use super::finished_days::{DayCells, FinishedDays};

/// One day of one monitor.
pub struct DayData {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub checks: u64,
    pub failed: u64,
    pub incidents: usize,
}

impl DayData {
    /// `None` on a day without checks.
    pub fn uptime(&self) -> Option<f64> {
        (self.checks > 0).then(|| {
            ((self.checks - self.failed) as f64 / self.checks as f64 * 10_000.0).round() / 100.0
        })
    }
}

pub struct CertData {
    /// `None`: not checked yet.
    pub valid: Option<bool>,
    pub days_left: Option<i64>,
    pub error: Option<String>,
    pub grade: Option<String>,
}

pub struct ComponentData {
    /// Never shown: it ties the component to incidents and windows.
    pub monitor_id: MonitorId,
    /// The place on the page, from 1 (the badges' `:n`).
    pub position: usize,
    pub label: String,
    pub target: Option<String>,
    pub state: ComponentState,
    /// Oldest first, [`HISTORY_DAYS`] of them.
    pub days: Vec<DayData>,
    pub cert: Option<CertData>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl ComponentData {
    /// Uptime over the last `days` days that had checks.
    pub fn uptime(&self, days: usize) -> Option<f64> {
        let recent = &self.days[self.days.len().saturating_sub(days)..];
        let checks: u64 = recent.iter().map(|d| d.checks).sum();
        let failed: u64 = recent.iter().map(|d| d.failed).sum();
        (checks > 0).then(|| (checks - failed) as f64 / checks as f64 * 100.0)
    }
}

pub struct PageData {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    pub overall: PageState,
    pub components: Vec<ComponentData>,
    /// Open incidents, and those updated in the last 90 days; newest first.
    pub incidents: Vec<Incident>,
    /// Windows ending in the last 90 days or later; earliest start first.
    pub maintenance: Vec<Maintenance>,
    /// Origins allowed to frame the page.
    pub embed_origins: Vec<String>,
    pub updated_at: Millis,
    /// When this was read.
    pub at: Millis,
}

/// Reads `page`'s content at `now`, the finished days from `finished`.
pub async fn load(
    store: &dyn Store,
    page: &StatusPage,
    now: Millis,
    finished: &FinishedDays,
) -> StoreResult<PageData> {
    let org = &page.org_id;
    let today = parse_day(&day_of(now)).expect("a formatted day parses");
    let days = last_days(today, HISTORY_DAYS);
    let (from, _) = day_bounds(days[0]);
    let certificates: HashMap<_, _> = store
        .list_monitor_certificates(org)
        .await?
        .into_iter()
        .map(|c| (c.monitor_id.clone(), c))
        .collect();
    let monitors = org_monitors(store, org).await?;
    let shown: Vec<MonitorId> = page
        .spec
        .monitors
        .iter()
        .map(|m| m.monitor_id.clone())
        .collect();
    let yesterday = days[days.len() - 2].to_string();
    let cells = finished
        .cells(
            store,
            &page.id,
            &shown,
            &days[0].to_string(),
            &yesterday,
            &today.to_string(),
        )
        .await?;
    let maintenance = store.list_page_maintenance(&page.id, from).await?;
    let left_out = maintenance_checks(store, &maintenance, page, now).await?;
    let incidents = incidents_per_day(store, page, from).await?;
    let mut components = Vec::new();
    let mut endpoints = Vec::new();
    for entry in &page.spec.monitors {
        let Some(monitor) = monitors.get(&entry.monitor_id) else {
            continue;
        };
        let no_left_out = HashMap::new();
        let left_out = left_out.get(&monitor.id).unwrap_or(&no_left_out);
        let no_incidents = HashMap::new();
        let incidents = incidents.get(&monitor.id).unwrap_or(&no_incidents);
        let history = days
            .iter()
            .map(|day| {
                let key = day.to_string();
                let (checks, failed) = cells.get(&monitor.id, &key);
                // A window's checks are not counted; its failures neither.
                let (skipped, skipped_failed) = left_out.get(&key).copied().unwrap_or((0, 0));
                let checks = checks.saturating_sub(skipped);
                let failed = failed.saturating_sub(skipped_failed).min(checks);
                DayData {
                    incidents: incidents.get(&key).copied().unwrap_or(0),
                    day: key,
                    checks,
                    failed,
                }
            })
            .collect();
        endpoints.push(
            entry
                .show_cert_health
                .then(|| monitor.spec.graded_endpoint())
                .flatten(),
        );
        let in_maintenance = maintenance
            .iter()
            .any(|window| window.spec.covers(&monitor.id, now));
        components.push(ComponentData {
            monitor_id: monitor.id.clone(),
            position: components.len() + 1,
            label: entry.public_label.clone(),
            target: entry
                .show_target
                .then(|| monitor.spec.target.clone())
                .flatten(),
            state: if in_maintenance {
                ComponentState::Maintenance
            } else {
                ComponentState::of(monitor.last_status)
            },
            days: history,
            cert: entry
                .show_cert_health
                .then(|| cert_data(certificates.get(&monitor.id), now)),
            created_at: monitor.created_at,
            updated_at: monitor.updated_at,
        });
    }
    add_grades(store, &endpoints, &mut components).await?;
    let states: Vec<ComponentState> = components.iter().map(|c| c.state).collect();
    Ok(PageData {
        id: page.id.to_string(),
        slug: page.spec.slug.clone(),
        title: page.spec.title.clone(),
        description: page.spec.description.clone(),
        overall: PageState::of(&states),
        components,
        incidents: store.list_page_incidents(&page.id, from).await?,
        maintenance,
        embed_origins: page.spec.embed_origins.clone(),
        updated_at: page.updated_at,
        at: now,
    })
}

/// The organization's monitors, by id (one paged listing, not one read
/// per monitor).
async fn org_monitors(store: &dyn Store, org: &OrgId) -> StoreResult<HashMap<MonitorId, Monitor>> {
    let mut all = HashMap::new();
    let mut query = MonitorQuery {
        limit: 1000,
        ..Default::default()
    };
    loop {
        let page = store.list_monitors(org, &query).await?;
        all.extend(page.items.into_iter().map(|m| (m.id.clone(), m)));
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok(all),
        }
    }
}

/// The checks each started window ran on the page's monitors, by monitor
/// and day: what the days' counts leave out.
async fn maintenance_checks(
    store: &dyn Store,
    windows: &[Maintenance],
    page: &StatusPage,
    now: Millis,
) -> StoreResult<DayCells> {
    let mut left_out: DayCells = HashMap::new();
    for window in windows.iter().filter(|w| w.spec.starts_at < now) {
        let shown = window
            .spec
            .monitor_ids
            .iter()
            .filter(|id| page.spec.monitors.iter().any(|m| &m.monitor_id == *id));
        for monitor in shown {
            let ran = store
                .checks_during(monitor, window.spec.starts_at, window.spec.ends_at.min(now))
                .await?;
            let days = left_out.entry(monitor.clone()).or_default();
            for (day, checks, failed) in ran {
                let cell = days.entry(day).or_insert((0, 0));
                cell.0 += checks;
                cell.1 += failed;
            }
        }
    }
    Ok(left_out)
}

/// The organization's `uptime.down` events since `from`, counted per
/// monitor and day.
async fn incidents_per_day(
    store: &dyn Store,
    page: &StatusPage,
    from: Millis,
) -> StoreResult<HashMap<MonitorId, HashMap<String, usize>>> {
    let mut counts: HashMap<MonitorId, HashMap<String, usize>> = HashMap::new();
    let mut query = EventQuery {
        monitor_id: None,
        event_type: Some(EventType::UptimeDown.as_str().to_string()),
        since: Some(from),
        cursor: None,
        limit: 500,
    };
    loop {
        let events = store.list_events(&page.org_id, &query).await?;
        for event in &events.items {
            if let Some(monitor) = &event.monitor_id {
                *counts
                    .entry(monitor.clone())
                    .or_default()
                    .entry(day_of(event.created_at))
                    .or_insert(0) += 1;
            }
        }
        match events.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok(counts),
        }
    }
}

fn cert_data(cert: Option<&MonitorCertificate>, now: Millis) -> CertData {
    CertData {
        valid: cert.map(|c| c.valid),
        days_left: cert
            .and_then(|c| c.not_after)
            .map(|not_after| (not_after - now).div_euclid(86_400_000)),
        error: cert.and_then(|c| c.error.clone()),
        grade: None,
    }
}

/// The TLS grade of each shown certificate's endpoint, where it has one;
/// `endpoints` runs beside `components`.
async fn add_grades(
    store: &dyn Store,
    endpoints: &[Option<String>],
    components: &mut [ComponentData],
) -> StoreResult<()> {
    let wanted: Vec<String> = endpoints.iter().flatten().cloned().collect();
    let grades: HashMap<String, String> =
        store.list_tls_grades(&wanted).await?.into_iter().collect();
    for (component, endpoint) in components.iter_mut().zip(endpoints) {
        if let (Some(cert), Some(grade)) = (
            component.cert.as_mut(),
            endpoint.as_ref().and_then(|e| grades.get(e)),
        ) {
            cert.grade = Some(grade.clone());
        }
    }
    Ok(())
}
