//! What keeps a burst of alerts readable in chat: deliveries to a chat
//! channel wait out a short window, and when more than
//! [`GROUP_THRESHOLD`] are due to one channel in it they go as one summary
//! message (a network outage that takes down 50 monitors is one message,
//! not 50). Messages to a Telegram chat or a Discord webhook are then
//! spaced out, about one a second, the rate those services allow, so a
//! burst is queued instead of being answered with 429s.
//!
//! Both live in memory only, inside the deliveries' claim lease: a node
//! that dies while holding them loses nothing, because the lease runs out
//! and the deliveries are claimed again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use certsentry_domain::ChannelId;
use certsentry_domain::time::Millis;
use certsentry_store::DueDelivery;
use tokio::time::Instant;

use crate::format::chat::{groups_messages, pacing_key};

/// More than this many deliveries due to one channel within the window go
/// as one summary; this many or fewer go one by one.
pub const GROUP_THRESHOLD: usize = 10;

/// What to send: one delivery, or one summary standing for several.
pub enum Send {
    One(Box<DueDelivery>),
    Summary(Vec<DueDelivery>),
}

struct Group {
    flush_at: Millis,
    items: Vec<DueDelivery>,
}

/// Chat deliveries waiting out their window, by channel.
pub struct Gatherer {
    window: Duration,
    groups: Mutex<HashMap<ChannelId, Group>>,
}

impl Gatherer {
    /// A zero `window` sends every delivery at once and never summarizes.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// Takes newly claimed deliveries; answers what is ready to send now:
    /// everything that is not chat, and every chat group whose window has
    /// passed (one summary for a large group, one by one for a small one).
    pub fn admit(&self, claimed: Vec<DueDelivery>, now: Millis) -> Vec<Send> {
        let mut ready = Vec::new();
        let mut groups = self.groups.lock().expect("never poisoned");
        for item in claimed {
            if self.window.is_zero() || !groups_messages(item.channel.spec.channel_type) {
                ready.push(Send::One(Box::new(item)));
                continue;
            }
            let window = self.window.as_millis() as Millis;
            groups
                .entry(item.channel.id.clone())
                .or_insert_with(|| Group {
                    flush_at: now + window,
                    items: Vec::new(),
                })
                .items
                .push(item);
        }
        let due: Vec<ChannelId> = groups
            .iter()
            .filter(|(_, group)| group.flush_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let group = groups.remove(&id).expect("listed above");
            if group.items.len() > GROUP_THRESHOLD {
                ready.push(Send::Summary(group.items));
            } else {
                ready.extend(
                    group
                        .items
                        .into_iter()
                        .map(|item| Send::One(Box::new(item))),
                );
            }
        }
        ready
    }

    /// When the next held group is due, if any is held.
    pub fn next_flush(&self) -> Option<Millis> {
        let groups = self.groups.lock().expect("never poisoned");
        groups.values().map(|g| g.flush_at).min()
    }
}

/// The earliest moment the next message to each paced destination may go.
pub struct Pacer {
    gap: Duration,
    next: Mutex<HashMap<String, Instant>>,
}

impl Pacer {
    pub fn new(gap: Duration) -> Self {
        Self {
            gap,
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for this delivery's turn at its destination (at once for
    /// services without a per-destination limit). Turns are handed out in
    /// call order, one `gap` apart.
    pub async fn wait_turn(&self, item: &DueDelivery) {
        let Some(key) = pacing_key(&item.channel.spec) else {
            return;
        };
        let turn = {
            let mut next = self.next.lock().expect("never poisoned");
            let now = Instant::now();
            if next.len() > 4096 {
                next.retain(|_, at| *at > now);
            }
            let turn = next.get(&key).copied().unwrap_or(now).max(now);
            next.insert(key, turn + self.gap);
            turn
        };
        tokio::time::sleep_until(turn).await;
    }
}
