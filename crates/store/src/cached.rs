//! A write-through monitor cache around a single-node store.
//!
//! Why: with sqlx's SQLite driver every row crosses a thread boundary, so
//! reads of monitors (the API's hottest path) cost context switches rather
//! than SQL. A SQLite file is served by exactly one CertSentry process, and
//! every monitor write in that process goes through this type, so an
//! in-memory copy updated after each committed write is always current.
//! Do not wrap a store that other nodes write to (Postgres).

use certsentry_domain::ct::{CtFinding, FindingState, KnownCertificate};
use certsentry_domain::{CtCertificateId, KnownCertificateId};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use certsentry_domain::apikey::ApiKey;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::check::CheckResult;
use certsentry_domain::monitor::Monitor;
use certsentry_domain::org::{Environment, Org};
use certsentry_domain::status_page::StatusPage;
use certsentry_domain::time::Millis;
use certsentry_domain::{ApiKeyId, EnvironmentId, MonitorId, OrgId, StatusPageId};

use crate::{
    AuditQuery, HeartbeatState, MonitorCertificate, MonitorQuery, MonitorState, Page, ResultQuery,
    ServedCertificate, Store, StoreResult, SyncChanges,
};

type OrgMonitors = BTreeMap<MonitorId, Arc<Monitor>>;

pub struct CachedStore<S> {
    inner: S,
    monitors: RwLock<HashMap<OrgId, OrgMonitors>>,
    /// Ping token → monitor, for every heartbeat monitor created through
    /// this store or loaded at start (and any other found in the database).
    /// A token never changes, and a hit is checked against `monitors`, so a
    /// deleted monitor is never returned.
    tokens: RwLock<HashMap<String, (OrgId, MonitorId)>>,
}

impl<S: Store> CachedStore<S> {
    /// Loads every monitor of every organization.
    pub async fn load(inner: S) -> StoreResult<Self> {
        let mut monitors: HashMap<OrgId, OrgMonitors> = HashMap::new();
        let mut tokens = HashMap::new();
        for org in inner.list_orgs().await? {
            let entry = monitors.entry(org.id.clone()).or_default();
            let mut query = MonitorQuery {
                limit: 1000,
                ..Default::default()
            };
            loop {
                let page = inner.list_monitors(&org.id, &query).await?;
                for monitor in page.items {
                    if let Some(token) = &monitor.heartbeat_token {
                        tokens.insert(token.clone(), (org.id.clone(), monitor.id.clone()));
                    }
                    entry.insert(monitor.id.clone(), Arc::new(monitor));
                }
                match page.next_cursor {
                    Some(cursor) => query.cursor = Some(cursor),
                    None => break,
                }
            }
        }
        Ok(Self {
            inner,
            monitors: RwLock::new(monitors),
            tokens: RwLock::new(tokens),
        })
    }

    fn remember_token(&self, monitor: &Monitor) {
        if let Some(token) = &monitor.heartbeat_token {
            self.tokens
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(token.clone(), (monitor.org_id.clone(), monitor.id.clone()));
        }
    }

    fn read<T>(&self, f: impl FnOnce(&HashMap<OrgId, OrgMonitors>) -> T) -> T {
        f(&self.monitors.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn write(&self, f: impl FnOnce(&mut HashMap<OrgId, OrgMonitors>)) {
        f(&mut self.monitors.write().unwrap_or_else(|p| p.into_inner()))
    }

    /// Mirrors a committed state change.
    fn cache_state(&self, org: &OrgId, id: &MonitorId, state: &MonitorState) {
        self.write(|all| {
            if let Some(slot) = all.get_mut(org).and_then(|m| m.get_mut(id)) {
                let mut next = (**slot).clone();
                next.last_status = state.last_status;
                next.ssl_not_after = state.ssl_not_after;
                next.domain_expiry = state.domain_expiry;
                *slot = Arc::new(next);
            }
        });
    }

    /// Applies a definition update the way the store does: the spec and
    /// `updated_at` change; the engine-owned state stays.
    fn apply_update(all: &mut HashMap<OrgId, OrgMonitors>, updated: &Monitor) {
        if let Some(slot) = all
            .get_mut(&updated.org_id)
            .and_then(|m| m.get_mut(&updated.id))
        {
            let mut next = (**slot).clone();
            next.spec = updated.spec.clone();
            next.updated_at = updated.updated_at;
            *slot = Arc::new(next);
        }
    }
}

fn matches(monitor: &Monitor, query: &MonitorQuery) -> bool {
    query.kind.is_none_or(|k| monitor.spec.kind == k)
        && query.enabled.is_none_or(|e| monitor.spec.enabled == e)
}

#[async_trait]
impl<S: Store> Store for CachedStore<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }

    async fn create_org(&self, org: &Org, audit: &AuditEvent) -> StoreResult<()> {
        self.inner.create_org(org, audit).await?;
        self.write(|all| {
            all.entry(org.id.clone()).or_default();
        });
        Ok(())
    }
    async fn get_org(&self, id: &OrgId) -> StoreResult<Option<Org>> {
        self.inner.get_org(id).await
    }
    async fn list_orgs(&self) -> StoreResult<Vec<Org>> {
        self.inner.list_orgs().await
    }

    async fn create_api_key(&self, key: &ApiKey, audit: &AuditEvent) -> StoreResult<()> {
        self.inner.create_api_key(key, audit).await
    }
    async fn find_api_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKey>> {
        self.inner.find_api_key_by_hash(hash).await
    }
    async fn list_api_keys(&self, org: Option<&OrgId>) -> StoreResult<Vec<ApiKey>> {
        self.inner.list_api_keys(org).await
    }
    async fn revoke_api_key(
        &self,
        id: &ApiKeyId,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<ApiKey> {
        self.inner.revoke_api_key(id, at, audit).await
    }
    async fn touch_api_keys(&self, used: &[(ApiKeyId, Millis)]) -> StoreResult<()> {
        self.inner.touch_api_keys(used).await
    }

    async fn create_environment(&self, env: &Environment, audit: &AuditEvent) -> StoreResult<()> {
        self.inner.create_environment(env, audit).await
    }
    async fn list_environments(&self, org: &OrgId) -> StoreResult<Vec<Environment>> {
        self.inner.list_environments(org).await
    }
    async fn get_environment(
        &self,
        org: &OrgId,
        id: &EnvironmentId,
    ) -> StoreResult<Option<Environment>> {
        self.inner.get_environment(org, id).await
    }
    async fn delete_environment(
        &self,
        org: &OrgId,
        id: &EnvironmentId,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner.delete_environment(org, id, audit).await?;
        self.write(|all| {
            for slot in all.get_mut(org).into_iter().flat_map(|m| m.values_mut()) {
                if slot.spec.environment_id.as_ref() == Some(id) {
                    let mut next = (**slot).clone();
                    next.spec.environment_id = None;
                    *slot = Arc::new(next);
                }
            }
        });
        Ok(())
    }

    async fn create_monitor(
        &self,
        monitor: &Monitor,
        max_monitors: u32,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner
            .create_monitor(monitor, max_monitors, audit)
            .await?;
        self.write(|all| {
            all.entry(monitor.org_id.clone())
                .or_default()
                .insert(monitor.id.clone(), Arc::new(monitor.clone()));
        });
        self.remember_token(monitor);
        Ok(())
    }
    async fn get_monitor(&self, org: &OrgId, id: &MonitorId) -> StoreResult<Option<Monitor>> {
        Ok(self.read(|all| all.get(org).and_then(|m| m.get(id)).map(|m| (**m).clone())))
    }
    async fn list_monitors(&self, org: &OrgId, query: &MonitorQuery) -> StoreResult<Page<Monitor>> {
        Ok(self.read(|all| {
            let Some(monitors) = all.get(org) else {
                return Page {
                    items: vec![],
                    next_cursor: None,
                };
            };
            let start = match &query.cursor {
                Some(cursor) => Bound::Excluded(MonitorId::from_string(cursor.clone())),
                None => Bound::Unbounded,
            };
            let mut items: Vec<Monitor> = monitors
                .range((start, Bound::Unbounded))
                .map(|(_, m)| m)
                .filter(|m| matches(m, query))
                .take(query.limit as usize + 1)
                .map(|m| (**m).clone())
                .collect();
            let next_cursor = if items.len() > query.limit as usize {
                items.truncate(query.limit as usize);
                items.last().map(|m| m.id.to_string())
            } else {
                None
            };
            Page { items, next_cursor }
        }))
    }
    async fn update_monitor(&self, monitor: &Monitor, audit: &AuditEvent) -> StoreResult<()> {
        self.inner.update_monitor(monitor, audit).await?;
        self.write(|all| Self::apply_update(all, monitor));
        Ok(())
    }
    async fn delete_monitor(
        &self,
        org: &OrgId,
        id: &MonitorId,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner.delete_monitor(org, id, audit).await?;
        self.write(|all| {
            if let Some(m) = all.get_mut(org) {
                m.remove(id);
            }
        });
        Ok(())
    }
    async fn list_managed_monitors(&self, org: &OrgId) -> StoreResult<Vec<Monitor>> {
        Ok(self.read(|all| {
            all.get(org)
                .into_iter()
                .flat_map(|m| m.values())
                .filter(|m| m.spec.external_id.is_some())
                .map(|m| (**m).clone())
                .collect()
        }))
    }
    async fn count_monitors(&self, org: &OrgId) -> StoreResult<u64> {
        Ok(self.read(|all| all.get(org).map_or(0, |m| m.len() as u64)))
    }
    async fn apply_sync(
        &self,
        org: &OrgId,
        plan: &SyncChanges,
        max_monitors: u32,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        self.inner
            .apply_sync(org, plan, max_monitors, audit)
            .await?;
        self.write(|all| {
            for monitor in &plan.update {
                Self::apply_update(all, monitor);
            }
            let monitors = all.entry(org.clone()).or_default();
            for id in &plan.delete {
                monitors.remove(id);
            }
            for monitor in &plan.create {
                monitors.insert(monitor.id.clone(), Arc::new(monitor.clone()));
            }
        });
        for monitor in &plan.create {
            self.remember_token(monitor);
        }
        Ok(())
    }
    async fn find_heartbeat_monitor(&self, token: &str) -> StoreResult<Option<Monitor>> {
        let known = self
            .tokens
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned();
        if let Some((org, id)) = known {
            let cached = self.read(|all| all.get(&org).and_then(|m| m.get(&id)).cloned());
            if let Some(monitor) = cached
                && monitor.heartbeat_token.as_deref() == Some(token)
            {
                return Ok(Some((*monitor).clone()));
            }
        }
        let found = self.inner.find_heartbeat_monitor(token).await?;
        let mut tokens = self.tokens.write().unwrap_or_else(|p| p.into_inner());
        match &found {
            Some(m) => {
                tokens.insert(token.to_string(), (m.org_id.clone(), m.id.clone()));
            }
            None => {
                tokens.remove(token);
            }
        }
        Ok(found)
    }
    async fn insert_results(&self, results: &[CheckResult]) -> StoreResult<()> {
        self.inner.insert_results(results).await
    }
    async fn record_check(
        &self,
        results: &[CheckResult],
        org: &OrgId,
        monitor: &MonitorId,
        state: &MonitorState,
    ) -> StoreResult<()> {
        self.inner
            .record_check(results, org, monitor, state)
            .await?;
        self.cache_state(org, monitor, state);
        Ok(())
    }
    async fn record_checks(&self, batch: &[crate::CheckRecord]) -> StoreResult<()> {
        self.inner.record_checks(batch).await?;
        for record in batch {
            if let Some(state) = &record.state {
                self.cache_state(&record.org_id, &record.monitor_id, state);
            }
        }
        Ok(())
    }
    async fn list_results(
        &self,
        org: &OrgId,
        monitor: &MonitorId,
        query: &ResultQuery,
    ) -> StoreResult<Page<CheckResult>> {
        self.inner.list_results(org, monitor, query).await
    }
    async fn prune_results(&self, before: Millis) -> StoreResult<u64> {
        self.inner.prune_results(before).await
    }

    async fn record_heartbeat_ping(&self, state: &HeartbeatState) -> StoreResult<()> {
        self.inner.record_heartbeat_ping(state).await
    }
    async fn list_heartbeat_states(&self) -> StoreResult<Vec<HeartbeatState>> {
        self.inner.list_heartbeat_states().await
    }
    async fn claim_heartbeat_missed(
        &self,
        monitor: &MonitorId,
        last_ping_at: Millis,
    ) -> StoreResult<bool> {
        self.inner
            .claim_heartbeat_missed(monitor, last_ping_at)
            .await
    }

    async fn get_domain_registration(
        &self,
        domain: &str,
    ) -> StoreResult<Option<crate::DomainRegistration>> {
        self.inner.get_domain_registration(domain).await
    }

    async fn claim_domain_lookup(
        &self,
        domain: &str,
        now: Millis,
        stale_before: Millis,
    ) -> StoreResult<bool> {
        self.inner
            .claim_domain_lookup(domain, now, stale_before)
            .await
    }

    async fn finish_domain_lookup(
        &self,
        registration: &crate::DomainRegistration,
    ) -> StoreResult<()> {
        self.inner.finish_domain_lookup(registration).await
    }

    async fn list_daily_stats(
        &self,
        org: &OrgId,
        monitor: &MonitorId,
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<certsentry_domain::stats::DailyStats>> {
        self.inner.list_daily_stats(org, monitor, from, to).await
    }
    async fn finalize_daily_stats(&self, today: &str) -> StoreResult<u64> {
        self.inner.finalize_daily_stats(today).await
    }

    async fn record_certificate(
        &self,
        cert: &MonitorCertificate,
        served: Option<&ServedCertificate>,
    ) -> StoreResult<()> {
        self.inner.record_certificate(cert, served).await
    }
    async fn list_monitor_certificates(&self, org: &OrgId) -> StoreResult<Vec<MonitorCertificate>> {
        self.inner.list_monitor_certificates(org).await
    }
    async fn is_served_certificate(&self, org: &OrgId, sha256: &str) -> StoreResult<bool> {
        self.inner.is_served_certificate(org, sha256).await
    }

    async fn create_status_page(
        &self,
        page: &StatusPage,
        max_pages: u32,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner.create_status_page(page, max_pages, audit).await
    }
    async fn get_status_page(
        &self,
        org: &OrgId,
        id: &StatusPageId,
    ) -> StoreResult<Option<StatusPage>> {
        self.inner.get_status_page(org, id).await
    }
    async fn list_status_pages(&self, org: &OrgId) -> StoreResult<Vec<StatusPage>> {
        self.inner.list_status_pages(org).await
    }
    async fn update_status_page(&self, page: &StatusPage, audit: &AuditEvent) -> StoreResult<()> {
        self.inner.update_status_page(page, audit).await
    }
    async fn delete_status_page(
        &self,
        org: &OrgId,
        id: &StatusPageId,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner.delete_status_page(org, id, audit).await
    }

    async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        self.inner.record_audit(event).await
    }
    async fn list_audit(&self, org: &OrgId, query: &AuditQuery) -> StoreResult<Page<AuditEvent>> {
        self.inner.list_audit(org, query).await
    }
}

/// Alerting data is not cached: it is written by the engine and worker and
/// read rarely, so every call goes to the inner store.
#[async_trait]
impl<S: Store> crate::alerts::AlertStore for CachedStore<S> {
    async fn create_channel(
        &self,
        channel: &certsentry_domain::channel::Channel,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner.create_channel(channel, audit).await
    }
    async fn get_channel(
        &self,
        org: &OrgId,
        id: &certsentry_domain::ChannelId,
    ) -> StoreResult<Option<certsentry_domain::channel::Channel>> {
        self.inner.get_channel(org, id).await
    }
    async fn list_channels(
        &self,
        org: &OrgId,
    ) -> StoreResult<Vec<certsentry_domain::channel::Channel>> {
        self.inner.list_channels(org).await
    }
    async fn update_channel(
        &self,
        channel: &certsentry_domain::channel::Channel,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner.update_channel(channel, audit).await
    }
    async fn delete_channel(
        &self,
        org: &OrgId,
        id: &certsentry_domain::ChannelId,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner.delete_channel(org, id, audit).await
    }
    async fn get_alert_state(&self, monitor: &MonitorId, key: &str) -> StoreResult<Option<String>> {
        self.inner.get_alert_state(monitor, key).await
    }
    async fn record_alert(
        &self,
        guard: Option<&crate::alerts::AlertGuard>,
        event: Option<&certsentry_domain::alert::Event>,
        only_channel: Option<&certsentry_domain::ChannelId>,
    ) -> StoreResult<bool> {
        self.inner.record_alert(guard, event, only_channel).await
    }
    async fn list_events(
        &self,
        org: &OrgId,
        query: &crate::alerts::EventQuery,
    ) -> StoreResult<Page<certsentry_domain::alert::Event>> {
        self.inner.list_events(org, query).await
    }
    async fn claim_deliveries(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: u32,
    ) -> StoreResult<Vec<crate::alerts::DueDelivery>> {
        self.inner.claim_deliveries(now, lease_until, limit).await
    }
    async fn finish_attempts(
        &self,
        outcomes: &[crate::alerts::AttemptOutcome],
        disable_after_ms: Millis,
    ) -> StoreResult<Vec<crate::alerts::DisabledChannel>> {
        self.inner.finish_attempts(outcomes, disable_after_ms).await
    }
    async fn list_deliveries(
        &self,
        org: &OrgId,
        query: &crate::alerts::DeliveryQuery,
    ) -> StoreResult<Page<crate::alerts::Delivery>> {
        self.inner.list_deliveries(org, query).await
    }
    async fn redeliver(
        &self,
        org: &OrgId,
        id: &certsentry_domain::DeliveryId,
        now: Millis,
    ) -> StoreResult<()> {
        self.inner.redeliver(org, id, now).await
    }
    async fn count_pending_deliveries(&self) -> StoreResult<u64> {
        self.inner.count_pending_deliveries().await
    }
    async fn prune_alerts(&self, before: Millis) -> StoreResult<u64> {
        self.inner.prune_alerts(before).await
    }
    async fn release_delivery_leases(&self) -> StoreResult<u64> {
        self.inner.release_delivery_leases().await
    }
}

/// CT data is not cached either: findings are rare writes, and the
/// inventory must be read fresh when a grace window ends.
#[async_trait]
impl<S: Store> crate::ct::CtStore for CachedStore<S> {
    async fn create_known_certificate(
        &self,
        known: &KnownCertificate,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner.create_known_certificate(known, audit).await
    }
    async fn list_known_certificates(
        &self,
        org: &OrgId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<KnownCertificate>> {
        self.inner.list_known_certificates(org, cursor, limit).await
    }
    async fn delete_known_certificate(
        &self,
        org: &OrgId,
        id: &KnownCertificateId,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner.delete_known_certificate(org, id, audit).await
    }
    async fn is_known_issuance(
        &self,
        org: &OrgId,
        cert_sha256: &str,
        tbs_sha256: &str,
    ) -> StoreResult<bool> {
        self.inner
            .is_known_issuance(org, cert_sha256, tbs_sha256)
            .await
    }
    async fn insert_ct_finding(&self, finding: &CtFinding) -> StoreResult<bool> {
        self.inner.insert_ct_finding(finding).await
    }
    async fn due_ct_findings(&self, due: Millis, limit: u32) -> StoreResult<Vec<CtFinding>> {
        self.inner.due_ct_findings(due, limit).await
    }
    async fn decide_ct_finding(
        &self,
        org: &OrgId,
        id: &CtCertificateId,
        state: FindingState,
        decided_at: Millis,
        event: Option<&certsentry_domain::alert::Event>,
    ) -> StoreResult<bool> {
        self.inner
            .decide_ct_finding(org, id, state, decided_at, event)
            .await
    }
    async fn list_ct_findings(
        &self,
        org: &OrgId,
        query: &crate::ct::FindingQuery,
    ) -> StoreResult<Page<CtFinding>> {
        self.inner.list_ct_findings(org, query).await
    }
    async fn get_ct_finding(
        &self,
        org: &OrgId,
        id: &CtCertificateId,
    ) -> StoreResult<Option<CtFinding>> {
        self.inner.get_ct_finding(org, id).await
    }
    async fn get_log_position(&self, log_id: &str) -> StoreResult<Option<crate::ct::LogPosition>> {
        self.inner.get_log_position(log_id).await
    }
    async fn put_log_position(
        &self,
        log_id: &str,
        position: &crate::ct::LogPosition,
    ) -> StoreResult<()> {
        self.inner.put_log_position(log_id, position).await
    }
    async fn list_log_positions(&self) -> StoreResult<Vec<crate::ct::StoredLogPosition>> {
        self.inner.list_log_positions().await
    }
    async fn delete_log_position(&self, log_id: &str) -> StoreResult<bool> {
        self.inner.delete_log_position(log_id).await
    }
}
