//! Roles and the one permission table.
//!
//! - **viewer**: reads everything, changes nothing;
//! - **member**: also manages monitors, status pages, certificates and
//!   DMARC domains;
//! - **admin**: also API keys, notification channels, environments, and
//!   members below admin;
//! - **owner**: everything, other owners and the plan included.

use crate::string_enum::string_enum;

string_enum!(
    /// A user's role in one organization.
    Role {
        Owner = "owner",
        Admin = "admin",
        Member = "member",
        Viewer = "viewer",
    }
);

string_enum!(plain
    /// Something a role may do; every dashboard route names one.
    Permission {
        /// See every page of the organization.
        Read = "read",
        /// Monitors, heartbeats and their checks.
        ManageMonitors = "monitors",
        ManageStatusPages = "statusPages",
        /// Mark CT findings as known.
        ManageCertificates = "certificates",
        ManageDmarc = "dmarc",
        ManageApiKeys = "apiKeys",
        ManageChannels = "channels",
        ManageEnvironments = "environments",
        /// Invite, change and remove members and admins below oneself.
        ManageMembers = "members",
        /// Make, demote and remove owners.
        ManageOwners = "owners",
        /// Require two-factor sign-in of every member.
        ManageSecurity = "security",
        /// The plan is an operator setting; owners see and change it.
        ManagePlan = "plan",
    }
);

/// The single source of truth: each permission and the least role that
/// has it (roles are ordered owner > admin > member > viewer).
pub const PERMISSIONS: &[(Permission, Role)] = &[
    (Permission::Read, Role::Viewer),
    (Permission::ManageMonitors, Role::Member),
    (Permission::ManageStatusPages, Role::Member),
    (Permission::ManageCertificates, Role::Member),
    (Permission::ManageDmarc, Role::Member),
    (Permission::ManageApiKeys, Role::Admin),
    (Permission::ManageChannels, Role::Admin),
    (Permission::ManageEnvironments, Role::Admin),
    (Permission::ManageMembers, Role::Admin),
    (Permission::ManageOwners, Role::Owner),
    (Permission::ManageSecurity, Role::Owner),
    (Permission::ManagePlan, Role::Owner),
];

impl Role {
    fn rank(self) -> u8 {
        match self {
            Role::Viewer => 0,
            Role::Member => 1,
            Role::Admin => 2,
            Role::Owner => 3,
        }
    }

    /// Whether this role is `other` or above it.
    pub fn at_least(self, other: Role) -> bool {
        self.rank() >= other.rank()
    }

    pub fn may(self, permission: Permission) -> bool {
        PERMISSIONS
            .iter()
            .find(|(p, _)| *p == permission)
            .is_some_and(|(_, least)| self.at_least(*least))
    }

    /// Whether this role may give `to`, or take away `from` (an invitation
    /// gives; a role change takes and gives; a removal takes). Admins act
    /// only below admin; owners on anyone.
    pub fn may_assign(self, from: Option<Role>, to: Option<Role>) -> bool {
        let touches_owner_or_admin = [from, to]
            .into_iter()
            .flatten()
            .any(|r| r.at_least(Role::Admin));
        if touches_owner_or_admin {
            self.may(Permission::ManageOwners)
        } else {
            self.may(Permission::ManageMembers)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_has_exactly_one_row() {
        for permission in Permission::ALL {
            let rows = PERMISSIONS.iter().filter(|(p, _)| p == permission).count();
            assert_eq!(rows, 1, "{}", permission.as_str());
        }
    }

    #[test]
    fn roles_have_what_the_issue_lists() {
        assert!(Role::Viewer.may(Permission::Read));
        assert!(!Role::Viewer.may(Permission::ManageMonitors));
        assert!(Role::Member.may(Permission::ManageMonitors));
        assert!(Role::Member.may(Permission::ManageDmarc));
        assert!(!Role::Member.may(Permission::ManageApiKeys));
        assert!(Role::Admin.may(Permission::ManageChannels));
        assert!(!Role::Admin.may(Permission::ManagePlan));
        assert!(Role::Owner.may(Permission::ManagePlan));
    }

    #[test]
    fn admins_manage_only_below_admin() {
        assert!(Role::Admin.may_assign(None, Some(Role::Viewer)));
        assert!(Role::Admin.may_assign(Some(Role::Viewer), Some(Role::Member)));
        assert!(!Role::Admin.may_assign(Some(Role::Member), Some(Role::Admin)));
        assert!(!Role::Admin.may_assign(Some(Role::Admin), None));
        assert!(!Role::Member.may_assign(None, Some(Role::Viewer)));
        assert!(Role::Owner.may_assign(Some(Role::Owner), Some(Role::Member)));
    }
}
