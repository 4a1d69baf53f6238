//! Storage for alerting: notification channels, alert state (the
//! compare-and-swap guard of every event), events, and the delivery outbox.

use async_trait::async_trait;
use certsentry_domain::alert::Event;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::channel::Channel;
use certsentry_domain::time::Millis;
use certsentry_domain::{ChannelId, DeliveryId, MonitorId, OrgId};

use crate::{Page, StoreResult};

/// Moves a monitor's alert state `key` from `expected` (`None`: no state
/// yet) to `next`. The event rides along only if the move succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertGuard {
    pub monitor_id: MonitorId,
    pub key: String,
    pub expected: Option<String>,
    pub next: String,
}

#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub monitor_id: Option<MonitorId>,
    pub event_type: Option<String>,
    pub since: Option<Millis>,
    pub cursor: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Retries exhausted, or the channel was disabled.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub duration_ms: u32,
    /// The first 4 KiB of the response body.
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub created_at: Millis,
}

/// An event's delivery to one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub org_id: OrgId,
    pub event_id: certsentry_domain::EventId,
    pub channel_id: ChannelId,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    pub next_attempt_at: Millis,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Newest last; filled by `list_deliveries`.
    pub attempt_log: Vec<DeliveryAttempt>,
}

/// A claimed delivery with what is needed to send it.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery: Delivery,
    pub event: Event,
    pub channel: Channel,
}

/// What an attempt decided.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub delivery_id: DeliveryId,
    pub attempt: DeliveryAttempt,
    /// `Pending` with `next_attempt_at` to retry, or a final status.
    pub status: DeliveryStatus,
    pub next_attempt_at: Millis,
    /// Disable the channel (HTTP 410, or failing for too long), with the reason.
    pub disable_channel: Option<String>,
}

/// A channel the outbox turned off, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledChannel {
    pub channel_id: ChannelId,
    pub org_id: OrgId,
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub channel_id: Option<ChannelId>,
    pub event_id: Option<String>,
    pub status: Option<DeliveryStatus>,
    pub cursor: Option<String>,
    pub limit: u32,
}

/// Notification channels.
#[async_trait]
pub trait ChannelStore: Send + Sync {
    async fn create_channel(&self, channel: &Channel, audit: &AuditEvent) -> StoreResult<()>;
    async fn get_channel(&self, org: &OrgId, id: &ChannelId) -> StoreResult<Option<Channel>>;
    async fn list_channels(&self, org: &OrgId) -> StoreResult<Vec<Channel>>;
    /// Replaces the spec and secrets of an existing channel.
    async fn update_channel(&self, channel: &Channel, audit: &AuditEvent) -> StoreResult<()>;
    /// Deletes a channel and its pending deliveries.
    async fn delete_channel(
        &self,
        org: &OrgId,
        id: &ChannelId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
}

/// Alert state (the compare-and-swap guard of every event) and events.
#[async_trait]
pub trait AlertStore: Send + Sync {
    async fn get_alert_state(&self, monitor: &MonitorId, key: &str) -> StoreResult<Option<String>>;
    /// The `key` state of each of `monitors` that has one, in one read
    /// (a batch of uploaded results).
    async fn get_alert_states(
        &self,
        monitors: &[MonitorId],
        key: &str,
    ) -> StoreResult<std::collections::HashMap<MonitorId, String>>;
    /// Applies `guard` (compare-and-swap) and, when it moves (or there is no
    /// guard), stores `event` with one pending delivery per channel that
    /// routes it (`only_channel` limits that to one, for test sends).
    /// Returns whether the state moved.
    async fn record_alert(
        &self,
        guard: Option<&AlertGuard>,
        event: Option<&Event>,
        only_channel: Option<&ChannelId>,
    ) -> StoreResult<bool>;
    /// Newest first; test sends are not listed.
    async fn list_events(&self, org: &OrgId, query: &EventQuery) -> StoreResult<Page<Event>>;
}

/// The delivery outbox: claims with leases, attempts, retries.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Leases up to `limit` pending deliveries due at `now` until `lease_until`.
    async fn claim_deliveries(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: u32,
    ) -> StoreResult<Vec<DueDelivery>>;
    /// Stores attempts and their decisions, in one transaction. A channel
    /// whose attempts have all failed for `disable_after_ms` is disabled.
    /// Returns the channels disabled by this call.
    async fn finish_attempts(
        &self,
        outcomes: &[AttemptOutcome],
        disable_after_ms: Millis,
    ) -> StoreResult<Vec<DisabledChannel>>;
    /// Newest first, with each delivery's attempts.
    async fn list_deliveries(
        &self,
        org: &OrgId,
        query: &DeliveryQuery,
    ) -> StoreResult<Page<Delivery>>;
    /// Sends a delivery again: pending, due `now`.
    async fn redeliver(&self, org: &OrgId, id: &DeliveryId, now: Millis) -> StoreResult<()>;
    /// Pending deliveries (the outbox depth).
    async fn count_pending_deliveries(&self) -> StoreResult<u64>;
    /// Deletes finished deliveries (and their attempts) and events made
    /// before `before`; pending deliveries and their events are kept.
    async fn prune_alerts(&self, before: Millis) -> StoreResult<u64>;
    /// Frees every lease: for a single-node store at start, where any lease
    /// belongs to this node's previous life (a crash mid-send).
    async fn release_delivery_leases(&self) -> StoreResult<u64>;
}
