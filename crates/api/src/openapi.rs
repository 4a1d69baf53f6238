//! The OpenAPI document, generated from the handlers' annotations and
//! served at `/api/v1/openapi.json`. A snapshot test pins it.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{
    audit_logs, certificates, channels, ct, environments, events, monitors, results, stats,
    status_pages, sync, views,
};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("csk_...")
                    .description(Some("An API key from `certsentry key create`."))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "CertSentry API", description = "Self-hosted CertSentry: monitors, status pages, audit logs, alerts and their delivery."),
    paths(
        monitors::list, monitors::create, monitors::retrieve, monitors::update, monitors::remove,
        sync::sync,
        results::list, results::check_now,
        certificates::list, stats::stats,
        environments::list, environments::create, environments::remove,
        status_pages::list, status_pages::create, status_pages::retrieve, status_pages::update, status_pages::remove,
        audit_logs::list,
        channels::list, channels::create, channels::retrieve, channels::update, channels::remove,
        channels::rotate_secret, channels::send_test,
        events::list_events, events::list_deliveries, events::redeliver,
        ct::list_certificates, ct::retrieve_certificate,
        ct::list_known, ct::create_known, ct::remove_known,
    ),
    components(schemas(views::ErrorBody, views::ErrorDetail)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// The document, pretty-printed with a trailing newline (as the snapshot is stored).
pub fn document() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    json.push('\n');
    json
}

/// `GET /api/v1/openapi.json` (anonymous).
pub async fn serve_document() -> Json<serde_json::Value> {
    Json(serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serializes"))
}
