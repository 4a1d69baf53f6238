//! Users, memberships, one-time links and sessions.

use certsentry_domain as d;
use certsentry_domain::people::token::{LinkPurpose, UserLink};
use certsentry_domain::people::{Membership, Role, TwoFactor, User};

use super::orgs::lock_org;
use super::*;
use crate::*;

const USER_COLUMNS: &str = "id, email, password_hash, totp_secret, recovery_codes, created_at";
const MEMBERSHIP_SELECT: &str = "SELECT m.org_id, o.name AS org_name, m.user_id, u.email, \
     m.role, o.require_two_factor, m.created_at FROM memberships m \
     JOIN orgs o ON o.id = m.org_id JOIN users u ON u.id = m.user_id";
const LINK_COLUMNS: &str = "id, purpose, hash, org_id, user_id, email, role, created_by, \
     created_at, expires_at, used_at";

fn user_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<User> {
    let secret: Option<String> = row.get("totp_secret")?;
    let recovery: Option<String> = row.get("recovery_codes")?;
    let two_factor = match secret {
        Some(secret) => Some(TwoFactor {
            secret,
            recovery_hashes: serde_json::from_str(recovery.as_deref().unwrap_or("[]"))
                .map_err(|e| StoreError::Corrupt(format!("recovery codes: {e}")))?,
        }),
        None => None,
    };
    Ok(User {
        id: d::UserId::from_string(row.get::<String>("id")?),
        email: row.get("email")?,
        password_hash: row.get("password_hash")?,
        two_factor,
        created_at: row.get("created_at")?,
    })
}

fn encode_recovery(two_factor: Option<&TwoFactor>) -> Option<String> {
    two_factor.map(|t| serde_json::Value::from(t.recovery_hashes.clone()).to_string())
}

fn role_of(text: &str) -> StoreResult<Role> {
    Role::parse(text).ok_or_else(|| StoreError::Corrupt(format!("role {text}")))
}

fn membership_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<Membership> {
    Ok(Membership {
        org_id: d::OrgId::from_string(row.get::<String>("org_id")?),
        org_name: row.get("org_name")?,
        user_id: d::UserId::from_string(row.get::<String>("user_id")?),
        email: row.get("email")?,
        role: role_of(&row.get::<String>("role")?)?,
        two_factor_required: row.get("require_two_factor")?,
        created_at: row.get("created_at")?,
    })
}

fn link_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<UserLink> {
    let purpose: String = row.get("purpose")?;
    Ok(UserLink {
        id: d::UserLinkId::from_string(row.get::<String>("id")?),
        purpose: LinkPurpose::parse(&purpose)
            .ok_or_else(|| StoreError::Corrupt(format!("link purpose {purpose}")))?,
        hash: row.get("hash")?,
        org_id: row
            .get::<Option<String>>("org_id")?
            .map(d::OrgId::from_string),
        user_id: row
            .get::<Option<String>>("user_id")?
            .map(d::UserId::from_string),
        email: row.get("email")?,
        role: row
            .get::<Option<String>>("role")?
            .map(|r| role_of(&r))
            .transpose()?,
        created_by: row
            .get::<Option<String>>("created_by")?
            .map(d::UserId::from_string),
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
        used_at: row.get("used_at")?,
    })
}

fn session_from_row<B: SqlBackend>(row: &SqlRow<B>) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        id_hash: row.get("id_hash")?,
        user_id: row
            .get::<Option<String>>("user_id")?
            .map(d::UserId::from_string),
        data: row.get("data")?,
        expires_at: row.get("expires_at")?,
    })
}

async fn insert_membership<B: SqlBackend>(
    tx: &mut Tx<B>,
    org: &d::OrgId,
    user: &d::UserId,
    role: Role,
) -> StoreResult<()> {
    query::<B>(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(org.as_str())
    .bind(user.as_str())
    .bind(role.as_str())
    .bind(d::time::now_ms())
    .execute(&mut *tx)
    .await
    .map_err(conflict_or("member"))?;
    Ok(())
}

/// `Conflict("owner")` when the change left the organization without an
/// owner; checked inside the write's transaction, after taking the
/// organization's lock, so two owners demoting each other cannot both win.
async fn keep_an_owner<B: SqlBackend>(tx: &mut Tx<B>, org: &d::OrgId) -> StoreResult<()> {
    let row =
        query::<B>("SELECT COUNT(*) AS n FROM memberships WHERE org_id = $1 AND role = 'owner'")
            .bind(org.as_str())
            .fetch_one(&mut *tx)
            .await?;
    if row.get::<i64>("n")? == 0 {
        Err(StoreError::Conflict("owner"))
    } else {
        Ok(())
    }
}

#[async_trait::async_trait]
impl<B: SqlBackend> PeopleStore for SqlStore<B> {
    async fn count_users(&self) -> StoreResult<u64> {
        let row = query::<B>("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.read_pool())
            .await?;
        Ok(row.get::<i64>("n")? as u64)
    }

    async fn create_user(
        &self,
        user: &User,
        membership: Option<(&d::OrgId, Role)>,
        audit: Option<&d::audit::AuditEvent>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(::sqlx::AssertSqlSafe(format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        )))
        .bind(user.id.as_str())
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.two_factor.as_ref().map(|t| t.secret.as_str()))
        .bind(encode_recovery(user.two_factor.as_ref()))
        .bind(user.created_at)
        .execute(&mut tx)
        .await
        .map_err(conflict_or("email"))?;
        if let Some((org, role)) = membership {
            lock_org(&mut tx, org).await?;
            insert_membership(&mut tx, org, &user.id, role).await?;
        }
        commit_maybe_audited(tx, audit).await
    }

    async fn get_user(&self, id: &d::UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(self.read_pool())
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(email)
            .fetch_optional(self.read_pool())
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn set_password(&self, user: &d::UserId, hash: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done = query::<B>("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user.as_str())
            .execute(&mut tx)
            .await?;
        found(done.rows_affected())?;
        tx.commit().await.map_err(StoreError::from)
    }

    async fn set_two_factor(
        &self,
        user: &d::UserId,
        two_factor: Option<&TwoFactor>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done =
            query::<B>("UPDATE users SET totp_secret = $1, recovery_codes = $2 WHERE id = $3")
                .bind(two_factor.map(|t| t.secret.as_str()))
                .bind(encode_recovery(two_factor))
                .bind(user.as_str())
                .execute(&mut tx)
                .await?;
        found(done.rows_affected())?;
        tx.commit().await.map_err(StoreError::from)
    }

    /// A compare-and-swap on the stored list: of two sign-ins racing with
    /// one code, the second finds the list changed and the code gone.
    async fn use_recovery_code(&self, user: &d::UserId, hash: &str) -> StoreResult<bool> {
        let Some(stored) = self.get_user(user).await?.and_then(|u| u.two_factor) else {
            return Ok(false);
        };
        let mut left = stored.recovery_hashes.clone();
        left.retain(|h| h != hash);
        if left.len() == stored.recovery_hashes.len() {
            return Ok(false);
        }
        let mut tx = self.begin_write().await?;
        let done = query::<B>(
            "UPDATE users SET recovery_codes = $1 WHERE id = $2 AND recovery_codes = $3",
        )
        .bind(serde_json::Value::from(left).to_string())
        .bind(user.as_str())
        .bind(encode_recovery(Some(&stored)))
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_two_factor_required(
        &self,
        org: &d::OrgId,
        required: bool,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done = query::<B>("UPDATE orgs SET require_two_factor = $1 WHERE id = $2")
            .bind(required)
            .bind(org.as_str())
            .execute(&mut tx)
            .await?;
        found(done.rows_affected())?;
        commit_audited(tx, audit).await
    }

    async fn list_memberships(&self, user: &d::UserId) -> StoreResult<Vec<Membership>> {
        let sql = format!("{MEMBERSHIP_SELECT} WHERE m.user_id = $1 ORDER BY o.name, m.org_id");
        let rows = query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(user.as_str())
            .fetch_all(self.read_pool())
            .await?;
        rows.iter().map(membership_from_row).collect()
    }

    async fn list_members(&self, org: &d::OrgId) -> StoreResult<Vec<Membership>> {
        let sql = format!("{MEMBERSHIP_SELECT} WHERE m.org_id = $1 ORDER BY u.email");
        let rows = query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .fetch_all(self.read_pool())
            .await?;
        rows.iter().map(membership_from_row).collect()
    }

    async fn get_membership(
        &self,
        org: &d::OrgId,
        user: &d::UserId,
    ) -> StoreResult<Option<Membership>> {
        let sql = format!("{MEMBERSHIP_SELECT} WHERE m.org_id = $1 AND m.user_id = $2");
        query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .bind(user.as_str())
            .fetch_optional(self.read_pool())
            .await?
            .as_ref()
            .map(membership_from_row)
            .transpose()
    }

    async fn add_member(
        &self,
        org: &d::OrgId,
        user: &d::UserId,
        role: Role,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        lock_org(&mut tx, org).await?;
        insert_membership(&mut tx, org, user, role).await?;
        commit_audited(tx, audit).await
    }

    async fn set_member_role(
        &self,
        org: &d::OrgId,
        user: &d::UserId,
        role: Role,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        lock_org(&mut tx, org).await?;
        let done =
            query::<B>("UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3")
                .bind(role.as_str())
                .bind(org.as_str())
                .bind(user.as_str())
                .execute(&mut tx)
                .await?;
        found(done.rows_affected())?;
        keep_an_owner(&mut tx, org).await?;
        commit_audited(tx, audit).await
    }

    async fn remove_member(
        &self,
        org: &d::OrgId,
        user: &d::UserId,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        lock_org(&mut tx, org).await?;
        let done = query::<B>("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org.as_str())
            .bind(user.as_str())
            .execute(&mut tx)
            .await?;
        found(done.rows_affected())?;
        keep_an_owner(&mut tx, org).await?;
        commit_audited(tx, audit).await
    }

    async fn create_link(
        &self,
        link: &UserLink,
        audit: Option<&d::audit::AuditEvent>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(::sqlx::AssertSqlSafe(format!(
            "INSERT INTO user_links ({LINK_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .bind(link.id.as_str())
        .bind(link.purpose.as_str())
        .bind(&link.hash)
        .bind(link.org_id.as_ref().map(|o| o.as_str()))
        .bind(link.user_id.as_ref().map(|u| u.as_str()))
        .bind(&link.email)
        .bind(link.role.map(|r| r.as_str()))
        .bind(link.created_by.as_ref().map(|u| u.as_str()))
        .bind(link.created_at)
        .bind(link.expires_at)
        .bind(link.used_at)
        .execute(&mut tx)
        .await
        .map_err(conflict_or("link"))?;
        commit_maybe_audited(tx, audit).await
    }

    async fn find_link(&self, hash: &str) -> StoreResult<Option<UserLink>> {
        let sql = format!("SELECT {LINK_COLUMNS} FROM user_links WHERE hash = $1");
        query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(hash)
            .fetch_optional(self.read_pool())
            .await?
            .as_ref()
            .map(link_from_row)
            .transpose()
    }

    async fn use_link(&self, id: &d::UserLinkId, at: d::time::Millis) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done =
            query::<B>("UPDATE user_links SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(at)
                .bind(id.as_str())
                .execute(&mut tx)
                .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_invitations(&self, org: &d::OrgId) -> StoreResult<Vec<UserLink>> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM user_links WHERE org_id = $1 AND purpose = $2 \
             AND used_at IS NULL ORDER BY id DESC"
        );
        let rows = query::<B>(::sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .bind(LinkPurpose::Invitation.as_str())
            .fetch_all(self.read_pool())
            .await?;
        rows.iter().map(link_from_row).collect()
    }

    async fn delete_link(
        &self,
        org: &d::OrgId,
        id: &d::UserLinkId,
        audit: &d::audit::AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done = query::<B>("DELETE FROM user_links WHERE org_id = $1 AND id = $2")
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(&mut tx)
            .await?;
        found(done.rows_affected())?;
        commit_audited(tx, audit).await
    }

    async fn save_session(&self, session: &SessionRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(
            "INSERT INTO sessions (id_hash, user_id, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id_hash) DO UPDATE SET user_id = excluded.user_id, \
             data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(&session.id_hash)
        .bind(session.user_id.as_ref().map(|u| u.as_str()))
        .bind(&session.data)
        .bind(session.expires_at)
        .execute(&mut tx)
        .await?;
        tx.commit().await.map_err(StoreError::from)
    }

    async fn load_session(
        &self,
        id_hash: &str,
        now: d::time::Millis,
    ) -> StoreResult<Option<SessionRecord>> {
        query::<B>(
            "SELECT id_hash, user_id, data, expires_at FROM sessions \
             WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(self.read_pool())
        .await?
        .as_ref()
        .map(session_from_row)
        .transpose()
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&mut tx)
            .await?;
        tx.commit().await.map_err(StoreError::from)
    }

    async fn list_user_sessions(
        &self,
        user: &d::UserId,
        now: d::time::Millis,
    ) -> StoreResult<Vec<SessionRecord>> {
        query::<B>(
            "SELECT id_hash, user_id, data, expires_at FROM sessions \
             WHERE user_id = $1 AND expires_at > $2 ORDER BY expires_at DESC",
        )
        .bind(user.as_str())
        .bind(now)
        .fetch_all(self.read_pool())
        .await?
        .iter()
        .map(session_from_row)
        .collect()
    }

    async fn delete_user_sessions(&self, user: &d::UserId) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let done = query::<B>("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.as_str())
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn prune_sessions(&self, now: d::time::Millis) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let done = query::<B>("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
