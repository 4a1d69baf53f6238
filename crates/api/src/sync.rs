//! `PUT /api/v1/monitors/sync`: declarative reconciliation by externalId.
//!
//! Everything is validated before anything is applied; one bad item rejects
//! the whole request with a 422 whose `details` are keyed `monitors[i].field`.
//! The plan is then applied in one transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::State;
use axum::routing::put;
use axum::{Extension, Json, Router};
use certsentry_domain::FieldErrors;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::monitor::{Monitor, MonitorKind, MonitorRejection};

use crate::inputs::MonitorInput;
use certsentry_domain::time::now_ms;
use certsentry_store::{StoreError, SyncChanges};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::monitors::{
    external_id_conflict, monitor_audit, monitor_quota_message, new_monitor, prepare_monitor,
};
use crate::state::AppState;
use crate::views::{ErrorBody, SyncResult};

pub const MAX_SYNC_MONITORS: usize = 250;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/monitors/sync", put(sync))
}

/// The sync request. Items are kept as raw JSON so that a malformed item is
/// reported at its own index rather than failing the body as a whole.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncBody {
    /// Up to 250 monitor definitions (same fields as create), each with an externalId.
    #[schema(value_type = Vec<MonitorInput>)]
    pub monitors: Vec<Value>,
    /// Delete managed monitors missing from the payload. Defaults to false.
    #[serde(default)]
    pub prune: bool,
    /// Validate and return the plan without applying anything. Defaults to false.
    #[serde(default)]
    pub dry_run: bool,
}

/// Reconcile monitors declaratively.
#[utoipa::path(
    put, path = "/api/v1/monitors/sync", tag = "monitors", request_body = SyncBody,
    responses(
        (status = 200, body = SyncResult),
        (status = 400, description = "invalid_input (unreadable body) or plan_limit", body = ErrorBody),
        (status = 422, description = "invalid_input with per-item details; nothing applied", body = ErrorBody),
    ),
    security(("bearerAuth" = []))
)]
pub async fn sync(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    ApiJson(body): ApiJson<SyncBody>,
) -> ApiResult<Json<SyncResult>> {
    if body.monitors.len() > MAX_SYNC_MONITORS {
        return Err(ApiError::invalid(
            "monitors",
            format!("at most {MAX_SYNC_MONITORS} monitors per sync"),
        ));
    }
    let existing: HashMap<String, Monitor> = state
        .store
        .list_managed_monitors(caller.org_id())
        .await?
        .into_iter()
        .filter_map(|m| Some((m.spec.external_id.clone()?, m)))
        .collect();

    let mut errors = FieldErrors::new();
    let mut plan_limit: Option<String> = None;
    let mut seen: HashSet<String> = HashSet::new();
    let mut changes = SyncChanges::default();
    let mut result = SyncResult {
        created: vec![],
        updated: vec![],
        unchanged: vec![],
        deleted: vec![],
        dry_run: body.dry_run,
    };
    let mut audit: Vec<AuditEvent> = Vec::new();

    for (index, raw) in body.monitors.iter().enumerate() {
        let prefix = format!("monitors[{index}]");
        let input: MonitorInput = match serde_path_to_error::deserialize(raw) {
            Ok(input) => input,
            Err(err) => {
                let path = err.path().to_string();
                let field = if path.is_empty() || path == "." {
                    prefix.clone()
                } else {
                    format!("{prefix}.{path}")
                };
                errors.add(field, err.into_inner().to_string());
                continue;
            }
        };
        let Some(external_id) = input.external_id.clone().filter(|id| !id.trim().is_empty()) else {
            errors.add(format!("{prefix}.externalId"), "is required for sync");
            continue;
        };
        if input.kind == Some(MonitorKind::Heartbeat) {
            errors.add(
                format!("{prefix}.kind"),
                "heartbeat monitors can't be synced (their ping token is stateful)",
            );
            continue;
        }
        if !seen.insert(external_id.trim().to_string()) {
            errors.add(
                format!("{prefix}.externalId"),
                format!("\"{external_id}\" appears more than once"),
            );
            continue;
        }
        let current = existing.get(external_id.trim());
        if let Some(current) = current
            && current.spec.kind == MonitorKind::Heartbeat
        {
            errors.add(
                format!("{prefix}.externalId"),
                "belongs to a heartbeat monitor, which can't be synced",
            );
            continue;
        }
        let spec = match prepare_monitor(&state, &caller, &input, current.map(|m| &m.spec)).await {
            Ok(spec) => spec,
            Err(MonitorRejection::Invalid(item_errors)) => {
                errors.absorb(&prefix, item_errors);
                continue;
            }
            Err(MonitorRejection::PlanLimit(message)) => {
                plan_limit.get_or_insert(message);
                continue;
            }
        };
        let external_id = spec.external_id.clone().unwrap_or_default();
        match current {
            None => {
                let monitor = new_monitor(&caller, spec);
                audit.push(monitor_audit(
                    &caller,
                    "monitor.create",
                    &monitor,
                    Some("sync"),
                ));
                changes.create.push(monitor);
                result.created.push(external_id);
            }
            Some(current) if current.spec == spec => result.unchanged.push(external_id),
            Some(current) => {
                let updated = Monitor {
                    spec,
                    updated_at: now_ms(),
                    ..current.clone()
                };
                audit.push(monitor_audit(
                    &caller,
                    "monitor.update",
                    &updated,
                    Some("sync"),
                ));
                changes.update.push(updated);
                result.updated.push(external_id);
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if let Some(message) = plan_limit {
        return Err(ApiError::PlanLimit(message));
    }
    if body.prune {
        let mut stale: Vec<&Monitor> = existing
            .values()
            .filter(|m| m.spec.kind != MonitorKind::Heartbeat)
            .filter(|m| !seen.contains(m.spec.external_id.as_deref().unwrap_or_default()))
            .collect();
        stale.sort_by(|a, b| a.id.cmp(&b.id));
        for monitor in stale {
            audit.push(monitor_audit(
                &caller,
                "monitor.delete",
                monitor,
                Some("sync"),
            ));
            changes.delete.push(monitor.id.clone());
            result
                .deleted
                .push(monitor.spec.external_id.clone().unwrap_or_default());
        }
    }
    let current_total = state.store.count_monitors(caller.org_id()).await?;
    if current_total + changes.create.len() as u64
        > caller.plan.max_monitors as u64 + changes.delete.len() as u64
    {
        return Err(ApiError::PlanLimit(monitor_quota_message(&caller)));
    }
    if body.dry_run {
        return Ok(Json(result));
    }
    audit.push(AuditEvent::new(
        caller.org_id(),
        &caller.actor(),
        "monitor.sync",
        "monitor",
        "sync",
        json!({
            "created": result.created.len(), "updated": result.updated.len(),
            "unchanged": result.unchanged.len(), "deleted": result.deleted.len(), "prune": body.prune,
        }),
    ));
    match state
        .store
        .apply_sync(caller.org_id(), &changes, caller.plan.max_monitors, &audit)
        .await
    {
        Ok(()) => {
            state.refresh_ct_watch(true).await;
            Ok(Json(result))
        }
        Err(StoreError::QuotaExceeded { .. }) => {
            Err(ApiError::PlanLimit(monitor_quota_message(&caller)))
        }
        // A concurrent create took an externalId this sync was about to use.
        Err(StoreError::Conflict(_)) => Err(external_id_conflict(None)),
        Err(e) => Err(e.into()),
    }
}
