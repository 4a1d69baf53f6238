//! Field-level validation errors, as they appear in the API's `details`.

use std::collections::BTreeMap;

use serde::Serialize;

/// Offending fields and what is wrong with each, keyed by the field's path
/// in the request body (`label`, `httpHeaders[2].name`, `monitors[3].tcpPort`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem; the first message for a field wins.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Moves every error of `other` under `prefix` (`monitors[3]` + `label`).
    pub fn absorb(&mut self, prefix: &str, other: FieldErrors) {
        for (field, message) in other.0 {
            self.add(format!("{prefix}.{field}"), message);
        }
    }

    /// `Ok(())` when nothing was recorded.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (field, message) in &self.0 {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{field}: {message}")?;
        }
        Ok(())
    }
}
