//! Audit events: who changed what, when. Every write through the API or the
//! CLI records one, in the same transaction as the write itself.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::id::{AuditId, OrgId};
use crate::time::{Millis, now_ms};

/// Who did it: a person signed in to the dashboard, an API key, or the
/// operator's CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The user's id, the API key's id, or `cli`.
    pub id: String,
    /// The user's email, the key's name, or `cli (<os user>)`.
    pub name: String,
    /// Set for people only: the reference's `actorEmail`.
    #[serde(default)]
    pub email: Option<String>,
}

impl Actor {
    pub fn cli() -> Self {
        let user = std::env::var("USER").unwrap_or_else(|_| "operator".into());
        Self {
            id: "cli".into(),
            name: format!("cli ({user})"),
            email: None,
        }
    }

    pub fn user(id: &crate::id::UserId, email: &str) -> Self {
        Self {
            id: id.to_string(),
            name: email.to_string(),
            email: Some(email.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: AuditId,
    pub org_id: OrgId,
    /// Verb such as `monitor.create`.
    pub action: String,
    pub actor: Actor,
    /// Kind of object: `monitor`, `apiKey`, `environment`, `statusPage`, `organization`.
    pub target_type: String,
    pub target_id: String,
    pub metadata: Value,
    pub created_at: Millis,
}

impl AuditEvent {
    pub fn new(
        org_id: &OrgId,
        actor: &Actor,
        action: &str,
        target_type: &str,
        target_id: impl Into<String>,
        metadata: Value,
    ) -> Self {
        Self {
            id: AuditId::generate(),
            org_id: org_id.clone(),
            action: action.into(),
            actor: actor.clone(),
            target_type: target_type.into(),
            target_id: target_id.into(),
            metadata,
            created_at: now_ms(),
        }
    }
}
