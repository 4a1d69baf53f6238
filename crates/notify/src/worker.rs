//! The outbox worker: claims due deliveries from the store (leased, so
//! several nodes never send the same attempt at once), signs and sends
//! them, and stores each attempt with its retry decision in one batch.
//! Everything it needs is in the store, so a restart simply continues.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use certsentry_domain::channel::ChannelType;
use certsentry_domain::time::now_ms;
use certsentry_store::{
    AttemptOutcome, DeliveryAttempt, DeliveryStatus, DueDelivery, Store, StoreResult,
};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::sync::{Notify, Semaphore};

use crate::format::rendered::RenderedBodies;
use crate::gather::{Gatherer, Pacer, Send};
use crate::http::{AttemptResult, WebhookSender};
use crate::retry::RetryPolicy;
use crate::sign::{SignInput, sign};

/// How often a busy outbox refreshes its depth gauge.
const DEPTH_REFRESH: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct OutboxConfig {
    pub policy: RetryPolicy,
    /// Per attempt; a 2xx must arrive within it.
    pub timeout: Duration,
    pub allow_private_targets: bool,
    /// Deliveries claimed per round.
    pub batch: u32,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// How often the worker looks for due retries when nothing wakes it.
    pub poll: Duration,
    /// A channel whose every attempt has failed for this long is disabled.
    pub disable_after: Duration,
    /// Told by email when a channel is disabled, if configured.
    pub operator: Option<crate::email::OperatorMail>,
    /// Chat and paging services: their API addresses and this server's
    /// base URL for links.
    pub services: crate::format::chat::Services,
    /// How long chat deliveries wait so a burst to one channel can go as
    /// one summary (zero: each at once, never summarized).
    pub chat_group_window: Duration,
    /// The gap between messages to one Telegram chat or Discord webhook.
    pub chat_pace: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            policy: RetryPolicy::default(),
            timeout: Duration::from_secs(15),
            allow_private_targets: false,
            batch: 512,
            concurrency: 256,
            poll: Duration::from_millis(500),
            disable_after: Duration::from_secs(5 * 86_400),
            operator: None,
            services: Default::default(),
            chat_group_window: Duration::from_secs(10),
            chat_pace: Duration::from_secs(1),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    /// delivered, retry or failed.
    result: &'static str,
}

/// Outbox metrics: attempts by result, attempt latency, outbox depth.
#[derive(Debug)]
pub struct OutboxStats {
    pub delivered: AtomicU64,
    pub retried: AtomicU64,
    pub failed: AtomicU64,
    attempts: Family<ResultLabel, Counter>,
    latency: Histogram,
    depth: Gauge,
}

impl Default for OutboxStats {
    fn default() -> Self {
        Self {
            delivered: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            attempts: Family::default(),
            // 1 ms .. ~32 s
            latency: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            depth: Gauge::default(),
        }
    }
}

impl OutboxStats {
    /// Adds the outbox's metrics to a registry (the API's `/metrics`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "webhook_deliveries",
            "Delivery attempts by result (delivered, retry, failed)",
            self.attempts.clone(),
        );
        registry.register(
            "webhook_delivery_duration_seconds",
            "Duration of delivery attempts",
            self.latency.clone(),
        );
        registry.register(
            "outbox_depth",
            "Deliveries waiting to be sent or retried",
            self.depth.clone(),
        );
    }
}

pub struct Outbox {
    store: Arc<dyn Store>,
    sender: WebhookSender,
    gatherer: Gatherer,
    pacer: Arc<Pacer>,
    config: OutboxConfig,
    wake: Arc<Notify>,
    /// Attempts in flight, across overlapping rounds.
    permits: Arc<Semaphore>,
    /// Webhook bodies, rendered once per event and format.
    bodies: Arc<RenderedBodies>,
    pub stats: Arc<OutboxStats>,
}

impl Outbox {
    /// `wake` is notified when events are stored (the engine's alerter).
    /// Reports into `stats` (shared with `/metrics`) instead of private ones.
    pub fn with_stats(mut self, stats: Arc<OutboxStats>) -> Self {
        self.stats = stats;
        self
    }

    pub fn new(store: Arc<dyn Store>, config: OutboxConfig, wake: Arc<Notify>) -> Self {
        Self {
            sender: WebhookSender::with_idle_connections(
                config.timeout,
                config.allow_private_targets,
                config.concurrency,
            ),
            gatherer: Gatherer::new(config.chat_group_window),
            pacer: Arc::new(Pacer::new(config.chat_pace)),
            permits: Arc::new(Semaphore::new(config.concurrency)),
            bodies: Arc::default(),
            store,
            config,
            wake,
            stats: Arc::new(OutboxStats::default()),
        }
    }

    /// Sends forever. Two rounds overlap: the next batch is claimed (and
    /// its sends start) while the previous one is still being sent and
    /// recorded, so the store and the network are busy at the same time
    /// instead of taking turns. Attempts in flight stay within
    /// `concurrency` across both rounds.
    pub async fn run(self: Arc<Self>) {
        let mut depth_read_at = None::<std::time::Instant>;
        let mut previous: Option<tokio::task::JoinHandle<StoreResult<usize>>> = None;
        loop {
            let claimed = match self.claim_round().await {
                Ok((claimed, sends)) => {
                    let this = self.clone();
                    let sending = tokio::spawn(async move { this.send_round(sends).await });
                    // At most two rounds in flight: wait for the older one.
                    finish(previous.replace(sending)).await;
                    claimed
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox round failed");
                    0
                }
            };
            let idle = claimed == 0;
            if idle {
                // Nothing new is due: let the last round finish before the
                // depth is read and before sleeping.
                finish(previous.take()).await;
            }
            // Counting the outbox costs a scan of its pending rows, so a busy
            // outbox refreshes the gauge once a second, not every round; an
            // idle one (nothing claimed) on every round, so it reads 0 at once.
            if (idle || depth_read_at.is_none_or(|at| at.elapsed() >= DEPTH_REFRESH))
                && let Ok(depth) = self.store.count_pending_deliveries().await
            {
                self.stats.depth.set(depth as i64);
                depth_read_at = Some(std::time::Instant::now());
            }
            if !idle {
                continue;
            }
            let mut wait = self.config.poll;
            if let Some(flush_at) = self.gatherer.next_flush() {
                let until = Duration::from_millis((flush_at - now_ms()).max(0) as u64);
                wait = wait.min(until);
            }
            let _ = tokio::time::timeout(wait, self.wake.notified()).await;
        }
    }

    /// Claims one batch of due deliveries and attempts each that is ready
    /// (chat deliveries wait out their grouping window first); returns how
    /// many were claimed or sent.
    pub async fn run_once(&self) -> StoreResult<usize> {
        let (claimed, sends) = self.claim_round().await?;
        let attempted = self.send_round(sends).await?;
        Ok(claimed.max(attempted))
    }

    /// Claims due deliveries (leased, so no other round or node sends them
    /// meanwhile) and returns how many, with what is ready to send now.
    async fn claim_round(&self) -> StoreResult<(usize, Vec<Send>)> {
        let now = now_ms();
        // Long enough for a chat delivery to wait out its window and its
        // turns at a paced destination before the attempt itself.
        let lease = self.config.timeout
            + self.config.chat_group_window
            + self.config.chat_pace * crate::gather::GROUP_THRESHOLD as u32
            + Duration::from_secs(60);
        let lease = lease.as_millis() as i64;
        let due = self
            .store
            .claim_deliveries(now, now + lease, self.config.batch)
            .await?;
        let claimed = due.len();
        Ok((claimed, self.gatherer.admit(due, now)))
    }

    /// Sends a round's attempts and records them in one batch; returns how
    /// many were attempted.
    async fn send_round(&self, sends: Vec<Send>) -> StoreResult<usize> {
        if sends.is_empty() {
            return Ok(0);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for send in sends {
            let permit = self
                .permits
                .clone()
                .acquire_owned()
                .await
                .expect("never closed");
            let sender = self.sender.clone();
            let pacer = self.pacer.clone();
            let policy = self.config.policy.clone();
            let services = self.config.services.clone();
            let bodies = self.bodies.clone();
            tasks.spawn(async move {
                let outcomes = match send {
                    Send::One(item) => {
                        pacer.wait_turn(&item).await;
                        let via = Via {
                            sender: &sender,
                            services: &services,
                            bodies: &bodies,
                        };
                        vec![attempt(via, &policy, *item).await]
                    }
                    Send::Summary(items) => {
                        pacer.wait_turn(&items[0]).await;
                        attempt_summary(&sender, &policy, &services, items).await
                    }
                };
                drop(permit);
                outcomes
            });
        }
        let mut outcomes = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(sent) = done {
                for outcome in sent {
                    self.count(&outcome);
                    outcomes.push(outcome);
                }
            }
        }
        let attempted = outcomes.len();
        let disabled = self
            .store
            .finish_attempts(&outcomes, self.config.disable_after.as_millis() as i64)
            .await?;
        if let Some(operator) = &self.config.operator {
            for channel in &disabled {
                if let Err(e) =
                    crate::email::notify_operator(operator, channel, self.config.timeout).await
                {
                    tracing::warn!(channel = %channel.channel_id, error = %e, "could not email the operator");
                }
            }
        }
        Ok(attempted)
    }

    fn count(&self, outcome: &AttemptOutcome) {
        let (counter, result) = match outcome.status {
            DeliveryStatus::Delivered => (&self.stats.delivered, "delivered"),
            DeliveryStatus::Pending => (&self.stats.retried, "retry"),
            DeliveryStatus::Failed => (&self.stats.failed, "failed"),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.stats
            .attempts
            .get_or_create(&ResultLabel { result })
            .inc();
        self.stats
            .latency
            .observe(f64::from(outcome.attempt.duration_ms) / 1000.0);
    }
}

/// Waits for a round that was sending, if any, and logs why it failed.
async fn finish(round: Option<tokio::task::JoinHandle<StoreResult<usize>>>) {
    if let Some(round) = round
        && let Ok(Err(e)) = round.await
    {
        tracing::warn!(error = %e, "outbox round failed");
    }
}

/// What an attempt sends through.
#[derive(Clone, Copy)]
struct Via<'a> {
    sender: &'a WebhookSender,
    services: &'a crate::format::chat::Services,
    bodies: &'a RenderedBodies,
}

/// Sends one attempt and decides what comes next.
async fn attempt(via: Via<'_>, policy: &RetryPolicy, due: DueDelivery) -> AttemptOutcome {
    let now = now_ms();
    let result = send(via, &due, now).await;
    decide(policy, &due.delivery, &result, now)
}

/// Sends one summary for `items` (all to one chat channel) and records the
/// same answer as an attempt of each.
async fn attempt_summary(
    sender: &WebhookSender,
    policy: &RetryPolicy,
    services: &crate::format::chat::Services,
    items: Vec<DueDelivery>,
) -> Vec<AttemptOutcome> {
    let now = now_ms();
    let events: Vec<&certsentry_domain::alert::Event> = items.iter().map(|i| &i.event).collect();
    let result =
        match crate::format::chat::render_summary(&items[0].channel.spec, &events, services) {
            Ok(request) => send_chat(sender, request).await,
            Err(problem) => AttemptResult::failed(Duration::ZERO, problem),
        };
    items
        .iter()
        .map(|item| decide(policy, &item.delivery, &result, now))
        .collect()
}

/// One request in the channel's own form: signed JSON, a mail, or a chat
/// service's message.
async fn send(via: Via<'_>, due: &DueDelivery, now: i64) -> AttemptResult {
    let Via {
        sender,
        services,
        bodies,
    } = via;
    let DueDelivery {
        delivery,
        event,
        channel,
    } = due;
    match (channel.spec.channel_type, channel.spec.url.as_deref()) {
        (ChannelType::Webhook, Some(url)) => {
            let body = bodies.body(channel.spec.format, event);
            let secrets = channel.signing_secrets(now);
            let mut headers = sign(&SignInput {
                scheme: channel.spec.signing,
                secrets: &secrets,
                message_id: delivery.id.as_str(),
                timestamp: now.div_euclid(1000),
                body: &body,
                signature_header: channel.spec.signature_header.as_deref(),
            });
            headers.push(("Idempotency-Key".into(), delivery.id.to_string()));
            sender.send(url, &headers, body).await
        }
        (ChannelType::Email, _) => {
            crate::email::send(
                &channel.spec,
                event,
                sender.timeout(),
                sender.allows_private(),
            )
            .await
        }
        (ChannelType::Webhook, None) => {
            AttemptResult::failed(Duration::ZERO, "the webhook channel has no URL")
        }
        _ => match crate::format::chat::render(&channel.spec, event, services) {
            Ok(request) => send_chat(sender, request).await,
            Err(problem) => AttemptResult::failed(Duration::ZERO, problem),
        },
    }
}

/// Posts a chat request; a 429's wait may be in the body rather than a
/// header (Telegram, Discord).
async fn send_chat(
    sender: &WebhookSender,
    request: crate::format::chat::ChatRequest,
) -> AttemptResult {
    let mut result = sender
        .send(&request.url, &request.headers, request.body)
        .await;
    if result.retry_after.is_none() {
        result.retry_after = crate::format::chat::retry_after_in_body(&result);
    }
    result
}

/// The attempt's record and what comes next: delivered, a retry (after
/// the receiver's `Retry-After` when it gave one), or failed for good.
fn decide(
    policy: &RetryPolicy,
    delivery: &certsentry_store::Delivery,
    result: &AttemptResult,
    now: i64,
) -> AttemptOutcome {
    let number = delivery.attempts + 1;
    let record = DeliveryAttempt {
        attempt: number,
        status_code: result.status_code,
        duration_ms: result.duration.as_millis().min(u32::MAX as u128) as u32,
        response_body: result.body.clone(),
        error: result.error.clone(),
        created_at: now,
    };
    let (status, next_attempt_at, disable_channel) = if result.succeeded() {
        (DeliveryStatus::Delivered, now, None)
    } else if result.status_code == Some(410) {
        (
            DeliveryStatus::Failed,
            now,
            Some("the receiver answered 410 Gone".to_string()),
        )
    } else {
        match policy.next_delay(number, result.retry_after) {
            Some(delay) => (
                DeliveryStatus::Pending,
                now + delay.as_millis() as i64,
                None,
            ),
            None => (DeliveryStatus::Failed, now, None),
        }
    };
    if let Some(error) = &record.error {
        tracing::info!(delivery = %delivery.id, attempt = number, %error, "delivery attempt failed");
    }
    AttemptOutcome {
        delivery_id: delivery.id.clone(),
        attempt: record,
        status,
        next_attempt_at,
        disable_channel,
    }
}
