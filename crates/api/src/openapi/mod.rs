//! The OpenAPI document, generated from the handlers' annotations and
//! served at `/api/v1/openapi.json`. A snapshot test pins it.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::state::AppState;
use crate::{
    agents, audit_logs, certificates, channels, ct, dmarc, environments, events, monitors, regions,
    results, stats, status_notices, status_pages, sync, tls, views,
};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("csk_...")
                    .description(Some("An API key from `certsentry key create`."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "agentToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("cst_...")
                    .description(Some(
                        "A probe agent's token from `certsentry agent-token create`, scoped to one region; it opens `/agent/v1` only.",
                    ))
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
        status_notices::list_incidents, status_notices::create_incident, status_notices::retrieve_incident,
        status_notices::add_update,
        status_notices::list_maintenance, status_notices::create_maintenance, status_notices::retrieve_maintenance,
        status_notices::update_maintenance, status_notices::remove_maintenance,
        audit_logs::list,
        channels::list, channels::create, channels::retrieve, channels::update, channels::remove,
        channels::rotate_secret, channels::send_test,
        events::list_events, events::list_deliveries, events::redeliver,
        ct::list_certificates, ct::retrieve_certificate,
        ct::list_known, ct::create_known, ct::remove_known,
        dmarc::list, dmarc::create, dmarc::retrieve, dmarc::update, dmarc::remove,
        dmarc::rotate_token, dmarc::list_reports, dmarc::upload, dmarc::list_sources,
        dmarc::list_imports,
        tls::monitor_tls, tls::endpoint_tls,
        regions::list,
        agents::jobs, agents::upload,
    ),
    components(schemas(views::ErrorBody, views::ErrorDetail)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

mod bodies;
#[cfg(test)]
pub(crate) use bodies::EMAIL_PATTERN;

/// The document as served: the handlers' annotations, completed by
/// [`complete`] with what every operation shares. `regions` are the
/// server's probe regions, the values a monitor's `regions` may hold.
pub fn document_value(regions: &[String]) -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serializes");
    complete(&mut doc);
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        bodies::add_input_schemas(schemas, regions);
    }
    doc
}

/// The document for the default regions, pretty-printed with a trailing
/// newline (as the snapshot is stored).
pub fn document() -> String {
    let regions = crate::state::ApiConfig::default().regions;
    let mut json = serde_json::to_string_pretty(&document_value(&regions))
        .expect("the OpenAPI document serializes");
    json.push('\n');
    json
}

/// `GET /api/v1/openapi.json` (anonymous).
pub async fn serve_document(State(state): State<AppState>) -> Json<Value> {
    Json(document_value(&state.config.regions))
}

/// What every `/api/v1` operation shares, added once here rather than in
/// 34 annotations that could drift: the bearer key, the error answers the
/// middleware gives before any handler runs (401, 403, 429 with its
/// headers, 503 when the database is away), 404 for an unknown id, 400 and
/// 422 for what can be invalid, an `operationId` from the method and path,
/// and links from each created object to the calls that take its id.
fn complete(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(operations) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in operations.iter_mut() {
            operation["operationId"] = json!(operation_id(method, path));
            // The agents' protocol has its own token and answers; its
            // annotations say all of it.
            if path.starts_with("/agent/") {
                continue;
            }
            // `get_mut`, not indexing: `value["key"]` on a `&mut` inserts a
            // `null` where an operation has no parameters.
            if let Some(parameters) = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
            {
                parameters.iter_mut().for_each(constrain_query_parameter);
            }
            operation["security"] = json!([{ "bearerAuth": [] }]);
            if let Some(schema) = written_body(method, path) {
                operation["requestBody"]["content"]["application/json"]["schema"] =
                    json!({ "$ref": format!("#/components/schemas/{schema}") });
            }
            let has_input = operation.get("requestBody").is_some()
                || operation
                    .get("parameters")
                    .and_then(Value::as_array)
                    .is_some_and(|p| p.iter().any(|p| p["in"] == "query"));
            let responses = operation["responses"]
                .as_object_mut()
                .expect("every operation documents responses");
            let mut standard = vec![
                (
                    "401",
                    "unauthorized: the key is missing, malformed, unknown or revoked",
                ),
                (
                    "403",
                    "forbidden: the plan has no API access, or a read-only key tried to write",
                ),
                (
                    "429",
                    "rate_limited: the key's budget for this minute is spent",
                ),
                (
                    "503",
                    "unavailable: the database cannot be reached; nothing was stored",
                ),
            ];
            if path.contains('{') {
                standard.push(("404", "not_found: no such object in this organization"));
            }
            if has_input {
                standard.push(("400", "invalid_input (unreadable request) or plan_limit"));
                standard.push((
                    "422",
                    "invalid_input: a value breaks a rule; details name each field",
                ));
            }
            for (status, description) in standard {
                responses
                    .entry(status)
                    .or_insert_with(|| error_response(description));
            }
            for retried in ["429", "503"] {
                responses[retried]["headers"] = retry_headers(retried == "429");
            }
        }
    }
    add_links(paths);
    constrain_inputs(doc);
}

/// The bodies whose schema [`bodies`] writes under another name than the
/// handler's annotation gives (the channel body has no derived schema at
/// all: its parts are domain enums).
fn written_body(method: &str, path: &str) -> Option<&'static str> {
    match (method, path) {
        ("patch", "/api/v1/monitors/{id}") => Some("MonitorUpdate"),
        ("post", "/api/v1/notification-channels") => Some("ChannelInput"),
        ("patch", "/api/v1/notification-channels/{id}") => Some("ChannelUpdate"),
        _ => None,
    }
}

/// The value rules of the derived request bodies (status pages and
/// environments): text limits, the slug's shape, required fields; and that
/// unknown fields are refused. Monitors, channels and known certificates
/// are written whole by [`bodies`].
fn constrain_inputs(doc: &mut Value) {
    let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    for (name, schema) in schemas.iter_mut() {
        if name.ends_with("Input") {
            schema["additionalProperties"] = json!(false);
        }
    }
    // Merges `constraint` into `schema.properties.field`.
    let mut rule = |schema: &str, field: &str, constraint: Value| {
        let property = schemas
            .get_mut(schema)
            .and_then(|s| s["properties"].get_mut(field));
        if let (Some(property), Some(constraint)) = (property, constraint.as_object()) {
            for (key, value) in constraint {
                property[key] = value.clone();
            }
        }
    };
    // A trimmed, non-empty string of at most `max` characters.
    let text = |max: usize| json!({ "type": "string", "minLength": 1, "maxLength": max, "pattern": "\\S" });
    rule(
        "StatusPageInput",
        "slug",
        json!({ "type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$" }),
    );
    rule("StatusPageInput", "title", text(80));
    rule(
        "StatusPageInput",
        "description",
        json!({ "maxLength": 300 }),
    );
    rule(
        "StatusPageInput",
        "monitors",
        json!({ "type": "array", "minItems": 1, "maxItems": 20 }),
    );
    rule(
        "StatusPageInput",
        "embedOrigins",
        json!({
            "type": "array",
            "maxItems": certsentry_domain::status_page::MAX_EMBED_ORIGINS,
            "items": {
                "type": "string",
                "pattern": "^https://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$"
            }
        }),
    );
    rule("StatusPageMonitorInput", "publicLabel", text(100));
    rule(
        "StatusPageMonitorInput",
        "monitorId",
        json!({ "type": "string" }),
    );
    rule("EnvironmentInput", "name", text(50));
    status_notice_rules(&mut rule, text);
    // What the server refuses when absent (or null).
    for (schema, fields) in [
        ("StatusPageInput", &["slug", "title", "monitors"][..]),
        ("StatusPageMonitorInput", &["monitorId", "publicLabel"][..]),
        ("EnvironmentInput", &["name"][..]),
        ("IncidentInput", &["title", "state", "body"][..]),
        ("IncidentUpdateInput", &["state", "body"][..]),
        (
            "MaintenanceInput",
            &["title", "startsAt", "endsAt", "monitorIds"][..],
        ),
    ] {
        if let Some(schema) = schemas.get_mut(schema) {
            schema["required"] = json!(fields);
        }
    }
}

/// The value rules of the incident and maintenance bodies.
fn status_notice_rules(rule: &mut impl FnMut(&str, &str, Value), text: impl Fn(usize) -> Value) {
    use certsentry_domain::status_page::incident::{
        IncidentState, MAX_BODY_CHARS, MAX_TITLE_CHARS,
    };
    use certsentry_domain::status_page::maintenance::MAX_MESSAGE_CHARS;
    let states: Vec<&str> = IncidentState::ALL.iter().map(|s| s.as_str()).collect();
    for schema in ["IncidentInput", "IncidentUpdateInput"] {
        rule(schema, "state", json!({ "type": "string", "enum": states }));
        rule(schema, "body", text(MAX_BODY_CHARS));
    }
    rule("IncidentInput", "title", text(MAX_TITLE_CHARS));
    let monitor_ids = json!({ "type": "array", "minItems": 1, "items": { "type": "string" } });
    rule("MaintenanceInput", "title", text(MAX_TITLE_CHARS));
    rule(
        "MaintenanceInput",
        "message",
        json!({ "maxLength": MAX_MESSAGE_CHARS }),
    );
    rule("MaintenanceInput", "monitorIds", monitor_ids.clone());
    rule(
        "MaintenanceUpdateInput",
        "message",
        json!({ "maxLength": MAX_MESSAGE_CHARS }),
    );
    for field in ["startsAt", "endsAt"] {
        rule(
            "MaintenanceInput",
            field,
            json!({ "type": "string", "format": "date-time" }),
        );
        rule(
            "MaintenanceUpdateInput",
            field,
            json!({ "format": "date-time" }),
        );
    }
    // A change may leave a field out (or send `null`), but what it sends
    // follows the create body's rules.
    rule(
        "MaintenanceUpdateInput",
        "title",
        json!({ "minLength": 1, "maxLength": MAX_TITLE_CHARS, "pattern": "\\S" }),
    );
    rule(
        "MaintenanceUpdateInput",
        "monitorIds",
        json!({ "minItems": 1, "items": { "type": "string" } }),
    );
}

/// The rules `QueryParams` enforces, written into each query parameter's
/// schema so that a client (or a fuzzer) knows them: `limit`'s range (from
/// its description, `1-500`), timestamps and days, the cursor's id shape,
/// and the fixed sets described as `a, b or c`.
fn constrain_query_parameter(parameter: &mut Value) {
    if parameter["in"] != "query" {
        return;
    }
    let description = parameter["description"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = parameter["name"].as_str().unwrap_or_default().to_string();
    let required = parameter["required"] == true;
    let schema = &mut parameter["schema"];
    constrain_query_value(&name, &description, schema);
    // An empty value counts as absent, as `QueryParams` reads every
    // parameter: allowed for an optional one, refused for a required one.
    if schema.get("anyOf").is_none() && !required {
        *schema = or_empty(schema.take());
    }
}

fn constrain_query_value(name: &str, description: &str, schema: &mut Value) {
    match name {
        "limit" => {
            let range = description
                .split(|c: char| !(c.is_ascii_digit() || c == '-'))
                .find_map(|word| {
                    let (low, high) = word.split_once('-')?;
                    Some((low.parse::<u32>().ok()?, high.parse::<u32>().ok()?))
                });
            if let Some((minimum, maximum)) = range {
                *schema = json!({ "type": "integer", "minimum": minimum, "maximum": maximum });
            }
        }
        "since" => *schema = json!({ "type": "string", "format": "date-time" }),
        "from" | "to" => *schema = json!({ "type": "string", "format": "date" }),
        "type" if description.contains("event type") => {
            let types: Vec<&str> = certsentry_domain::alert::EventType::ALL
                .iter()
                .map(|t| t.as_str())
                .collect();
            *schema = json!({ "type": "string", "enum": types });
        }
        "cursor" => {
            schema["pattern"] = json!(format!(
                "^c[0-9a-z]{{{}}}$",
                certsentry_domain::id::ID_LEN - 1
            ))
        }
        _ if schema["type"] == "string" => {
            if let Some((list, last)) = description.rsplit_once(" or ") {
                let choices: Vec<&str> = list.split(", ").chain([last]).map(str::trim).collect();
                if choices.iter().all(|c| {
                    !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                }) {
                    schema["enum"] = json!(choices);
                }
            }
        }
        _ => {}
    }
}

fn or_empty(schema: Value) -> Value {
    json!({ "anyOf": [schema, { "type": "string", "maxLength": 0 }] })
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } }
    })
}

fn retry_headers(rate_limit: bool) -> Value {
    let integer =
        |description: &str| json!({ "description": description, "schema": { "type": "integer" } });
    let mut headers = json!({ "Retry-After": integer("Seconds to wait before retrying") });
    if rate_limit {
        headers["X-RateLimit-Limit"] = integer("Requests allowed in the window");
        headers["X-RateLimit-Remaining"] = integer("Requests left in the window");
        headers["X-RateLimit-Reset"] = integer("When the window resets (Unix seconds)");
    }
    headers
}

/// `GET /api/v1/monitors/{id}/results` → `getMonitorsIdResults`.
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_string();
    for segment in path.trim_start_matches("/api/v1/").split('/') {
        for word in segment
            .trim_matches(|c| c == '{' || c == '}')
            .split(['-', '_'])
            .filter(|w| !w.is_empty())
        {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                id.push(first.to_ascii_uppercase());
                id.push_str(chars.as_str());
            }
        }
    }
    id
}

/// Links from each created object (where its id is in the 201 body), and
/// from the first item of the lists whose objects are never created
/// through the API, to the operations that take that id, so a stateful
/// client can chain them.
fn add_links(paths: &mut serde_json::Map<String, Value>) {
    let listed = [
        (
            "/api/v1/ct/certificates",
            "/certificates/0/id",
            "getCtCertificatesId",
        ),
        (
            "/api/v1/deliveries",
            "/deliveries/0/id",
            "postDeliveriesIdRedeliver",
        ),
    ];
    for (collection, id_pointer, operation_id) in listed {
        if let Some(listing) = paths
            .get_mut(collection)
            .and_then(|c| c.get_mut("get"))
            .and_then(|get| get["responses"].get_mut("200"))
        {
            listing["links"] = json!({ operation_id: {
                "operationId": operation_id,
                "parameters": { "id": format!("$response.body#{id_pointer}") }
            }});
        }
    }
    let chains = [
        ("/api/v1/monitors", "/monitor/id", "/api/v1/monitors/{id}"),
        (
            "/api/v1/notification-channels",
            "/channel/id",
            "/api/v1/notification-channels/{id}",
        ),
        (
            "/api/v1/status-pages",
            "/statusPage/id",
            "/api/v1/status-pages/{id}",
        ),
        (
            "/api/v1/ct/known-certificates",
            "/knownCertificate/id",
            "/api/v1/ct/known-certificates/{id}",
        ),
        (
            "/api/v1/environments",
            "/environment/id",
            "/api/v1/environments/{id}",
        ),
    ];
    // Objects under a status page: the page's id comes from the request.
    let nested = [
        (
            "/api/v1/status-pages/{id}/incidents",
            "/incident/id",
            "/api/v1/status-pages/{id}/incidents/{iid}",
            "iid",
        ),
        (
            "/api/v1/status-pages/{id}/maintenance",
            "/maintenanceWindow/id",
            "/api/v1/status-pages/{id}/maintenance/{mid}",
            "mid",
        ),
    ];
    for (collection, id_pointer, item, parameter) in nested {
        let targets = operation_ids_under(paths, item);
        if let Some(created) = paths
            .get_mut(collection)
            .and_then(|c| c.get_mut("post"))
            .and_then(|post| post["responses"].get_mut("201"))
        {
            created["links"] = targets
                .into_iter()
                .map(|operation_id| {
                    let link = json!({
                        "operationId": operation_id,
                        "parameters": {
                            "id": "$request.path.id",
                            (parameter): format!("$response.body#{id_pointer}"),
                        }
                    });
                    (operation_id, link)
                })
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
    }
    for (collection, id_pointer, item) in chains {
        let targets = operation_ids_under(paths, item);
        let Some(created) = paths
            .get_mut(collection)
            .and_then(|c| c.get_mut("post"))
            .and_then(|post| post["responses"].get_mut("201"))
        else {
            continue;
        };
        let links: serde_json::Map<String, Value> = targets
            .into_iter()
            .map(|operation_id| {
                (
                    operation_id.clone(),
                    json!({
                        "operationId": operation_id,
                        "parameters": { "id": format!("$response.body#{id_pointer}") }
                    }),
                )
            })
            .collect();
        created["links"] = Value::Object(links);
    }
}

/// The operationIds `complete` gave the operations on `item` and below it,
/// except those of another object nested under it (`{…}` further down).
fn operation_ids_under(paths: &serde_json::Map<String, Value>, item: &str) -> Vec<String> {
    paths
        .iter()
        .filter(|(path, _)| {
            path.strip_prefix(item).is_some_and(|rest| {
                rest.is_empty() || (rest.starts_with('/') && !rest.contains('{'))
            })
        })
        .flat_map(|(_, operations)| operations.as_object().into_iter().flatten())
        .filter_map(|(_, operation)| operation["operationId"].as_str().map(str::to_string))
        .collect()
}
