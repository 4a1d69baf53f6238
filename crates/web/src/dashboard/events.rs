//! Alerts: every event the organization's rules raised, newest first,
//! filtered by type (`GET /api/v1/events` as a page), each linking to its
//! monitor; the deliveries of each are on its channel's page.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use certsentry_domain::alert::{Event, EventType};
use certsentry_store::EventQuery;
use serde::Deserialize;

use super::views::{Frame, minute, render, unavailable};
use super::{Dashboard, Signed};

/// Events per page.
const PAGE: u32 = 100;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default, rename = "type")]
    event_type: String,
    #[serde(default)]
    before: String,
}

#[derive(Template)]
#[template(path = "dashboard/events.html")]
struct EventsPage {
    frame: Frame,
    events: Vec<Event>,
    types: &'static [EventType],
    filters: Filters,
    next: Option<String>,
}

impl EventsPage {
    fn when(&self, at: &i64) -> String {
        minute(*at)
    }
}

/// `GET /events`.
pub async fn page(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Query(filters): Query<Filters>,
) -> Response {
    let query = EventQuery {
        monitor_id: None,
        event_type: Some(filters.event_type.clone()).filter(|t| EventType::parse(t).is_some()),
        since: None,
        cursor: Some(filters.before.clone()).filter(|c| !c.is_empty()),
        limit: PAGE,
    };
    let Ok(listed) = dashboard.store.list_events(signed.org_id(), &query).await else {
        return unavailable();
    };
    render(&EventsPage {
        frame: Frame::new(&signed, "Alerts", "events"),
        events: listed.items,
        types: EventType::ALL,
        filters,
        next: listed.next_cursor,
    })
}
