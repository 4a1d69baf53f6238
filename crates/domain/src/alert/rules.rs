//! The alert rules. Each is a pure function of the rule's last stored state
//! and the new observation, answering the next state and maybe an event.
//!
//! Every rule has its own state type, so a misspelt state cannot compile.
//! The stored text of each state is exactly what earlier releases wrote
//! (`up`, `invalid`, `missed`, a threshold in days, a DNS fingerprint).

use std::borrow::Cow;

use serde_json::Value;

use super::{EventType, Severity};
use crate::monitor::MonitorStatus;
use crate::string_enum::string_enum;
use crate::time::Millis;

/// A rule's state as it is stored per monitor and key (`alert_state`).
pub trait AlertState: Sized {
    /// The stored text.
    fn encode(&self) -> Cow<'static, str>;
    /// Reads stored text; `None` for text this rule never writes, which the
    /// rule then treats as "no state yet".
    fn decode(stored: &str) -> Option<Self>;
}

macro_rules! fixed_alert_state {
    ($name:ident, $key:literal) => {
        impl $name {
            /// The key this rule's state is stored under.
            pub const KEY: &'static str = $key;
        }
        impl AlertState for $name {
            fn encode(&self) -> Cow<'static, str> {
                Cow::Borrowed(self.as_str())
            }
            fn decode(stored: &str) -> Option<Self> {
                Self::parse(stored)
            }
        }
    };
}

string_enum!(
    /// The uptime rule's state (key `uptime`): the monitor's last judged status.
    UptimeAlertState {
        Up = "up",
        Down = "down",
        Degraded = "degraded",
    }
);
fixed_alert_state!(UptimeAlertState, "uptime");

impl UptimeAlertState {
    /// The state for a judged status; `Unknown` is not a judgement.
    pub fn of(status: MonitorStatus) -> Option<Self> {
        match status {
            MonitorStatus::Up => Some(Self::Up),
            MonitorStatus::Down => Some(Self::Down),
            MonitorStatus::Degraded => Some(Self::Degraded),
            MonitorStatus::Unknown => None,
        }
    }
}

string_enum!(
    /// The SSL validity rule's state (key `ssl`).
    SslAlertState {
        Valid = "valid",
        Invalid = "invalid",
    }
);
fixed_alert_state!(SslAlertState, "ssl");

string_enum!(
    /// The heartbeat rule's state (key `heartbeat`).
    HeartbeatAlertState {
        Ok = "ok",
        Missed = "missed",
        Failed = "failed",
    }
);
fixed_alert_state!(HeartbeatAlertState, "heartbeat");

/// The expiry rules' state (key `<event>:<subject>`): the smallest lead-day
/// threshold already announced for that certificate or expiry date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnouncedThreshold(pub u16);

impl AlertState for AnnouncedThreshold {
    fn encode(&self) -> Cow<'static, str> {
        Cow::Owned(self.0.to_string())
    }
    fn decode(stored: &str) -> Option<Self> {
        stored.parse().ok().map(Self)
    }
}

/// The DNS change rule's state (key `dns`): a fingerprint of the last
/// announced record set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsFingerprint(pub String);

impl DnsFingerprint {
    pub const KEY: &'static str = "dns";
}

impl AlertState for DnsFingerprint {
    fn encode(&self) -> Cow<'static, str> {
        Cow::Owned(self.0.clone())
    }
    fn decode(stored: &str) -> Option<Self> {
        Some(Self(stored.to_string()))
    }
}

/// What a rule decided: the next alert state, and an event when one fires.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision<S> {
    pub next: S,
    pub event: Option<Draft>,
}

/// An event before it has an id, a monitor snapshot and a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub event_type: EventType,
    pub severity: Severity,
    pub status: String,
    pub details: Value,
}

impl Draft {
    pub(crate) fn new(
        event_type: EventType,
        severity: Severity,
        status: &str,
        details: Value,
    ) -> Self {
        Self {
            event_type,
            severity,
            status: status.to_string(),
            details,
        }
    }
}

/// The uptime rule (state key `uptime`): down on a confirmed outage, up on
/// recovery from one, degraded once per degraded episode.
pub fn uptime(
    previous: Option<UptimeAlertState>,
    now: UptimeAlertState,
    last_error: Option<&str>,
) -> Decision<UptimeAlertState> {
    use UptimeAlertState::{Degraded, Down, Up};
    let details = match last_error {
        Some(error) => serde_json::json!({ "Last error": error }),
        None => serde_json::json!({}),
    };
    let event = match (previous, now) {
        (Some(Down), Down) | (Some(Degraded), Degraded) => None,
        (_, Down) => Some(Draft::new(
            EventType::UptimeDown,
            Severity::Critical,
            "down",
            details,
        )),
        (Some(Down), Up | Degraded) => Some(Draft::new(
            EventType::UptimeUp,
            Severity::Resolved,
            "up",
            serde_json::json!({}),
        )),
        (_, Degraded) => Some(Draft::new(
            EventType::UptimeDegraded,
            Severity::Warning,
            "degraded",
            details,
        )),
        _ => None,
    };
    Decision { next: now, event }
}

/// The uptime rule for a monitor inside an active maintenance window
/// (see `status_page::maintenance`): a failure there is expected, so none
/// is announced and the state stays as it was, which means a failure
/// still there when the window ends is announced then. A recovery from an
/// outage announced before the window is still told.
pub fn uptime_during_maintenance(
    previous: Option<UptimeAlertState>,
    now: UptimeAlertState,
) -> Decision<UptimeAlertState> {
    match now {
        UptimeAlertState::Down | UptimeAlertState::Degraded => Decision {
            next: previous.unwrap_or(UptimeAlertState::Up),
            event: None,
        },
        UptimeAlertState::Up => uptime(previous, now, None),
    }
}

/// The SSL validity rule (state key `ssl`): invalid on a problem, valid
/// again when an earlier problem is resolved.
pub fn ssl_validity(
    previous: Option<SslAlertState>,
    valid: bool,
    error: Option<&str>,
) -> Decision<SslAlertState> {
    let event = match (previous, valid) {
        (Some(SslAlertState::Invalid), false) | (None | Some(SslAlertState::Valid), true) => None,
        (_, false) => Some(Draft::new(
            EventType::SslInvalid,
            Severity::Critical,
            "invalid",
            serde_json::json!({ "Error": error.unwrap_or("invalid certificate") }),
        )),
        (Some(_), true) => Some(Draft::new(
            EventType::SslValid,
            Severity::Resolved,
            "valid",
            serde_json::json!({}),
        )),
    };
    Decision {
        next: if valid {
            SslAlertState::Valid
        } else {
            SslAlertState::Invalid
        },
        event,
    }
}

/// The lead-day thresholds `days_left` has crossed, most urgent first.
/// Each crossed threshold fires once per subject (certificate or expiry
/// date); the engine keys its state by subject, so a renewal starts over.
pub fn crossed_thresholds(lead_days: &[u16], expires_at: Millis, now: Millis) -> Vec<u16> {
    let days_left = (expires_at - now).div_euclid(86_400_000);
    let mut crossed: Vec<u16> = lead_days
        .iter()
        .copied()
        .filter(|lead| days_left < i64::from(*lead))
        .collect();
    crossed.sort_unstable();
    crossed.dedup();
    crossed
}

/// An expiring event (`ssl.expiring` or `domain.expiring`) for the most
/// urgent newly crossed threshold.
pub fn expiring(
    event_type: EventType,
    threshold: u16,
    expires_at: Millis,
    now: Millis,
    subject: Value,
) -> Draft {
    let days_left = (expires_at - now).div_euclid(86_400_000);
    let severity = if days_left <= 3 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut details = serde_json::json!({
        "Expires": crate::time::format_ms(expires_at),
        "Days left": days_left,
        "Threshold (days)": threshold,
    });
    if let (Value::Object(map), Value::Object(extra)) = (&mut details, subject) {
        map.extend(extra);
    }
    Draft::new(event_type, severity, "expiring", details)
}

/// The heartbeat rule (state key `heartbeat`): `ok`, `missed` or `failed`.
pub fn heartbeat(
    previous: Option<HeartbeatAlertState>,
    now: HeartbeatAlertState,
    detail: Option<&str>,
) -> Decision<HeartbeatAlertState> {
    use HeartbeatAlertState::{Failed, Missed, Ok};
    let details = match detail {
        Some(d) => serde_json::json!({ "Last error": d }),
        None => serde_json::json!({}),
    };
    let event = match (previous, now) {
        (Some(p), n) if p == n => None,
        (_, Missed) => Some(Draft::new(
            EventType::HeartbeatMissed,
            Severity::Critical,
            "down",
            details,
        )),
        (_, Failed) => Some(Draft::new(
            EventType::HeartbeatFailed,
            Severity::Critical,
            "down",
            details,
        )),
        (Some(Missed | Failed), Ok) => Some(Draft::new(
            EventType::HeartbeatRecovered,
            Severity::Resolved,
            "up",
            details,
        )),
        _ => None,
    };
    Decision { next: now, event }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_event_type_round_trips() {
        // The API reference's 14 alert types, `ssl.grade_changed`, the two
        // region events, and the audit-log stream.
        assert_eq!(EventType::ALL.len(), 18);
        assert_eq!(EventType::ALL.iter().filter(|t| !t.is_audit()).count(), 17);
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
        assert!(EventType::parse("uptime.sideways").is_none());
    }

    #[test]
    fn uptime_fires_on_transitions_only() {
        let down = uptime(
            Some(UptimeAlertState::Up),
            UptimeAlertState::Down,
            Some("connect timeout"),
        );
        let event = down.event.unwrap();
        assert_eq!(event.event_type, EventType::UptimeDown);
        assert_eq!(event.severity, Severity::Critical);
        assert_eq!(event.details["Last error"], "connect timeout");
        assert_eq!(down.next, UptimeAlertState::Down);
        assert_eq!(down.next.encode(), "down");
        assert!(
            uptime(Some(UptimeAlertState::Down), UptimeAlertState::Down, None)
                .event
                .is_none()
        );
        assert_eq!(
            uptime(Some(UptimeAlertState::Down), UptimeAlertState::Up, None)
                .event
                .unwrap()
                .event_type,
            EventType::UptimeUp
        );
        // Degraded once per episode.
        let degraded = uptime(Some(UptimeAlertState::Up), UptimeAlertState::Degraded, None);
        assert_eq!(
            degraded.event.unwrap().event_type,
            EventType::UptimeDegraded
        );
        assert!(
            uptime(
                Some(UptimeAlertState::Degraded),
                UptimeAlertState::Degraded,
                None
            )
            .event
            .is_none()
        );
        assert!(
            uptime(Some(UptimeAlertState::Degraded), UptimeAlertState::Up, None)
                .event
                .is_none()
        );
        assert!(uptime(None, UptimeAlertState::Up, None).event.is_none());
    }

    #[test]
    fn maintenance_holds_failures_back_until_the_window_ends() {
        use UptimeAlertState::{Degraded, Down, Up};
        let held = uptime_during_maintenance(Some(Up), Down);
        assert_eq!((held.next, held.event), (Up, None));
        assert!(uptime_during_maintenance(None, Degraded).event.is_none());
        // Still down once the window is over: announced then.
        let after = uptime(Some(held.next), Down, None);
        assert_eq!(after.event.unwrap().event_type, EventType::UptimeDown);
        // An outage announced before the window still gets its recovery.
        let recovered = uptime_during_maintenance(Some(Down), Up);
        assert_eq!(recovered.event.unwrap().event_type, EventType::UptimeUp);
        // Unknown is no judgement: the rule is never asked.
        assert!(UptimeAlertState::of(MonitorStatus::Unknown).is_none());
    }

    #[test]
    fn ssl_validity_transitions() {
        assert!(ssl_validity(None, true, None).event.is_none());
        let invalid = ssl_validity(Some(SslAlertState::Valid), false, Some("expired"))
            .event
            .unwrap();
        assert_eq!(invalid.event_type, EventType::SslInvalid);
        assert_eq!(invalid.details["Error"], "expired");
        assert!(
            ssl_validity(Some(SslAlertState::Invalid), false, None)
                .event
                .is_none()
        );
        assert_eq!(
            ssl_validity(Some(SslAlertState::Invalid), true, None)
                .event
                .unwrap()
                .event_type,
            EventType::SslValid
        );
        assert!(ssl_validity(None, false, None).event.is_some());
    }

    #[test]
    fn thresholds_cross_by_whole_days() {
        let day = 86_400_000;
        let now = 1_000 * day;
        assert_eq!(
            crossed_thresholds(&[30, 14, 7], now + 40 * day, now),
            Vec::<u16>::new()
        );
        assert_eq!(
            crossed_thresholds(&[30, 14, 7], now + 20 * day, now),
            vec![30]
        );
        assert_eq!(
            crossed_thresholds(&[30, 14, 7], now + 5 * day, now),
            vec![7, 14, 30]
        );
        let draft = expiring(
            EventType::SslExpiring,
            7,
            now + 2 * day,
            now,
            serde_json::json!({"Fingerprint": "ab"}),
        );
        assert_eq!(draft.severity, Severity::Critical);
        assert_eq!(draft.details["Days left"], 2);
        assert_eq!(draft.details["Fingerprint"], "ab");
    }

    #[test]
    fn stored_states_keep_their_text() {
        let stored: Vec<String> = [
            UptimeAlertState::Up.encode(),
            UptimeAlertState::Down.encode(),
            UptimeAlertState::Degraded.encode(),
            SslAlertState::Valid.encode(),
            SslAlertState::Invalid.encode(),
            HeartbeatAlertState::Ok.encode(),
            HeartbeatAlertState::Missed.encode(),
            HeartbeatAlertState::Failed.encode(),
            AnnouncedThreshold(14).encode(),
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(
            stored,
            [
                "up", "down", "degraded", "valid", "invalid", "ok", "missed", "failed", "14"
            ]
        );
        assert_eq!(UptimeAlertState::KEY, "uptime");
        assert_eq!(SslAlertState::KEY, "ssl");
        assert_eq!(HeartbeatAlertState::KEY, "heartbeat");
        assert_eq!(DnsFingerprint::KEY, "dns");
        assert_eq!(
            HeartbeatAlertState::decode("missed"),
            Some(HeartbeatAlertState::Missed)
        );
        assert_eq!(SslAlertState::decode("sideways"), None);
        assert_eq!(AnnouncedThreshold::decode("7"), Some(AnnouncedThreshold(7)));
    }

    #[test]
    fn heartbeat_transitions() {
        assert!(
            heartbeat(None, HeartbeatAlertState::Ok, None)
                .event
                .is_none()
        );
        assert_eq!(
            heartbeat(
                Some(HeartbeatAlertState::Ok),
                HeartbeatAlertState::Missed,
                None
            )
            .event
            .unwrap()
            .event_type,
            EventType::HeartbeatMissed
        );
        assert_eq!(
            heartbeat(
                Some(HeartbeatAlertState::Ok),
                HeartbeatAlertState::Failed,
                None
            )
            .event
            .unwrap()
            .event_type,
            EventType::HeartbeatFailed
        );
        assert!(
            heartbeat(
                Some(HeartbeatAlertState::Failed),
                HeartbeatAlertState::Failed,
                None
            )
            .event
            .is_none()
        );
        assert_eq!(
            heartbeat(
                Some(HeartbeatAlertState::Missed),
                HeartbeatAlertState::Ok,
                None
            )
            .event
            .unwrap()
            .event_type,
            EventType::HeartbeatRecovered
        );
    }
}
