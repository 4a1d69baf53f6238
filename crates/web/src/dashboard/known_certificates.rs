//! Certificates → Known: the organization's list of certificates it
//! ordered (CT findings of these are `known`, not suspicious), with the
//! API's three ways to add one (a PEM, the certificate's SHA-256, or Cert
//! Spotter's TBS hash, which also covers the precertificate) and remove.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use certsentry_api::ApiError;
use certsentry_api::ct::{KnownCertificateInput, KnownCertificateView};
use certsentry_api::error::ApiJson;
use certsentry_domain::people::Permission;
use serde::Deserialize;

use super::views::{Frame, refusal_text, render_form, unavailable};
use super::{Dashboard, Signed};

/// Entries shown (newest first).
const SHOWN: u32 = 200;

#[derive(Template)]
#[template(path = "dashboard/known_certificates.html")]
struct KnownPage {
    frame: Frame,
    known: Vec<KnownCertificateView>,
    may_manage: bool,
    form: AddForm,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    pem: String,
    #[serde(default)]
    sha256: String,
    #[serde(default)]
    tbs_sha256: String,
    #[serde(default)]
    note: String,
}

async fn known_page(
    dashboard: &Dashboard,
    signed: &Signed,
    form: AddForm,
    error: Option<String>,
) -> Response {
    let Ok(known) = dashboard
        .store
        .list_known_certificates(signed.org_id(), None, SHOWN)
        .await
    else {
        return unavailable();
    };
    let failed = error.is_some();
    render_form(
        &KnownPage {
            frame: Frame::new(signed, "Known certificates", "certificates"),
            known: known.items.iter().map(KnownCertificateView::from).collect(),
            may_manage: signed.may(Permission::ManageCertificates),
            form,
            error,
        },
        failed,
    )
}

/// `GET /certificates/known`.
pub async fn page(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
) -> Response {
    known_page(&dashboard, &signed, AddForm::default(), None).await
}

fn filled(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// `POST /certificates/known/add`: `POST /api/v1/ct/known-certificates`.
pub async fn add(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Form(form): Form<AddForm>,
) -> Response {
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => Arc::new(caller),
        Err(response) => return response,
    };
    let input = KnownCertificateInput {
        sha256: filled(&form.sha256),
        tbs_sha256: filled(&form.tbs_sha256),
        pem: filled(&form.pem),
        note: filled(&form.note),
    };
    match certsentry_api::ct::create_known(
        State(dashboard.api.clone()),
        Extension(caller),
        ApiJson(input),
    )
    .await
    {
        Ok(_) => Redirect::to("/certificates/known").into_response(),
        Err(ApiError::Unavailable { .. }) => unavailable(),
        Err(e) => known_page(&dashboard, &signed, form, Some(refusal_text(e))).await,
    }
}

/// `POST /certificates/known/:id/remove`.
pub async fn remove(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    dashboard
        .act_on(
            &signed,
            id,
            certsentry_api::ct::remove_known,
            "/certificates/known",
        )
        .await
}
