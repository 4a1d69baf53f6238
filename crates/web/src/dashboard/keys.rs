//! Settings → API keys: create (shown once), read-only or read+write,
//! revoke, last used. Keys are stored as hashes only; the list shows each
//! key's first characters so people can tell them apart.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use certsentry_domain::ApiKeyId;
use certsentry_domain::apikey::{ApiKey, new_api_key};
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::people::Permission;
use certsentry_domain::time::now_ms;
use certsentry_store::StoreError;
use serde::Deserialize;
use serde_json::json;

use super::views::{Frame, minute, not_found, render_form, unavailable};
use super::{Dashboard, Signed};

/// The longest key name accepted, as the CLI's.
const MAX_NAME_CHARS: usize = 100;

#[derive(Template)]
#[template(path = "dashboard/keys.html")]
struct KeysPage {
    frame: Frame,
    keys: Vec<ApiKey>,
    may_manage: bool,
    /// A new key's plaintext, shown once.
    new_key: Option<String>,
    error: Option<String>,
}

impl KeysPage {
    fn created(&self, key: &ApiKey) -> String {
        minute(key.created_at)
    }
    fn last_used(&self, key: &ApiKey) -> String {
        key.last_used_at.map_or_else(|| "never".into(), minute)
    }
}

async fn keys_page(
    dashboard: &Dashboard,
    signed: &Signed,
    new_key: Option<String>,
    error: Option<String>,
) -> Response {
    let Ok(mut keys) = dashboard.store.list_api_keys(Some(signed.org_id())).await else {
        return unavailable();
    };
    keys.reverse();
    let failed = error.is_some();
    render_form(
        &KeysPage {
            frame: Frame::new(signed, "API keys", "keys"),
            keys,
            may_manage: signed.may(Permission::ManageApiKeys),
            new_key,
            error,
        },
        failed,
    )
}

pub async fn page(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
) -> Response {
    keys_page(&dashboard, &signed, None, None).await
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    #[serde(default)]
    name: String,
    /// A checkbox: present (`on`) when ticked.
    #[serde(default)]
    read_only: Option<String>,
}

pub async fn create(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Form(form): Form<NewKeyForm>,
) -> Response {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        let error = format!("A key needs a name of 1-{MAX_NAME_CHARS} characters.");
        return keys_page(&dashboard, &signed, None, Some(error)).await;
    }
    let read_only = form.read_only.is_some();
    let (key, plaintext) = new_api_key(signed.org_id(), name, read_only);
    let audit = AuditEvent::new(
        signed.org_id(),
        &signed.actor(),
        "apiKey.create",
        "apiKey",
        key.id.as_str(),
        json!({"name": key.name, "readOnly": read_only}),
    );
    if dashboard.store.create_api_key(&key, &audit).await.is_err() {
        return unavailable();
    }
    keys_page(&dashboard, &signed, Some(plaintext), None).await
}

pub async fn revoke(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    let store = &dashboard.store;
    let Ok(keys) = store.list_api_keys(Some(signed.org_id())).await else {
        return unavailable();
    };
    let id = ApiKeyId::from_string(id);
    if !keys.iter().any(|k| k.id == id) {
        return not_found();
    }
    let audit = AuditEvent::new(
        signed.org_id(),
        &signed.actor(),
        "apiKey.revoke",
        "apiKey",
        id.as_str(),
        json!({}),
    );
    match store.revoke_api_key(&id, now_ms(), &audit).await {
        Ok(_) | Err(StoreError::NotFound) => Redirect::to("/settings/api-keys").into_response(),
        Err(_) => unavailable(),
    }
}
