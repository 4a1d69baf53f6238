//! The monitor form, new and edit. A form is turned into the API's own
//! request body and goes through the API's operations (`certsentry_api::
//! monitors::create_monitor`, and the `PATCH` handler for an edit), so the
//! dashboard applies every rule, quota and message the API does: the
//! messages appear beside their fields. Header values are secrets: an edit
//! shows them masked, and a masked value sent back keeps the stored one
//! (the API's `null`).

use std::collections::BTreeMap;

use askama::Template;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use certsentry_api::ApiError;
use certsentry_api::inputs::MonitorInput;
use serde_json::{Map, Value, json};

use super::views::{FormRefusal, Frame, messages_for, refusal, render_form, unavailable};
use super::{Dashboard, Signed};

/// Fields sent as whole numbers.
const NUMBER_FIELDS: &[&str] = &[
    "uptimeIntervalSeconds",
    "tcpPort",
    "heartbeatIntervalSeconds",
    "heartbeatGraceSeconds",
    "degradedThresholdMs",
];
/// Fields sent as text when filled in.
const TEXT_FIELDS: &[&str] = &[
    "label",
    "target",
    "externalId",
    "environmentId",
    "httpMethod",
    "httpBody",
    "httpExpectedStatus",
    "httpKeyword",
    "httpKeywordMode",
];
/// Checkboxes: true when ticked, false otherwise.
const CHECKBOXES: &[&str] = &[
    "checkSsl",
    "checkDomain",
    "checkDns",
    "checkUptime",
    "checkCt",
];

/// How a header value is shown on an edit, and recognized when sent back.
pub const MASKED: &str = certsentry_api::views::MASKED;

#[derive(Template)]
#[template(path = "dashboard/monitor_form.html")]
struct MonitorFormPage {
    frame: Frame,
    /// Where the form posts: `/monitors`, or `/monitors/:id` for an edit.
    action: String,
    button: &'static str,
    /// What was typed, by field name (kept when the form comes back).
    values: BTreeMap<String, String>,
    /// Ticked checkboxes and chosen regions.
    ticked: Vec<String>,
    regions: Vec<String>,
    environments: Vec<(String, String)>,
    /// Problems by field (`label`, `httpHeaders[0].name`, …) and overall.
    errors: BTreeMap<String, String>,
    error: Option<String>,
}

impl MonitorFormPage {
    fn value(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }
    fn is(&self, field: &str, value: &str) -> bool {
        self.value(field) == value
    }
    fn ticked(&self, name: &str) -> bool {
        self.ticked.iter().any(|t| t == name)
    }
    /// The message for `field` and anything under it (`httpHeaders[2].name`).
    fn error_for(&self, field: &str) -> Option<String> {
        messages_for(&self.errors, field, false)
    }
}

/// What a form holds: typed values by field, and the ticked boxes
/// (checks, `enabled`, and regions as `region:NAME`).
pub struct Filled {
    pub values: BTreeMap<String, String>,
    pub ticked: Vec<String>,
}

/// The form page; `editing` is the monitor's id and label on an edit.
pub async fn form_page(
    dashboard: &Dashboard,
    signed: &Signed,
    editing: Option<(&str, &str)>,
    filled: Filled,
    errors: BTreeMap<String, String>,
    error: Option<String>,
) -> Response {
    let Filled { values, ticked } = filled;
    let Ok(environments) = dashboard.store.list_environments(signed.org_id()).await else {
        return unavailable();
    };
    let failed = error.is_some() || !errors.is_empty();
    let (title, action, button) = match editing {
        Some((id, label)) => (format!("Edit {label}"), format!("/monitors/{id}"), "Save"),
        None => (
            "New monitor".to_string(),
            "/monitors".to_string(),
            "Create monitor",
        ),
    };
    render_form(
        &MonitorFormPage {
            frame: Frame::new(signed, title, "monitors"),
            action,
            button,
            values,
            ticked,
            regions: dashboard.api.config.regions.clone(),
            environments: environments
                .into_iter()
                .map(|e| (e.id.to_string(), e.name))
                .collect(),
            errors,
            error,
        },
        failed,
    )
}

/// `GET /monitors/new`: a standard monitor with the API's usual choices.
pub async fn form(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
) -> Response {
    let values = BTreeMap::from([
        ("kind".to_string(), "standard".to_string()),
        ("uptimeIntervalSeconds".to_string(), "300".to_string()),
        ("alertLeadDays".to_string(), "30, 14, 7".to_string()),
        ("httpMethod".to_string(), "GET".to_string()),
    ]);
    let ticked = ["checkSsl", "checkDomain", "checkUptime", "enabled"]
        .iter()
        .map(|s| s.to_string())
        .chain(
            dashboard
                .api
                .config
                .regions
                .first()
                .map(|region| format!("region:{region}")),
        )
        .collect();
    let filled = Filled { values, ticked };
    form_page(&dashboard, &signed, None, filled, BTreeMap::new(), None).await
}

/// The values the new form starts with, for a standard monitor.
const STARTING_VALUES: &[(&str, &str)] = &[
    ("uptimeIntervalSeconds", "300"),
    ("alertLeadDays", "30, 14, 7"),
    ("httpMethod", "GET"),
];

/// The request body the API would receive for this form, or the fields
/// that cannot even be read (a number field holding letters).
///
/// One form serves every kind, and it starts filled for a standard
/// monitor: a starting value left untouched that the chosen kind does not
/// take (the lead days of a tcp monitor, a heartbeat's regions) is left
/// out rather than refused. Anything the person typed is sent, so the
/// API's message says when it does not apply.
fn to_body(
    values: &BTreeMap<String, String>,
    ticked: &[String],
) -> Result<Value, BTreeMap<String, String>> {
    let mut body = Map::new();
    let mut errors = BTreeMap::new();
    let kind = values.get("kind").map_or("standard", String::as_str);
    let untouched = |field: &str| {
        STARTING_VALUES
            .iter()
            .any(|(f, v)| *f == field && values.get(field).is_some_and(|typed| typed.trim() == *v))
    };
    let applies = |field: &str| match field {
        "alertLeadDays" | "httpMethod" => kind == "standard",
        "uptimeIntervalSeconds" => kind != "heartbeat",
        _ => true,
    };
    let values: BTreeMap<String, String> = values
        .iter()
        .filter(|(field, _)| applies(field) || !untouched(field))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let values = &values;
    body.insert("kind".into(), json!(kind));
    for field in TEXT_FIELDS {
        if let Some(text) = values
            .get(*field)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        {
            body.insert((*field).into(), json!(text));
        }
    }
    for field in NUMBER_FIELDS {
        if let Some(text) = values
            .get(*field)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        {
            match text.parse::<i64>() {
                Ok(n) => {
                    body.insert((*field).into(), json!(n));
                }
                Err(_) => {
                    errors.insert((*field).to_string(), "must be a whole number".to_string());
                }
            }
        }
    }
    if kind == "standard" {
        for field in CHECKBOXES {
            body.insert((*field).into(), json!(ticked.iter().any(|t| t == field)));
        }
    }
    body.insert(
        "enabled".into(),
        json!(ticked.iter().any(|t| t == "enabled")),
    );
    let regions: Vec<&str> = ticked
        .iter()
        .filter_map(|t| t.strip_prefix("region:"))
        .collect();
    // A heartbeat runs nowhere: the region ticked at the start is dropped.
    if kind != "heartbeat" || regions.len() > 1 {
        body.insert("regions".into(), json!(regions));
    }
    if let Some(days) = values.get("alertLeadDays").filter(|d| !d.trim().is_empty()) {
        let parsed: Result<Vec<i64>, _> = days
            .split(',')
            .map(|d| d.trim())
            .filter(|d| !d.is_empty())
            .map(str::parse)
            .collect();
        match parsed {
            Ok(days) => {
                body.insert("alertLeadDays".into(), json!(days));
            }
            Err(_) => {
                errors.insert(
                    "alertLeadDays".into(),
                    "must be whole numbers separated by commas".into(),
                );
            }
        }
    }
    if let Some(lines) = values.get("httpHeaders").filter(|h| !h.trim().is_empty()) {
        let mut headers = Vec::new();
        for (i, line) in lines.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            match line.split_once(':') {
                // A masked value sent back keeps the stored one.
                Some((name, value)) if value.trim() == MASKED => {
                    headers.push(json!({"name": name.trim(), "value": null}))
                }
                Some((name, value)) => {
                    headers.push(json!({"name": name.trim(), "value": value.trim()}))
                }
                None => {
                    errors.insert(
                        format!("httpHeaders[{i}]"),
                        "write each header as Name: value".into(),
                    );
                }
            }
        }
        body.insert("httpHeaders".into(), Value::Array(headers));
    }
    if errors.is_empty() {
        Ok(Value::Object(body))
    } else {
        Err(errors)
    }
}

/// A posted form: what was typed, and the request body it makes (or the
/// page again, with what could not be read).
pub fn read_form(body: &[u8]) -> (Filled, Result<MonitorInput, FormRefusal>) {
    let mut values = BTreeMap::new();
    let mut ticked = Vec::new();
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "regions" => ticked.push(format!("region:{value}")),
            name if CHECKBOXES.contains(&name) || name == "enabled" => {
                ticked.push(name.to_string())
            }
            "csrf_token" => {}
            name => {
                values.insert(name.to_string(), value.into_owned());
            }
        }
    }
    let input = match to_body(&values, &ticked) {
        Ok(body) => serde_json::from_value::<MonitorInput>(body).map_err(|e| {
            (
                BTreeMap::new(),
                Some(format!("The form could not be read: {e}")),
            )
        }),
        Err(errors) => Err((errors, None)),
    };
    (Filled { values, ticked }, input)
}

/// `POST /monitors`: creates the monitor, or shows the form again with
/// every problem beside its field.
pub async fn create(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    body: Bytes,
) -> Response {
    let (filled, input) = read_form(&body);
    let input = match input {
        Ok(input) => input,
        Err((errors, error)) => {
            return form_page(&dashboard, &signed, None, filled, errors, error).await;
        }
    };
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match certsentry_api::monitors::create_monitor(&dashboard.api, &caller, &input).await {
        Ok(monitor) => Redirect::to(&format!("/monitors/{}", monitor.id)).into_response(),
        Err(ApiError::Unavailable { .. }) => unavailable(),
        Err(e) => {
            let (errors, error) = refusal(e);
            form_page(&dashboard, &signed, None, filled, errors, error).await
        }
    }
}
