//! The HTML forms of a status page: the page itself, its history, and the
//! 404 page.

use askama::Template;
use certsentry_domain::status_page::public::day_class;

use super::data::{CertData, ComponentData, PageData};
use super::notices::{self, IncidentView, MaintenanceView};

/// A run of days drawn as one bar from column `start` (1 = 90 days ago),
/// `span` days wide. Only runs with something to say are elements: days
/// with trouble, with an incident, or without data. The quiet days (up,
/// no incident) are the list's own background, drawn as the same daily
/// bars by the stylesheet, and share one tooltip (the first element, laid
/// across the whole row beneath the others), so a monitor that was
/// simply up for 90 days is no element at all and a 500-monitor page stays
/// small. A bar's tooltip is its text, shown on hover by the stylesheet and
/// read by screen readers, so it is in the page once.
pub struct DayView {
    pub class: &'static str,
    pub start: usize,
    pub span: usize,
    pub tooltip: String,
}

pub struct CertView {
    /// Only an invalid certificate is set apart (in the alert colour).
    pub invalid: bool,
    pub text: String,
}

pub struct MonitorView {
    pub label: String,
    pub target: Option<String>,
    pub state_class: &'static str,
    pub state_label: &'static str,
    pub days: Vec<DayView>,
    /// What the quiet days (the background) say; empty when there are none.
    pub quiet: String,
    pub uptime_90: String,
    pub cert: Option<CertView>,
}

#[derive(Template)]
#[template(path = "status.html")]
pub struct StatusTemplate {
    pub title: String,
    pub slug: String,
    pub description: Option<String>,
    pub overall_class: &'static str,
    pub overall_label: &'static str,
    /// Open incidents, newest first.
    pub incidents: Vec<IncidentView>,
    /// In progress or scheduled, soonest first.
    pub maintenance: Vec<MaintenanceView>,
    pub monitors: Vec<MonitorView>,
    pub rendered_at: String,
}

/// `/status/:slug/history`: 90 days of incidents and maintenance.
#[derive(Template)]
#[template(path = "history.html")]
pub struct HistoryTemplate {
    pub title: String,
    pub slug: String,
    pub incidents: Vec<IncidentView>,
    pub maintenance: Vec<MaintenanceView>,
    pub rendered_at: String,
}

impl HistoryTemplate {
    pub fn of(data: &PageData) -> Self {
        Self {
            title: data.title.clone(),
            slug: data.slug.clone(),
            incidents: data
                .incidents
                .iter()
                .map(|i| notices::incident_view(data, i))
                .collect(),
            maintenance: notices::past_maintenance(data),
            rendered_at: notices::minute(data.at),
        }
    }
}

#[derive(Template)]
#[template(path = "not_found.html")]
pub struct NotFoundTemplate;

pub fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

impl StatusTemplate {
    pub fn of(data: &PageData) -> Self {
        Self {
            title: data.title.clone(),
            slug: data.slug.clone(),
            description: data.description.clone(),
            overall_class: data.overall.class(),
            overall_label: data.overall.label(),
            incidents: notices::active_incidents(data),
            maintenance: notices::upcoming_maintenance(data),
            monitors: data.components.iter().map(monitor_view).collect(),
            rendered_at: notices::minute(data.at),
        }
    }
}

/// `Oct 8` for `2026-10-08`: the bars cover 90 days, so the year goes
/// without saying (and 500 monitors' tooltips stay short).
pub fn short_day(day: &str) -> String {
    match certsentry_domain::time::parse_day(day) {
        Some(date) => date.format("%b %-d").to_string(),
        None => day.to_string(),
    }
}

/// `100 %`, `99.95 %`: two decimals, without trailing zeros.
pub fn percent(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} %")
}

/// The runs of `days`: consecutive days of one class and no incident.
fn runs(days: &[super::data::DayData]) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, day) in days.iter().enumerate() {
        let class = day_class(day.uptime());
        match runs.last_mut() {
            Some((start, end))
                if *end + 1 == i
                    && day.incidents == 0
                    && days[*start].incidents == 0
                    && day_class(days[*start].uptime()) == class =>
            {
                *end = i
            }
            _ => runs.push((i, i)),
        }
    }
    runs
}

fn is_quiet(day: &super::data::DayData) -> bool {
    day.incidents == 0 && day_class(day.uptime()) == "up"
}

/// The bars of `days` that are drawn as elements (see [`DayView`]).
pub fn bars(days: &[super::data::DayData]) -> Vec<DayView> {
    runs(days)
        .into_iter()
        .filter(|(start, _)| !is_quiet(&days[*start]))
        .map(|(start, end)| {
            let run = &days[start..=end];
            let class = day_class(run[0].uptime());
            let (first, last) = (short_day(&run[0].day), short_day(&days[end].day));
            let tooltip = match (start == end, run[0].uptime()) {
                (true, None) => format!("{first}: no data"),
                (false, None) => format!("{first} to {last}: no data"),
                (true, Some(u)) => format!(
                    "{first}: {}, {}",
                    percent(u),
                    plural(run[0].incidents, "incident")
                ),
                (false, Some(_)) => format!(
                    "{first} to {last}: {}, no incidents",
                    uptime_range(&run.iter().filter_map(|d| d.uptime()).collect::<Vec<_>>())
                ),
            };
            DayView {
                class,
                start: start + 1,
                span: end - start + 1,
                tooltip,
            }
        })
        .collect()
}

/// `100 %`, or `99.95–100 %` across days that differ.
fn uptime_range(uptimes: &[f64]) -> String {
    let low = uptimes.iter().copied().fold(f64::MAX, f64::min);
    let high = uptimes.iter().copied().fold(f64::MIN, f64::max);
    if low == high {
        percent(low)
    } else {
        format!("{}–{}", percent(low), percent(high))
    }
}

/// The tooltip of the quiet days, which have no element of their own.
pub fn quiet_days(days: &[super::data::DayData]) -> String {
    let quiet: Vec<f64> = days
        .iter()
        .filter(|d| is_quiet(d))
        .filter_map(|d| d.uptime())
        .collect();
    if quiet.is_empty() {
        return String::new();
    }
    let others = if quiet.len() == days.len() {
        "Every day"
    } else {
        "Other days"
    };
    // "No incidents" goes without saying (a day with one is never quiet),
    // and the list's legend says the figures are uptime.
    format!("{others}: {}", uptime_range(&quiet))
}

fn monitor_view(c: &ComponentData) -> MonitorView {
    let days = bars(&c.days);
    MonitorView {
        quiet: quiet_days(&c.days),
        label: c.label.clone(),
        target: c.target.clone(),
        state_class: c.state.class(),
        state_label: c.state.label(),
        days,
        uptime_90: match c.uptime(c.days.len()) {
            None => "No data yet".into(),
            Some(u) => format!("{} uptime", percent(u)),
        },
        cert: c.cert.as_ref().map(cert_view),
    }
}

/// The certificate's health in words.
pub fn cert_text(cert: &CertData) -> (&'static str, String) {
    let (class, text) = match (cert.valid, cert.days_left) {
        (None, _) => return ("nodata", "not checked yet".into()),
        (Some(true), Some(days)) => (
            "valid",
            format!("valid, expires in {}", plural(days.max(0) as usize, "day")),
        ),
        (Some(true), None) => ("valid", "valid".into()),
        (Some(false), _) => (
            "invalid",
            format!(
                "invalid ({})",
                cert.error.as_deref().unwrap_or("not trusted")
            ),
        ),
    };
    match &cert.grade {
        Some(grade) => (class, format!("{text}, TLS grade {grade}")),
        None => (class, text),
    }
}

fn cert_view(cert: &CertData) -> CertView {
    let (class, text) = cert_text(cert);
    CertView {
        invalid: class == "invalid",
        text,
    }
}
