//! Changing a monitor from its page: the edit form (filled from the stored
//! definition, header values masked), delete, and "check now", each through
//! the API's own handler with the signed-in person as the caller.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use certsentry_api::ApiError;
use certsentry_api::error::ApiJson;
use certsentry_domain::MonitorId;
use certsentry_domain::monitor::Monitor;

use super::monitor_form::{Filled, MASKED, form_page, read_form};
use super::views::{not_found, refusal, unavailable};
use super::{Dashboard, Signed};

/// The form's values for a stored monitor.
fn filled_from(monitor: &Monitor) -> Filled {
    let spec = &monitor.spec;
    let mut values = BTreeMap::new();
    let mut put = |field: &str, value: Option<String>| {
        if let Some(value) = value {
            values.insert(field.to_string(), value);
        }
    };
    put("kind", Some(spec.kind.as_str().to_string()));
    put("label", Some(spec.label.clone()));
    put("target", spec.target.clone());
    put("externalId", spec.external_id.clone());
    put(
        "environmentId",
        spec.environment_id.as_ref().map(|e| e.to_string()),
    );
    put(
        "uptimeIntervalSeconds",
        spec.uptime_interval_seconds.map(|n| n.to_string()),
    );
    put("tcpPort", spec.tcp_port.map(|n| n.to_string()));
    put(
        "heartbeatIntervalSeconds",
        spec.heartbeat_interval_seconds.map(|n| n.to_string()),
    );
    put(
        "heartbeatGraceSeconds",
        spec.heartbeat_grace_seconds.map(|n| n.to_string()),
    );
    put(
        "degradedThresholdMs",
        spec.degraded_threshold_ms.map(|n| n.to_string()),
    );
    put(
        "alertLeadDays",
        (!spec.alert_lead_days.is_empty()).then(|| {
            spec.alert_lead_days
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }),
    );
    put(
        "httpMethod",
        serde_json::to_value(spec.http_method)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string)),
    );
    put("httpBody", spec.http_body.clone());
    put("httpExpectedStatus", spec.http_expected_status.clone());
    put("httpKeyword", spec.http_keyword.clone());
    put(
        "httpKeywordMode",
        spec.http_keyword_mode
            .and_then(|m| serde_json::to_value(m).ok())
            .and_then(|v| v.as_str().map(str::to_string)),
    );
    put(
        "httpHeaders",
        (!spec.http_headers.is_empty()).then(|| {
            spec.http_headers
                .iter()
                .map(|h| format!("{}: {MASKED}", h.name))
                .collect::<Vec<_>>()
                .join("\n")
        }),
    );
    let checks = [
        ("checkUptime", spec.check_uptime),
        ("checkSsl", spec.check_ssl),
        ("checkDomain", spec.check_domain),
        ("checkDns", spec.check_dns),
        ("checkCt", spec.check_ct),
        ("enabled", spec.enabled),
    ];
    let ticked = checks
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name.to_string())
        .chain(spec.regions.iter().map(|r| format!("region:{r}")))
        .collect();
    Filled { values, ticked }
}

async fn load(dashboard: &Dashboard, signed: &Signed, id: &str) -> Result<Monitor, Response> {
    match dashboard
        .store
        .get_monitor(signed.org_id(), &MonitorId::from_string(id))
        .await
    {
        Ok(Some(monitor)) => Ok(monitor),
        Ok(None) => Err(not_found()),
        Err(_) => Err(unavailable()),
    }
}

/// `GET /monitors/:id/edit`.
pub async fn edit_form(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    let monitor = match load(&dashboard, &signed, &id).await {
        Ok(monitor) => monitor,
        Err(response) => return response,
    };
    let editing = Some((id.as_str(), monitor.spec.label.as_str()));
    form_page(
        &dashboard,
        &signed,
        editing,
        filled_from(&monitor),
        BTreeMap::new(),
        None,
    )
    .await
}

/// `POST /monitors/:id`: `PATCH /api/v1/monitors/:id` with the form.
pub async fn update(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let monitor = match load(&dashboard, &signed, &id).await {
        Ok(monitor) => monitor,
        Err(response) => return response,
    };
    let editing = Some((id.as_str(), monitor.spec.label.as_str()));
    let (filled, input) = read_form(&body);
    let input = match input {
        Ok(input) => input,
        Err((errors, error)) => {
            return form_page(&dashboard, &signed, editing, filled, errors, error).await;
        }
    };
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => Arc::new(caller),
        Err(response) => return response,
    };
    match certsentry_api::monitors::update(
        State(dashboard.api.clone()),
        Extension(caller),
        Path(id.clone()),
        ApiJson(input),
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/monitors/{id}")).into_response(),
        Err(ApiError::Unavailable { .. }) => unavailable(),
        Err(ApiError::NotFound(_)) => not_found(),
        Err(e) => {
            let (errors, error) = refusal(e);
            form_page(&dashboard, &signed, editing, filled, errors, error).await
        }
    }
}

/// `POST /monitors/:id/delete`: the monitor and its history.
pub async fn delete(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    dashboard
        .act_on(&signed, id, certsentry_api::monitors::remove, "/monitors")
        .await
}

/// `POST /monitors/:id/check`: runs the checks now, then shows the page
/// with the new results.
pub async fn check_now(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    let then = format!("/monitors/{id}");
    dashboard
        .act_on(&signed, id, certsentry_api::results::check_now, &then)
        .await
}

/// `POST /monitors/:id/heartbeat-token`: a new ping URL for a heartbeat
/// monitor; the old one stops working at once (a leaked URL is revoked).
pub async fn rotate_heartbeat_token(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    let monitor = match load(&dashboard, &signed, &id).await {
        Ok(monitor) => monitor,
        Err(response) => return response,
    };
    if monitor.heartbeat_token.is_none() {
        return not_found();
    }
    let token = certsentry_domain::monitor::new_heartbeat_token();
    let audit = certsentry_domain::audit::AuditEvent::new(
        signed.org_id(),
        &signed.actor(),
        "monitor.heartbeatToken.rotate",
        "monitor",
        monitor.id.as_str(),
        serde_json::json!({"label": monitor.spec.label}),
    );
    match dashboard
        .store
        .rotate_heartbeat_token(signed.org_id(), &monitor.id, &token, &audit)
        .await
    {
        Ok(()) => Redirect::to(&format!("/monitors/{id}")).into_response(),
        Err(certsentry_store::StoreError::NotFound) => not_found(),
        Err(_) => unavailable(),
    }
}
