//! The grade's alert rule (state key `tls_grade`): `ssl.grade_changed`
//! (a warning) when a monitor's endpoint is graded lower than the grade it
//! last saw. A better grade is recorded silently.

use std::borrow::Cow;

use crate::alert::{AlertState, Decision, Draft, EventType, Severity};

/// The grade a monitor last saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradeState(pub String);

impl GradeState {
    pub const KEY: &'static str = "tls_grade";
}

impl AlertState for GradeState {
    fn encode(&self) -> Cow<'static, str> {
        Cow::Owned(self.0.clone())
    }
    fn decode(stored: &str) -> Option<Self> {
        Some(Self(stored.to_string()))
    }
}

/// Higher is better; T and M (trust, name) rank below F.
fn rank(grade: &str) -> u8 {
    match grade {
        "A+" => 8,
        "A" => 7,
        "A-" => 6,
        "B" => 5,
        "C" => 4,
        "D" => 3,
        "E" => 2,
        "F" => 1,
        _ => 0,
    }
}

/// `caps`: the messages of the grade's caps, the why of the fall.
pub fn grade_changed(
    previous: Option<GradeState>,
    grade: &str,
    caps: &[String],
) -> Decision<GradeState> {
    let event = previous
        .filter(|before| rank(grade) < rank(&before.0))
        .map(|before| {
            Draft::new(
                EventType::SslGradeChanged,
                Severity::Warning,
                "grade_changed",
                serde_json::json!({
                    "Before": before.0,
                    "After": grade,
                    "Reasons": caps.join("; "),
                }),
            )
        });
    Decision {
        next: GradeState(grade.to_string()),
        event,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_fall_alerts() {
        let reasons = ["TLS 1.0 is offered".to_string()];
        assert!(
            grade_changed(None, "B", &reasons).event.is_none(),
            "a first grade is news to no one"
        );
        let fell = grade_changed(Some(GradeState("A".into())), "B", &reasons);
        let event = fell.event.unwrap();
        assert_eq!(event.event_type, EventType::SslGradeChanged);
        assert_eq!(event.severity, Severity::Warning);
        assert_eq!(event.details["Before"], "A");
        assert_eq!(event.details["After"], "B");
        assert_eq!(event.details["Reasons"], "TLS 1.0 is offered");
        assert_eq!(fell.next, GradeState("B".into()));
        assert!(
            grade_changed(Some(GradeState("B".into())), "A+", &[])
                .event
                .is_none()
        );
        assert!(
            grade_changed(Some(GradeState("A".into())), "T", &[])
                .event
                .is_some()
        );
    }
}
