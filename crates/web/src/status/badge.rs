//! SVG badges in the flat look shields.io made common: a grey label and a
//! coloured message, text in both for anyone who cannot tell the colours
//! apart. Widths are estimated from the text (Verdana 11 px averages about
//! 7 px a character), as shields.io did before it measured fonts.

use certsentry_domain::status_page::public::{ComponentState, PageState};

use super::data::ComponentData;
use super::view::cert_text;

pub const GREEN: &str = "#2e7d32";
pub const ORANGE: &str = "#b45309";
pub const RED: &str = "#c62828";
pub const BLUE: &str = "#1f56b3";
pub const GREY: &str = "#5f6b7a";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn width(text: &str) -> usize {
    text.chars().count() * 7 + 10
}

/// The badge's SVG.
pub fn svg(label: &str, message: &str, colour: &str) -> String {
    let (left, right) = (width(label), width(message));
    let total = left + right;
    let (label, message) = (escape(label), escape(message));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{label}: {message}"><title>{label}: {message}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/><rect x="{left}" width="{right}" height="20" fill="{colour}"/><rect width="{total}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11"><text x="{lx}" y="14">{label}</text><text x="{rx}" y="14">{message}</text></g></svg>"##,
        lx = left / 2,
        rx = left + right / 2,
    )
}

/// The page's overall state.
pub fn page(state: PageState) -> String {
    let colour = match state {
        PageState::Operational => GREEN,
        PageState::PartialOutage => ORANGE,
        PageState::MajorOutage => RED,
        PageState::Maintenance => BLUE,
        PageState::NoData => GREY,
    };
    svg("status", &state.label().to_lowercase(), colour)
}

/// What a monitor's badge shows: `status`, `uptime30`, `uptime90` or
/// `cert`; `None` for another metric.
pub fn component(c: &ComponentData, metric: &str) -> Option<String> {
    let uptime = |days: usize| {
        let (message, colour) = match c.uptime(days) {
            None => ("no data".to_string(), GREY),
            Some(u) if u >= 99.9 => (format!("{u:.2}%"), GREEN),
            Some(u) if u >= 99.0 => (format!("{u:.2}%"), ORANGE),
            Some(u) => (format!("{u:.2}%"), RED),
        };
        svg(&format!("uptime {days}d"), &message, colour)
    };
    Some(match metric {
        "status" => {
            let colour = match c.state {
                ComponentState::Operational => GREEN,
                ComponentState::Degraded => ORANGE,
                ComponentState::Down => RED,
                ComponentState::Maintenance => BLUE,
                ComponentState::NoData => GREY,
            };
            svg(&c.label, &c.state.label().to_lowercase(), colour)
        }
        "uptime30" => uptime(30),
        "uptime90" => uptime(90),
        "cert" => match &c.cert {
            None => svg("certificate", "not shown", GREY),
            Some(cert) => {
                let (class, text) = cert_text(cert);
                let colour = match class {
                    "valid" => GREEN,
                    "invalid" => RED,
                    _ => GREY,
                };
                svg("certificate", &text, colour)
            }
        },
        _ => return None,
    })
}
