//! Rendered webhook bodies, kept by event and format.
//!
//! Why: an event fanned out to many webhook channels of one format, or
//! retried, would otherwise be serialized again for every attempt. Events
//! never change once stored, so a body rendered once stays right; only the
//! signature is made per attempt, because its timestamp moves.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bytes::Bytes;
use certsentry_domain::EventId;
use certsentry_domain::alert::Event;
use certsentry_domain::channel::PayloadFormat;

/// How many bodies are kept. A retry comes minutes after its first attempt,
/// and a fan-out within one round: a few thousand (a few MB) cover both
/// without holding every body of a busy day.
pub const KEPT_BODIES: usize = 4096;

/// A bounded map from (event, format) to its body; the oldest entry leaves
/// first.
pub struct RenderedBodies {
    capacity: usize,
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    bodies: HashMap<(EventId, PayloadFormat), Bytes>,
    order: VecDeque<(EventId, PayloadFormat)>,
}

impl Default for RenderedBodies {
    fn default() -> Self {
        Self::with_capacity(KEPT_BODIES)
    }
}

impl RenderedBodies {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            kept: Mutex::default(),
        }
    }

    /// `event` in `format`, rendered now only if it is not kept already.
    pub fn body(&self, format: PayloadFormat, event: &Event) -> Bytes {
        let key = (event.id.clone(), format);
        if let Some(body) = self.lock().bodies.get(&key) {
            return body.clone();
        }
        // Rendered outside the lock: two attempts racing on a new event may
        // both render it, which costs a render and keeps one copy.
        let body = Bytes::from(super::render(format, event));
        let mut kept = self.lock();
        if kept.bodies.insert(key.clone(), body.clone()).is_none() {
            kept.order.push_back(key);
            while kept.order.len() > self.capacity {
                if let Some(oldest) = kept.order.pop_front() {
                    kept.bodies.remove(&oldest);
                }
            }
        }
        body
    }

    /// How many bodies are kept now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().bodies.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use certsentry_domain::OrgId;

    #[test]
    fn a_body_is_rendered_once_per_event_and_format() {
        let bodies = RenderedBodies::default();
        let event = super::super::sample_event(&OrgId::generate());
        let first = bodies.body(PayloadFormat::CertSentry, &event);
        let again = bodies.body(PayloadFormat::CertSentry, &event);
        // The same allocation: the second attempt did not render.
        assert_eq!(first.as_ptr(), again.as_ptr());
        assert_eq!(
            first,
            super::super::render(PayloadFormat::CertSentry, &event)
        );
        let other = bodies.body(PayloadFormat::StandardWebhooks, &event);
        assert_ne!(first, other, "each format has its own body");
        assert_eq!(bodies.len(), 2);
    }

    #[test]
    fn the_oldest_body_leaves_when_full() {
        let bodies = RenderedBodies::with_capacity(2);
        let org = OrgId::generate();
        let events: Vec<Event> = (0..3).map(|_| super::super::sample_event(&org)).collect();
        let first = bodies.body(PayloadFormat::CertSentry, &events[0]);
        bodies.body(PayloadFormat::CertSentry, &events[1]);
        bodies.body(PayloadFormat::CertSentry, &events[2]);
        assert_eq!(bodies.len(), 2);
        let rendered_again = bodies.body(PayloadFormat::CertSentry, &events[0]);
        assert_eq!(first, rendered_again);
        assert_ne!(
            first.as_ptr(),
            rendered_again.as_ptr(),
            "the first event's body was dropped and rendered anew"
        );
    }
}
