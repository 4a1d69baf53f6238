//! Forwarding for store layers. A layer (such as the monitor cache)
//! implements [`Forward`] and so serves every aggregate it never changes by
//! handing the call to the store it wraps; it implements the aggregates it
//! does change itself (organizations, environments, monitors and check
//! outcomes: the ones whose writes can touch a cached monitor; and alert
//! state, which the cache keeps too).

use async_trait::async_trait;
use certsentry_domain::alert::Event;
use certsentry_domain::apikey::ApiKey;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::channel::Channel;
use certsentry_domain::check::CheckResult;
use certsentry_domain::ct::{CtFinding, FindingState, KnownCertificate};
use certsentry_domain::dmarc::{DmarcDomain, DmarcReport, DmarcSource, RejectedImport};
use certsentry_domain::people::token::UserLink;
use certsentry_domain::people::{Membership, Role, TwoFactor, User};
use certsentry_domain::stats::DailyStats;
use certsentry_domain::status_page::StatusPage;
use certsentry_domain::status_page::incident::Incident;
use certsentry_domain::status_page::maintenance::Maintenance;
use certsentry_domain::time::Millis;
use certsentry_domain::{
    ApiKeyId, ChannelId, CtCertificateId, DeliveryId, DmarcDomainId, IncidentId,
    KnownCertificateId, MaintenanceId, MonitorId, OrgId, StatusPageId, UserId, UserLinkId,
};

use crate::*;

/// A store that wraps another and forwards what it does not handle.
pub trait Forward: Send + Sync + 'static {
    type Inner: Store;
    fn inner(&self) -> &Self::Inner;
}

#[async_trait]
impl<F: Forward> KeyStore for F {
    async fn create_api_key(&self, key: &ApiKey, audit: &AuditEvent) -> StoreResult<()> {
        self.inner().create_api_key(key, audit).await
    }
    async fn find_api_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKey>> {
        self.inner().find_api_key_by_hash(hash).await
    }
    async fn list_api_keys(&self, org: Option<&OrgId>) -> StoreResult<Vec<ApiKey>> {
        self.inner().list_api_keys(org).await
    }
    async fn revoke_api_key(
        &self,
        id: &ApiKeyId,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<ApiKey> {
        self.inner().revoke_api_key(id, at, audit).await
    }
    async fn touch_api_keys(&self, used: &[(ApiKeyId, Millis)]) -> StoreResult<()> {
        self.inner().touch_api_keys(used).await
    }
}

#[async_trait]
impl<F: Forward> ResultStore for F {
    async fn insert_results(&self, results: &[CheckResult]) -> StoreResult<()> {
        self.inner().insert_results(results).await
    }
    async fn list_results(
        &self,
        org: &OrgId,
        monitor: &MonitorId,
        query: &ResultQuery,
    ) -> StoreResult<Page<CheckResult>> {
        self.inner().list_results(org, monitor, query).await
    }
    async fn last_checked_at(
        &self,
        monitors: &[MonitorId],
    ) -> StoreResult<Vec<(MonitorId, Millis)>> {
        self.inner().last_checked_at(monitors).await
    }
    async fn prune_results(&self, before: Millis) -> StoreResult<u64> {
        self.inner().prune_results(before).await
    }
}

#[async_trait]
impl<F: Forward> HeartbeatStore for F {
    async fn record_heartbeat_ping(&self, state: &HeartbeatState) -> StoreResult<()> {
        self.inner().record_heartbeat_ping(state).await
    }
    async fn list_heartbeat_states(&self) -> StoreResult<Vec<HeartbeatState>> {
        self.inner().list_heartbeat_states().await
    }
    async fn claim_heartbeat_missed(
        &self,
        monitor: &MonitorId,
        last_ping_at: Millis,
    ) -> StoreResult<bool> {
        self.inner()
            .claim_heartbeat_missed(monitor, last_ping_at)
            .await
    }
}

#[async_trait]
impl<F: Forward> RegistrationStore for F {
    async fn get_domain_registration(
        &self,
        domain: &str,
    ) -> StoreResult<Option<DomainRegistration>> {
        self.inner().get_domain_registration(domain).await
    }
    async fn claim_domain_lookup(
        &self,
        domain: &str,
        now: Millis,
        stale_before: Millis,
    ) -> StoreResult<bool> {
        self.inner()
            .claim_domain_lookup(domain, now, stale_before)
            .await
    }
    async fn finish_domain_lookup(&self, registration: &DomainRegistration) -> StoreResult<()> {
        self.inner().finish_domain_lookup(registration).await
    }
}

#[async_trait]
impl<F: Forward> StatsStore for F {
    async fn list_daily_stats(
        &self,
        org: &OrgId,
        monitor: &MonitorId,
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<DailyStats>> {
        self.inner().list_daily_stats(org, monitor, from, to).await
    }
    async fn list_daily_checks(
        &self,
        monitors: &[MonitorId],
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<(MonitorId, String, u64, u64)>> {
        self.inner().list_daily_checks(monitors, from, to).await
    }
    async fn finalize_daily_stats(&self, today: &str) -> StoreResult<u64> {
        self.inner().finalize_daily_stats(today).await
    }
}

#[async_trait]
impl<F: Forward> CertificateStore for F {
    async fn list_monitor_certificates(&self, org: &OrgId) -> StoreResult<Vec<MonitorCertificate>> {
        self.inner().list_monitor_certificates(org).await
    }
    async fn is_served_certificate(&self, org: &OrgId, sha256: &str) -> StoreResult<bool> {
        self.inner().is_served_certificate(org, sha256).await
    }
}

#[async_trait]
impl<F: Forward> StatusPageStore for F {
    async fn create_status_page(
        &self,
        page: &StatusPage,
        max_pages: u32,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner()
            .create_status_page(page, max_pages, audit)
            .await
    }
    async fn get_status_page(
        &self,
        org: &OrgId,
        id: &StatusPageId,
    ) -> StoreResult<Option<StatusPage>> {
        self.inner().get_status_page(org, id).await
    }
    async fn list_status_pages(&self, org: &OrgId) -> StoreResult<Vec<StatusPage>> {
        self.inner().list_status_pages(org).await
    }
    async fn get_status_page_by_slug(&self, slug: &str) -> StoreResult<Option<StatusPage>> {
        self.inner().get_status_page_by_slug(slug).await
    }
    async fn update_status_page(&self, page: &StatusPage, audit: &AuditEvent) -> StoreResult<()> {
        self.inner().update_status_page(page, audit).await
    }
    async fn delete_status_page(
        &self,
        org: &OrgId,
        id: &StatusPageId,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner().delete_status_page(org, id, audit).await
    }
}

#[async_trait]
impl<F: Forward> StatusNoticeStore for F {
    async fn create_incident(
        &self,
        incident: &Incident,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<()> {
        self.inner().create_incident(incident, audit).await
    }
    async fn add_incident_update(
        &self,
        incident: &Incident,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<()> {
        self.inner().add_incident_update(incident, audit).await
    }
    async fn get_incident(
        &self,
        org: &OrgId,
        page: &StatusPageId,
        id: &IncidentId,
    ) -> StoreResult<Option<Incident>> {
        self.inner().get_incident(org, page, id).await
    }
    async fn list_incidents(
        &self,
        org: &OrgId,
        page: &StatusPageId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Incident>> {
        self.inner().list_incidents(org, page, cursor, limit).await
    }
    async fn list_page_incidents(
        &self,
        page: &StatusPageId,
        since: Millis,
    ) -> StoreResult<Vec<Incident>> {
        self.inner().list_page_incidents(page, since).await
    }
    async fn open_incident_for_monitor(
        &self,
        page: &StatusPageId,
        monitor: &MonitorId,
    ) -> StoreResult<Option<Incident>> {
        self.inner().open_incident_for_monitor(page, monitor).await
    }
    async fn create_maintenance(
        &self,
        window: &Maintenance,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner().create_maintenance(window, audit).await
    }
    async fn update_maintenance(
        &self,
        window: &Maintenance,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner().update_maintenance(window, audit).await
    }
    async fn delete_maintenance(
        &self,
        org: &OrgId,
        id: &MaintenanceId,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner().delete_maintenance(org, id, audit).await
    }
    async fn get_maintenance(
        &self,
        org: &OrgId,
        page: &StatusPageId,
        id: &MaintenanceId,
    ) -> StoreResult<Option<Maintenance>> {
        self.inner().get_maintenance(org, page, id).await
    }
    async fn list_maintenance(
        &self,
        org: &OrgId,
        page: &StatusPageId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Maintenance>> {
        self.inner()
            .list_maintenance(org, page, cursor, limit)
            .await
    }
    async fn list_page_maintenance(
        &self,
        page: &StatusPageId,
        since: Millis,
    ) -> StoreResult<Vec<Maintenance>> {
        self.inner().list_page_maintenance(page, since).await
    }
    async fn in_maintenance(&self, monitor: &MonitorId, at: Millis) -> StoreResult<bool> {
        self.inner().in_maintenance(monitor, at).await
    }
    async fn checks_during(
        &self,
        monitor: &MonitorId,
        from: Millis,
        to: Millis,
    ) -> StoreResult<Vec<(String, u64, u64)>> {
        self.inner().checks_during(monitor, from, to).await
    }
}

#[async_trait]
impl<F: Forward> AuditStore for F {
    async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        self.inner().record_audit(event).await
    }
    async fn list_audit(&self, org: &OrgId, query: &AuditQuery) -> StoreResult<Page<AuditEvent>> {
        self.inner().list_audit(org, query).await
    }
}

#[async_trait]
impl<F: Forward> ChannelStore for F {
    async fn create_channel(&self, channel: &Channel, audit: &AuditEvent) -> StoreResult<()> {
        self.inner().create_channel(channel, audit).await
    }
    async fn get_channel(&self, org: &OrgId, id: &ChannelId) -> StoreResult<Option<Channel>> {
        self.inner().get_channel(org, id).await
    }
    async fn list_channels(&self, org: &OrgId) -> StoreResult<Vec<Channel>> {
        self.inner().list_channels(org).await
    }
    async fn update_channel(&self, channel: &Channel, audit: &AuditEvent) -> StoreResult<()> {
        self.inner().update_channel(channel, audit).await
    }
    async fn delete_channel(
        &self,
        org: &OrgId,
        id: &ChannelId,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner().delete_channel(org, id, audit).await
    }
}

#[async_trait]
impl<F: Forward> DeliveryStore for F {
    async fn claim_deliveries(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: u32,
    ) -> StoreResult<Vec<DueDelivery>> {
        self.inner().claim_deliveries(now, lease_until, limit).await
    }
    async fn finish_attempts(
        &self,
        outcomes: &[AttemptOutcome],
        disable_after_ms: Millis,
    ) -> StoreResult<Vec<DisabledChannel>> {
        self.inner()
            .finish_attempts(outcomes, disable_after_ms)
            .await
    }
    async fn list_deliveries(
        &self,
        org: &OrgId,
        query: &DeliveryQuery,
    ) -> StoreResult<Page<Delivery>> {
        self.inner().list_deliveries(org, query).await
    }
    async fn redeliver(&self, org: &OrgId, id: &DeliveryId, now: Millis) -> StoreResult<()> {
        self.inner().redeliver(org, id, now).await
    }
    async fn count_pending_deliveries(&self) -> StoreResult<u64> {
        self.inner().count_pending_deliveries().await
    }
    async fn prune_alerts(&self, before: Millis) -> StoreResult<u64> {
        self.inner().prune_alerts(before).await
    }
    async fn release_delivery_leases(&self) -> StoreResult<u64> {
        self.inner().release_delivery_leases().await
    }
}

#[async_trait]
impl<F: Forward> CtStore for F {
    async fn create_known_certificate(
        &self,
        known: &KnownCertificate,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner().create_known_certificate(known, audit).await
    }
    async fn list_known_certificates(
        &self,
        org: &OrgId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<KnownCertificate>> {
        self.inner()
            .list_known_certificates(org, cursor, limit)
            .await
    }
    async fn delete_known_certificate(
        &self,
        org: &OrgId,
        id: &KnownCertificateId,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner().delete_known_certificate(org, id, audit).await
    }
    async fn is_known_issuance(
        &self,
        org: &OrgId,
        cert_sha256: &str,
        tbs_sha256: &str,
    ) -> StoreResult<bool> {
        self.inner()
            .is_known_issuance(org, cert_sha256, tbs_sha256)
            .await
    }
    async fn insert_ct_finding(&self, finding: &CtFinding) -> StoreResult<bool> {
        self.inner().insert_ct_finding(finding).await
    }
    async fn due_ct_findings(&self, due: Millis, limit: u32) -> StoreResult<Vec<CtFinding>> {
        self.inner().due_ct_findings(due, limit).await
    }
    async fn decide_ct_finding(
        &self,
        org: &OrgId,
        id: &CtCertificateId,
        state: FindingState,
        decided_at: Millis,
        event: Option<&Event>,
        result: Option<&CheckResult>,
    ) -> StoreResult<bool> {
        self.inner()
            .decide_ct_finding(org, id, state, decided_at, event, result)
            .await
    }
    async fn list_ct_findings(
        &self,
        org: &OrgId,
        query: &FindingQuery,
    ) -> StoreResult<Page<CtFinding>> {
        self.inner().list_ct_findings(org, query).await
    }
    async fn get_ct_finding(
        &self,
        org: &OrgId,
        id: &CtCertificateId,
    ) -> StoreResult<Option<CtFinding>> {
        self.inner().get_ct_finding(org, id).await
    }
}

#[async_trait]
impl<F: Forward> LogPositionStore for F {
    async fn get_log_position(&self, log_id: &str) -> StoreResult<Option<LogPosition>> {
        self.inner().get_log_position(log_id).await
    }
    async fn put_log_position(&self, log_id: &str, position: &LogPosition) -> StoreResult<()> {
        self.inner().put_log_position(log_id, position).await
    }
    async fn list_log_positions(&self) -> StoreResult<Vec<StoredLogPosition>> {
        self.inner().list_log_positions().await
    }
    async fn delete_log_position(&self, log_id: &str) -> StoreResult<bool> {
        self.inner().delete_log_position(log_id).await
    }
}

#[async_trait]
impl<F: Forward> DmarcStore for F {
    async fn create_dmarc_domain(
        &self,
        domain: &DmarcDomain,
        token_hash: &str,
        max_domains: u32,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner()
            .create_dmarc_domain(domain, token_hash, max_domains, audit)
            .await
    }
    async fn list_dmarc_domains(&self, org: &OrgId) -> StoreResult<Vec<DmarcDomain>> {
        self.inner().list_dmarc_domains(org).await
    }
    async fn get_dmarc_domain(
        &self,
        org: &OrgId,
        id: &DmarcDomainId,
    ) -> StoreResult<Option<DmarcDomain>> {
        self.inner().get_dmarc_domain(org, id).await
    }
    async fn update_dmarc_domain(
        &self,
        domain: &DmarcDomain,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner().update_dmarc_domain(domain, audit).await
    }
    async fn delete_dmarc_domain(
        &self,
        org: &OrgId,
        id: &DmarcDomainId,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner().delete_dmarc_domain(org, id, audit).await
    }
    async fn rotate_dmarc_token(
        &self,
        org: &OrgId,
        id: &DmarcDomainId,
        token_hash: &str,
        previous_valid_until: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner()
            .rotate_dmarc_token(org, id, token_hash, previous_valid_until, audit)
            .await
    }
    async fn dmarc_domain_by_token(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<DmarcDomain>> {
        self.inner().dmarc_domain_by_token(token_hash, now).await
    }
    async fn import_dmarc_report(
        &self,
        domain: &DmarcDomain,
        report: &DmarcReport,
    ) -> StoreResult<ImportOutcome> {
        self.inner().import_dmarc_report(domain, report).await
    }
    async fn list_dmarc_reports(
        &self,
        org: &OrgId,
        domain: &DmarcDomainId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<DmarcReport>> {
        self.inner()
            .list_dmarc_reports(org, domain, cursor, limit)
            .await
    }
    async fn list_dmarc_sources(
        &self,
        org: &OrgId,
        domain: &DmarcDomainId,
        limit: u32,
    ) -> StoreResult<Vec<DmarcSource>> {
        self.inner().list_dmarc_sources(org, domain, limit).await
    }
    async fn record_rejected_import(&self, import: &RejectedImport) -> StoreResult<()> {
        self.inner().record_rejected_import(import).await
    }
    async fn list_rejected_imports(
        &self,
        org: &OrgId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<RejectedImport>> {
        self.inner().list_rejected_imports(org, cursor, limit).await
    }
    async fn insert_tls_report(&self, report: &TlsReport) -> StoreResult<bool> {
        self.inner().insert_tls_report(report).await
    }
    async fn prune_dmarc_reports(&self, org: &OrgId, before: Millis) -> StoreResult<u64> {
        self.inner().prune_dmarc_reports(org, before).await
    }
    async fn ips_needing_ptr(
        &self,
        stale_before: Millis,
        limit: u32,
    ) -> StoreResult<Vec<std::net::IpAddr>> {
        self.inner().ips_needing_ptr(stale_before, limit).await
    }
    async fn record_ptr(
        &self,
        ip: std::net::IpAddr,
        name: Option<&str>,
        checked_at: Millis,
    ) -> StoreResult<()> {
        self.inner().record_ptr(ip, name, checked_at).await
    }
}

#[async_trait]
impl<F: Forward> crate::TlsScanStore for F {
    async fn get_tls_scan(&self, endpoint: &str) -> StoreResult<Option<crate::TlsScanRecord>> {
        self.inner().get_tls_scan(endpoint).await
    }
    async fn list_tls_grades(&self, endpoints: &[String]) -> StoreResult<Vec<(String, String)>> {
        self.inner().list_tls_grades(endpoints).await
    }
    async fn claim_tls_scan(
        &self,
        endpoint: &str,
        now: Millis,
        stale_before: Millis,
        cert_sha256: Option<&str>,
    ) -> StoreResult<bool> {
        self.inner()
            .claim_tls_scan(endpoint, now, stale_before, cert_sha256)
            .await
    }
    async fn finish_tls_scan(&self, record: &crate::TlsScanRecord) -> StoreResult<()> {
        self.inner().finish_tls_scan(record).await
    }
}

#[async_trait]
impl<F: Forward> PeopleStore for F {
    async fn count_users(&self) -> StoreResult<u64> {
        self.inner().count_users().await
    }
    async fn create_user(
        &self,
        user: &User,
        membership: Option<(&OrgId, Role)>,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<()> {
        self.inner().create_user(user, membership, audit).await
    }
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        self.inner().get_user(id).await
    }
    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        self.inner().find_user_by_email(email).await
    }
    async fn set_password(&self, user: &UserId, hash: &str) -> StoreResult<()> {
        self.inner().set_password(user, hash).await
    }
    async fn set_two_factor(
        &self,
        user: &UserId,
        two_factor: Option<&TwoFactor>,
    ) -> StoreResult<()> {
        self.inner().set_two_factor(user, two_factor).await
    }
    async fn use_recovery_code(&self, user: &UserId, hash: &str) -> StoreResult<bool> {
        self.inner().use_recovery_code(user, hash).await
    }
    async fn set_two_factor_required(
        &self,
        org: &OrgId,
        required: bool,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner()
            .set_two_factor_required(org, required, audit)
            .await
    }
    async fn list_memberships(&self, user: &UserId) -> StoreResult<Vec<Membership>> {
        self.inner().list_memberships(user).await
    }
    async fn list_members(&self, org: &OrgId) -> StoreResult<Vec<Membership>> {
        self.inner().list_members(org).await
    }
    async fn get_membership(&self, org: &OrgId, user: &UserId) -> StoreResult<Option<Membership>> {
        self.inner().get_membership(org, user).await
    }
    async fn add_member(
        &self,
        org: &OrgId,
        user: &UserId,
        role: Role,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner().add_member(org, user, role, audit).await
    }
    async fn set_member_role(
        &self,
        org: &OrgId,
        user: &UserId,
        role: Role,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner().set_member_role(org, user, role, audit).await
    }
    async fn remove_member(
        &self,
        org: &OrgId,
        user: &UserId,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner().remove_member(org, user, audit).await
    }
    async fn create_link(&self, link: &UserLink, audit: Option<&AuditEvent>) -> StoreResult<()> {
        self.inner().create_link(link, audit).await
    }
    async fn find_link(&self, hash: &str) -> StoreResult<Option<UserLink>> {
        self.inner().find_link(hash).await
    }
    async fn use_link(&self, id: &UserLinkId, at: Millis) -> StoreResult<bool> {
        self.inner().use_link(id, at).await
    }
    async fn list_invitations(&self, org: &OrgId) -> StoreResult<Vec<UserLink>> {
        self.inner().list_invitations(org).await
    }
    async fn delete_link(
        &self,
        org: &OrgId,
        id: &UserLinkId,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.inner().delete_link(org, id, audit).await
    }
    async fn save_session(&self, session: &SessionRecord) -> StoreResult<()> {
        self.inner().save_session(session).await
    }
    async fn load_session(&self, id_hash: &str, now: Millis) -> StoreResult<Option<SessionRecord>> {
        self.inner().load_session(id_hash, now).await
    }
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.inner().delete_session(id_hash).await
    }
    async fn list_user_sessions(
        &self,
        user: &UserId,
        now: Millis,
    ) -> StoreResult<Vec<SessionRecord>> {
        self.inner().list_user_sessions(user, now).await
    }
    async fn delete_user_sessions(&self, user: &UserId) -> StoreResult<u64> {
        self.inner().delete_user_sessions(user).await
    }
    async fn prune_sessions(&self, now: Millis) -> StoreResult<u64> {
        self.inner().prune_sessions(now).await
    }
}
