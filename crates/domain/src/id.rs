//! Sortable, collision-resistant ids in the API reference's shape: `cmb1xk2lq0001v8d3`.
//!
//! Layout (17 characters, lowercase base36):
//! `c` + 8 characters of milliseconds since the Unix epoch + a 4-character
//! counter + 4 random characters. Ids made by one process are strictly
//! increasing, and ids from different processes sort by creation time to
//! the millisecond, so an id doubles as a pagination cursor.

use std::fmt;
use std::sync::Mutex;

use rand::RngExt;
use serde::{Deserialize, Serialize};

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const TIME_LEN: usize = 8;
const COUNTER_LEN: usize = 4;
const RANDOM_LEN: usize = 4;
/// Total length of an id.
pub const ID_LEN: usize = 1 + TIME_LEN + COUNTER_LEN + RANDOM_LEN;
const COUNTER_SPACE: u64 = 36u64.pow(COUNTER_LEN as u32);

/// (last millisecond used, counter within it). A mutex is fine: it is held
/// for a handful of instructions and ids are made only on writes.
static LAST: Mutex<(u64, u64)> = Mutex::new((0, 0));

fn push_base36(out: &mut String, mut value: u64, width: usize) {
    let mut buf = [b'0'; 16];
    for slot in buf[..width].iter_mut().rev() {
        *slot = ALPHABET[(value % 36) as usize];
        value /= 36;
    }
    out.push_str(std::str::from_utf8(&buf[..width]).expect("base36 is ascii"));
}

/// Makes a new id string. Strictly increasing within this process.
pub fn new_id() -> String {
    let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let (millis, counter) = {
        let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let next = if now > last.0 {
            (now, rand::rng().random_range(0..COUNTER_SPACE / 2))
        } else if last.1 + 1 < COUNTER_SPACE {
            (last.0, last.1 + 1)
        } else {
            // Counter exhausted within one millisecond: borrow the next one.
            (last.0 + 1, 0)
        };
        *last = next;
        next
    };
    let mut id = String::with_capacity(ID_LEN);
    id.push('c');
    push_base36(&mut id, millis, TIME_LEN);
    push_base36(&mut id, counter, COUNTER_LEN);
    push_base36(
        &mut id,
        rand::rng().random_range(0..COUNTER_SPACE),
        RANDOM_LEN,
    );
    id
}

/// An id for a moment other than now; unique by its random tail, and not
/// ordered against other ids of the same millisecond.
pub fn new_id_at(ms: i64) -> String {
    let mut id = String::with_capacity(ID_LEN);
    id.push('c');
    push_base36(&mut id, ms.max(0) as u64, TIME_LEN);
    push_base36(
        &mut id,
        rand::rng().random_range(0..COUNTER_SPACE * COUNTER_SPACE),
        COUNTER_LEN + RANDOM_LEN,
    );
    id
}

/// The smallest id made at `ms` or later: ids sort by creation time, so
/// "created before `ms`" is `id < floor_at(ms)`, a primary-key range.
pub fn floor_at(ms: i64) -> String {
    let mut id = String::with_capacity(ID_LEN);
    id.push('c');
    push_base36(&mut id, ms.max(0) as u64, TIME_LEN);
    push_base36(&mut id, 0, COUNTER_LEN + RANDOM_LEN);
    id
}

/// Whether `s` has the shape of an id (used to reject bad cursors early).
pub fn looks_like_id(s: &str) -> bool {
    s.len() == ID_LEN
        && s.starts_with('c')
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh id.
            pub fn generate() -> Self {
                Self(new_id())
            }
            /// An id that sorts as if made at `ms` (imports, and tests of
            /// history): ids double as the time index of what they name.
            pub fn generated_at(ms: i64) -> Self {
                Self(new_id_at(ms))
            }
            /// Wraps a stored or user-supplied id without checking its shape:
            /// lookups of a malformed id simply find nothing.
            pub fn from_string(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

typed_id!(
    /// An organization: the tenant boundary.
    OrgId
);
typed_id!(
    /// A monitor.
    MonitorId
);
typed_id!(
    /// An API key (its public id, never the secret).
    ApiKeyId
);
typed_id!(
    /// An environment label such as Production.
    EnvironmentId
);
typed_id!(
    /// A public status page.
    StatusPageId
);
typed_id!(
    /// An audit log entry.
    AuditId
);
typed_id!(
    /// A check result.
    ResultId
);
typed_id!(
    /// An alert event.
    EventId
);
typed_id!(
    /// A notification channel.
    ChannelId
);
typed_id!(
    /// One event's delivery to one channel (also its idempotency key).
    DeliveryId
);

typed_id!(
    /// A certificate found in CT for a watched domain.
    CtCertificateId
);
typed_id!(
    /// An entry of an organization's known-certificate inventory.
    KnownCertificateId
);

typed_id!(
    /// A domain whose DMARC aggregate reports are collected.
    DmarcDomainId
);
typed_id!(
    /// One stored DMARC aggregate report.
    DmarcReportId
);
typed_id!(
    /// One received report file: stored, a duplicate, or refused with a reason.
    DmarcImportId
);

typed_id!(
    /// An incident shown on a status page.
    IncidentId
);
typed_id!(
    /// One update in an incident's timeline.
    IncidentUpdateId
);
typed_id!(
    /// A maintenance window announced on a status page.
    MaintenanceId
);

#[cfg(test)]
mod tests {
    #[test]
    fn floors_bound_ids_by_time() {
        let before = new_id();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let now = chrono::Utc::now().timestamp_millis();
        let after = new_id();
        let floor = floor_at(now);
        assert!(before < floor && floor <= after, "{before} {floor} {after}");
        assert!(looks_like_id(&floor));
    }

    use super::*;

    #[test]
    fn ids_have_the_seed_shape() {
        let id = new_id();
        assert_eq!(id.len(), 17, "{id}");
        assert!(looks_like_id(&id), "{id}");
        assert!(!looks_like_id("cmb1xk2lq0001v8d"));
        assert!(!looks_like_id("Cmb1xk2lq0001v8d3"));
        assert!(looks_like_id("cmb1xk2lq0001v8d3"));
    }

    #[test]
    fn ids_increase_strictly_within_a_process() {
        let ids: Vec<String> = (0..20_000).map(|_| new_id()).collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn time_prefix_sorts_by_creation_time() {
        let mut early = String::new();
        push_base36(&mut early, 1_700_000_000_000, TIME_LEN);
        let mut late = String::new();
        push_base36(&mut late, 1_800_000_000_000, TIME_LEN);
        assert!(early < late);
        assert_eq!(early.len(), TIME_LEN);
    }
}

typed_id!(
    /// A person who signs in to the dashboard.
    UserId
);
typed_id!(
    /// A one-time link: setup, invitation, set or reset password.
    UserLinkId
);
typed_id!(
    /// A probe agent's token (its public id, never the secret); it names
    /// the agent in leases and `GET /api/v1/regions`.
    AgentTokenId
);
