//! Organizations and environments.

use serde::Serialize;

use crate::id::{EnvironmentId, OrgId};
use crate::time::Millis;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    /// Name of a configured plan.
    pub plan: String,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Environment {
    pub id: EnvironmentId,
    pub org_id: OrgId,
    pub name: String,
    pub created_at: Millis,
}

/// Environment names: 1-50 characters after trimming.
pub fn validate_environment_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        Err("must be 1-50 characters")
    } else {
        Ok(name.to_string())
    }
}
