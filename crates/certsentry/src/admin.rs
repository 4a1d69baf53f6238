//! Operator actions shared by `serve` (first-start bootstrap) and the CLI.

use anyhow::{Context, bail};
use certsentry_domain::apikey::{ApiKey, new_api_key};
use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::org::{Environment, Org, validate_environment_name};
use certsentry_domain::plan::Plans;
use certsentry_domain::time::now_ms;
use certsentry_domain::{ApiKeyId, EnvironmentId, OrgId};
use certsentry_store::Store;
use serde_json::json;

pub async fn create_org(
    store: &dyn Store,
    plans: &Plans,
    name: &str,
    plan: &str,
) -> anyhow::Result<Org> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        bail!("an organization name must be 1-100 characters");
    }
    if plans.get(plan).is_none() {
        bail!(
            "unknown plan \"{plan}\"; configured plans: {}",
            plans.names().collect::<Vec<_>>().join(", ")
        );
    }
    let org = Org {
        id: OrgId::generate(),
        name: name.into(),
        plan: plan.into(),
        created_at: now_ms(),
    };
    let audit = AuditEvent::new(
        &org.id,
        &Actor::cli(),
        "organization.create",
        "organization",
        org.id.as_str(),
        json!({"name": org.name, "plan": org.plan}),
    );
    store.create_org(&org, &audit).await?;
    Ok(org)
}

/// Creates a key and returns it with its plaintext, which is never stored.
pub async fn create_key(
    store: &dyn Store,
    org_id: &OrgId,
    name: &str,
    read_only: bool,
) -> anyhow::Result<(ApiKey, String)> {
    store
        .get_org(org_id)
        .await?
        .with_context(|| format!("no organization with id {org_id}"))?;
    let (key, plaintext) = new_api_key(org_id, name, read_only);
    let audit = AuditEvent::new(
        org_id,
        &Actor::cli(),
        "apiKey.create",
        "apiKey",
        key.id.as_str(),
        json!({"name": key.name, "readOnly": read_only}),
    );
    store.create_api_key(&key, &audit).await?;
    Ok((key, plaintext))
}

pub async fn revoke_key(store: &dyn Store, id: &ApiKeyId) -> anyhow::Result<ApiKey> {
    // The store fills in the key's organization.
    let audit = AuditEvent::new(
        &OrgId::from_string(""),
        &Actor::cli(),
        "apiKey.revoke",
        "apiKey",
        id.as_str(),
        json!({}),
    );
    store
        .revoke_api_key(id, now_ms(), &audit)
        .await
        .map_err(|e| match e {
            certsentry_store::StoreError::NotFound => {
                anyhow::anyhow!("no active API key with id {id}")
            }
            other => other.into(),
        })
}

pub async fn create_environment(
    store: &dyn Store,
    org_id: &OrgId,
    name: &str,
) -> anyhow::Result<Environment> {
    store
        .get_org(org_id)
        .await?
        .with_context(|| format!("no organization with id {org_id}"))?;
    let name =
        validate_environment_name(name).map_err(|e| anyhow::anyhow!("environment name {e}"))?;
    let env = Environment {
        id: EnvironmentId::generate(),
        org_id: org_id.clone(),
        name,
        created_at: now_ms(),
    };
    let audit = AuditEvent::new(
        org_id,
        &Actor::cli(),
        "environment.create",
        "environment",
        env.id.as_str(),
        json!({"name": env.name}),
    );
    store
        .create_environment(&env, &audit)
        .await
        .map_err(|e| match e {
            certsentry_store::StoreError::Conflict(_) => {
                anyhow::anyhow!("an environment named \"{}\" already exists", env.name)
            }
            other => other.into(),
        })?;
    Ok(env)
}

/// On first start with an empty database: a `default` organization and a
/// read+write key, printed once so a newcomer can curl right away.
pub async fn bootstrap_if_empty(
    store: &dyn Store,
    plans: &Plans,
) -> anyhow::Result<Option<(Org, String)>> {
    if !store.list_orgs().await?.is_empty() {
        return Ok(None);
    }
    let plan = if plans.get("agency").is_some() {
        "agency"
    } else {
        plans.names().next().context("no plans configured")?
    };
    let org = create_org(store, plans, "default", plan).await?;
    let (_, plaintext) = create_key(store, &org.id, "bootstrap", false).await?;
    Ok(Some((org, plaintext)))
}
