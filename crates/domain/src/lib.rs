//! CertSentry's domain: the types every other crate speaks, and the rules
//! that decide what a valid monitor, status page or API key is.
//!
//! Nothing here performs I/O. Rules that need the outside world (does this
//! host resolve to a private address? does this environment exist?) are
//! split so that the pure part lives here and the caller supplies the facts.

pub mod agent;
pub mod alert;
pub mod apikey;
pub mod audit;
pub mod channel;
pub mod check;
pub mod ct;
pub mod dmarc;
pub mod dns;
pub mod errors;
pub mod id;
pub mod monitor;
pub mod net;
pub mod org;
pub mod people;
pub mod plan;
pub mod registration;
pub mod stats;
pub mod status_page;
mod string_enum;
pub mod time;
pub mod tls;

pub use errors::FieldErrors;
pub use id::{
    AgentTokenId, ApiKeyId, AuditId, ChannelId, CtCertificateId, DeliveryId, DmarcDomainId,
    DmarcImportId, DmarcReportId, EnvironmentId, EventId, IncidentId, IncidentUpdateId,
    KnownCertificateId, MaintenanceId, MonitorId, OrgId, ResultId, StatusPageId, UserId,
    UserLinkId,
};
