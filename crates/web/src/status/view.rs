//! The HTML forms of a status page: the page itself and the 404 page.

use askama::Template;
use certsentry_domain::status_page::public::day_class;

use super::data::{CertData, ComponentData, PageData};

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
            description: data.description.clone(),
            overall_class: data.overall.class(),
            overall_label: data.overall.label(),
            monitors: data.components.iter().map(monitor_view).collect(),
            rendered_at: certsentry_domain::time::format_ms(data.at)[..16].replace('T', " "),
        }
    }
}

fn monitor_view(c: &ComponentData) -> MonitorView {
    let days = c
        .days
        .iter()
        .map(|d| {
            let uptime = d.uptime();
            let tooltip = match uptime {
                None => format!("{}: no data", d.day),
                Some(u) => format!(
                    "{}: {u:.2} % uptime, {}",
                    d.day,
                    plural(d.incidents, "incident")
                ),
            };
            DayView {
                class: day_class(uptime),
                tooltip,
            }
        })
        .collect();
    MonitorView {
        label: c.label.clone(),
        target: c.target.clone(),
        state_class: c.state.class(),
        state_label: c.state.label(),
        days,
        uptime_90: match c.uptime(c.days.len()) {
            None => "No data yet".into(),
            Some(u) => format!("{u:.2} % uptime"),
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
    CertView { class, text }
}
