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

/// The message of the innermost cause in `error`'s `source()` chain (the
/// error's own message when it has no source): where HTTP clients keep the
/// words a user needs, such as "connection refused".
pub fn innermost_cause(error: &dyn std::error::Error) -> String {
    let mut deepest = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        deepest = cause.to_string();
        source = cause.source();
    }
    deepest
}

#[cfg(test)]
mod cause_tests {
    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn innermost_cause_walks_the_chain() {
        let e = Outer(std::io::Error::other("connection refused"));
        assert_eq!(super::innermost_cause(&e), "connection refused");
        assert_eq!(
            super::innermost_cause(&std::io::Error::other("alone")),
            "alone"
        );
    }
}
