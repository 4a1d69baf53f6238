//! A write-through monitor cache around a single-node store.
//!
//! Why: with sqlx's SQLite driver every row crosses a thread boundary, so
//! reads of monitors (the API's hottest path) cost context switches rather
//! than SQL. A SQLite file is served by exactly one CertSentry process, and
//! every monitor write in that process goes through this type, so an
//! in-memory copy updated after each committed write is always current.
//! Do not wrap a store that other nodes write to (Postgres).

mod org_monitors;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use certsentry_domain::alert::Event;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::check::CheckResult;
use certsentry_domain::monitor::Monitor;
use certsentry_domain::org::{Environment, Org};
use certsentry_domain::{ChannelId, EnvironmentId, MonitorId, OrgId};

use crate::prelude::*;
use crate::{
    AlertGuard, EventQuery, Forward, MonitorQuery, MonitorState, Page, StoreResult, SyncChanges,
};

use org_monitors::OrgMonitors;

pub struct CachedStore<S> {
    inner: S,
    monitors: RwLock<HashMap<OrgId, OrgMonitors>>,
    /// Ping token → monitor, for every heartbeat monitor created through
    /// this store or loaded at start (and any other found in the database).
    /// A token never changes, and a hit is checked against `monitors`, so a
    /// deleted monitor is never returned.
    tokens: RwLock<HashMap<String, (OrgId, MonitorId)>>,
    /// Alert state per monitor and key, as read or written through this
    /// store (`None`: known to have none). Every check reads its monitor's
    /// state to apply the rules, and it rarely changes, so the read is
    /// served here; writes still go to the database first, guarded by
    /// compare-and-swap there.
    alert_states: RwLock<HashMap<MonitorId, HashMap<String, Option<String>>>>,
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
                    entry.insert(Arc::new(monitor));
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
            alert_states: RwLock::default(),
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

    /// Drops the alert state kept for deleted monitors (the store deleted
    /// theirs with them).
    fn forget_alert_states(&self, ids: &[MonitorId]) {
        let mut states = self.alert_states.write().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            states.remove(id);
        }
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

impl<S: Store> Forward for CachedStore<S> {
    type Inner = S;
    fn inner(&self) -> &S {
        &self.inner
    }
}

#[async_trait]
impl<S: Store> Store for CachedStore<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}

#[async_trait]
impl<S: Store> OrgStore for CachedStore<S> {
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
}

#[async_trait]
impl<S: Store> EnvironmentStore for CachedStore<S> {
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
}

#[async_trait]
impl<S: Store> MonitorStore for CachedStore<S> {
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
                .insert(Arc::new(monitor.clone()));
        });
        self.remember_token(monitor);
        Ok(())
    }
    async fn get_monitor(&self, org: &OrgId, id: &MonitorId) -> StoreResult<Option<Monitor>> {
        Ok(self.read(|all| all.get(org).and_then(|m| m.get(id)).map(|m| (**m).clone())))
    }
    async fn list_monitors(&self, org: &OrgId, query: &MonitorQuery) -> StoreResult<Page<Monitor>> {
        let page = self.list_monitors_shared(org, query).await?;
        Ok(Page {
            items: page.items.iter().map(|m| (**m).clone()).collect(),
            next_cursor: page.next_cursor,
        })
    }
    /// Every change replaces a monitor's `Arc` (`Arc::new` in each write
    /// above), so a held copy stays as it was read.
    fn shares_monitors(&self) -> bool {
        true
    }
    async fn get_monitor_shared(
        &self,
        org: &OrgId,
        id: &MonitorId,
    ) -> StoreResult<Option<Arc<Monitor>>> {
        Ok(self.read(|all| all.get(org).and_then(|m| m.get(id)).cloned()))
    }
    async fn list_monitors_shared(
        &self,
        org: &OrgId,
        query: &MonitorQuery,
    ) -> StoreResult<Page<Arc<Monitor>>> {
        Ok(self.read(|all| {
            let Some(monitors) = all.get(org) else {
                return Page {
                    items: vec![],
                    next_cursor: None,
                };
            };
            let mut items: Vec<Arc<Monitor>> = monitors
                .after(query.cursor.as_deref())
                .filter(|m| matches(m, query))
                .take(query.limit as usize + 1)
                .cloned()
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
    async fn rotate_heartbeat_token(
        &self,
        org: &OrgId,
        id: &MonitorId,
        token: &str,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner
            .rotate_heartbeat_token(org, id, token, audit)
            .await?;
        let mut old = None;
        self.write(|all| {
            if let Some(slot) = all.get_mut(org).and_then(|m| m.get_mut(id)) {
                let mut next = (**slot).clone();
                old = next.heartbeat_token.replace(token.to_string());
                *slot = Arc::new(next);
            }
        });
        let mut tokens = self.tokens.write().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = old {
            tokens.remove(&old);
        }
        tokens.insert(token.to_string(), (org.clone(), id.clone()));
        Ok(())
    }
    async fn delete_monitor(
        &self,
        org: &OrgId,
        id: &MonitorId,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner.delete_monitor(org, id, audit).await?;
        self.forget_alert_states(std::slice::from_ref(id));
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
        self.forget_alert_states(&plan.delete);
        self.write(|all| {
            for monitor in &plan.update {
                Self::apply_update(all, monitor);
            }
            let monitors = all.entry(org.clone()).or_default();
            for id in &plan.delete {
                monitors.remove(id);
            }
            for monitor in &plan.create {
                monitors.insert(Arc::new(monitor.clone()));
            }
        });
        for monitor in &plan.create {
            self.remember_token(monitor);
        }
        Ok(())
    }
    async fn find_heartbeat_monitor(&self, token: &str) -> StoreResult<Option<Arc<Monitor>>> {
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
                return Ok(Some(monitor));
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
}

#[async_trait]
impl<S: Store> CheckStore for CachedStore<S> {
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
}

/// Alert state read through the cache. Safe because this store is the only
/// writer of its database: each state is read from the database once, then
/// kept as written. A compare-and-swap that fails (the kept state was not
/// the stored one) drops the kept copy, so the next read goes to the store.
#[async_trait]
impl<S: Store> AlertStore for CachedStore<S> {
    async fn get_alert_state(&self, monitor: &MonitorId, key: &str) -> StoreResult<Option<String>> {
        let kept = self
            .alert_states
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(monitor)
            .and_then(|keys| keys.get(key).cloned());
        if let Some(state) = kept {
            return Ok(state);
        }
        let stored = self.inner.get_alert_state(monitor, key).await?;
        // Only if still unknown: a state recorded meanwhile is newer.
        self.alert_states
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(monitor.clone())
            .or_default()
            .entry(key.to_string())
            .or_insert_with(|| stored.clone());
        Ok(stored)
    }
    async fn get_alert_states(
        &self,
        monitors: &[MonitorId],
        key: &str,
    ) -> StoreResult<HashMap<MonitorId, String>> {
        self.inner.get_alert_states(monitors, key).await
    }
    async fn record_alert(
        &self,
        guard: Option<&AlertGuard>,
        event: Option<&Event>,
        only_channel: Option<&ChannelId>,
    ) -> StoreResult<bool> {
        let outcome = self.inner.record_alert(guard, event, only_channel).await;
        if let Some(guard) = guard {
            let mut states = self.alert_states.write().unwrap_or_else(|p| p.into_inner());
            match &outcome {
                Ok(true) => {
                    states
                        .entry(guard.monitor_id.clone())
                        .or_default()
                        .insert(guard.key.clone(), Some(guard.next.clone()));
                }
                // Not moved, or unknown: read the store next time.
                _ => {
                    if let Some(keys) = states.get_mut(&guard.monitor_id) {
                        keys.remove(&guard.key);
                    }
                }
            }
        }
        outcome
    }
    async fn list_events(&self, org: &OrgId, query: &EventQuery) -> StoreResult<Page<Event>> {
        self.inner.list_events(org, query).await
    }
}
