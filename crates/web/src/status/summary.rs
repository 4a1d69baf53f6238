//! `summary.json` in the shape of Atlassian Statuspage's, so existing
//! status widgets and aggregators can read a CertSentry page: `page`,
//! `status` (`indicator`, `description`), `components`, `incidents` and
//! `scheduled_maintenances`.

use certsentry_domain::status_page::public::{ComponentState, PageState};
use certsentry_domain::time::format_ms;
use serde_json::{Value, json};

use super::data::PageData;

/// Statuspage's component status words.
fn component_status(state: ComponentState) -> &'static str {
    match state {
        ComponentState::Operational | ComponentState::NoData => "operational",
        ComponentState::Degraded => "degraded_performance",
        ComponentState::Down => "major_outage",
        ComponentState::Maintenance => "under_maintenance",
    }
}

fn indicator(state: PageState) -> &'static str {
    match state {
        PageState::Operational => "none",
        PageState::PartialOutage => "minor",
        PageState::MajorOutage => "major",
        PageState::Maintenance => "maintenance",
    }
}

/// The page's summary; `url` is where the page is published.
pub fn summary(data: &PageData, url: &str) -> Value {
    let updated = format_ms(data.at);
    let components: Vec<Value> = data
        .components
        .iter()
        .map(|c| {
            json!({
                "id": format!("{}-{}", data.id, c.position),
                "name": c.label,
                "status": component_status(c.state),
                // A monitor not checked yet has no Statuspage word; it says so here.
                "description": (c.state == ComponentState::NoData).then_some("No data yet"),
                "position": c.position,
                "page_id": data.id,
                "group_id": null,
                "group": false,
                "showcase": true,
                "only_show_if_degraded": false,
                "start_date": null,
                "created_at": format_ms(c.created_at),
                "updated_at": format_ms(c.updated_at),
            })
        })
        .collect();
    json!({
        "page": {
            "id": data.id,
            "name": data.title,
            "url": url,
            "time_zone": "Etc/UTC",
            "updated_at": updated,
        },
        "status": {
            "indicator": indicator(data.overall),
            "description": data.overall.label(),
        },
        "components": components,
        "incidents": [],
        "scheduled_maintenances": [],
    })
}
