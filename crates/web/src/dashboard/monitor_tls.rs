//! A monitor's TLS grade in full (`GET /api/v1/monitors/:id/tls` as a
//! page): the letter and score, every reason that capped or lowered it,
//! the protocols and suites the endpoint offers, and Mozilla's profiles.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use certsentry_api::ApiError;
use certsentry_api::tls::TlsView;

use super::views::{Frame, error_page, render, unavailable};
use super::{Dashboard, Signed};

#[derive(Template)]
#[template(path = "dashboard/monitor_tls.html")]
struct TlsPage {
    frame: Frame,
    monitor_id: String,
    tls: TlsView,
}

/// `GET /monitors/:id/tls`.
pub async fn page(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => Arc::new(caller),
        Err(response) => return response,
    };
    match certsentry_api::tls::monitor_tls(
        State(dashboard.api.clone()),
        Extension(caller),
        Path(id.clone()),
    )
    .await
    {
        Ok(Json(reply)) => render(&TlsPage {
            frame: Frame::new(
                &signed,
                format!("TLS grade of {}", reply.tls.endpoint),
                "monitors",
            ),
            monitor_id: id,
            tls: reply.tls,
        }),
        Err(ApiError::NotFound(why)) => error_page(StatusCode::NOT_FOUND, "No TLS grade", &why),
        Err(_) => unavailable(),
    }
}
