//! Conformance cases: users, memberships, one-time links and sessions.

use certsentry_domain::people::token::{LinkPurpose, UserLink, hash_link_token};
use certsentry_domain::people::{Role, TwoFactor, User};

use crate::SessionRecord;

use super::*;

async fn new_user(store: &dyn Store, email: &str, org: Option<(&OrgId, Role)>) -> User {
    let user = User::new(email);
    store.create_user(&user, org, None).await.unwrap();
    user
}

async fn users_belong_to_organizations_with_roles(store: Arc<dyn Store>) {
    let acme = new_org(&*store, "Acme").await;
    let beta = new_org(&*store, "Beta").await;
    assert_eq!(store.count_users().await.unwrap(), 0);
    let ann = new_user(&*store, "ann@example.com", Some((&acme.id, Role::Owner))).await;
    let bob = new_user(&*store, "bob@example.com", Some((&acme.id, Role::Viewer))).await;
    assert_eq!(store.count_users().await.unwrap(), 2);

    let taken = store
        .create_user(&User::new("ann@example.com"), None, None)
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict("email"))),
        "{taken:?}"
    );
    let found = store.find_user_by_email("ann@example.com").await.unwrap();
    assert_eq!(found.as_ref().map(|u| &u.id), Some(&ann.id));
    assert_eq!(found.unwrap().password_hash, None);
    store
        .set_password(&ann.id, "$argon2id$stored")
        .await
        .unwrap();
    let ann_now = store.get_user(&ann.id).await.unwrap().unwrap();
    assert_eq!(ann_now.password_hash.as_deref(), Some("$argon2id$stored"));

    store
        .add_member(
            &beta.id,
            &ann.id,
            Role::Admin,
            &audit(&beta.id, "member.join", "member", ann.id.as_str()),
        )
        .await
        .unwrap();
    let again = store
        .add_member(
            &beta.id,
            &ann.id,
            Role::Viewer,
            &audit(&beta.id, "member.join", "member", ann.id.as_str()),
        )
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict("member"))),
        "{again:?}"
    );
    let orgs: Vec<(String, Role)> = store
        .list_memberships(&ann.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.org_name, m.role))
        .collect();
    assert_eq!(
        orgs,
        vec![("Acme".into(), Role::Owner), ("Beta".into(), Role::Admin)]
    );
    let members: Vec<String> = store
        .list_members(&acme.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.email)
        .collect();
    assert_eq!(members, vec!["ann@example.com", "bob@example.com"]);
    assert!(
        store
            .get_membership(&beta.id, &bob.id)
            .await
            .unwrap()
            .is_none()
    );

    let change = audit(&acme.id, "member.role.change", "member", bob.id.as_str());
    store
        .set_member_role(&acme.id, &bob.id, Role::Member, &change)
        .await
        .unwrap();
    let bob_in_acme = store
        .get_membership(&acme.id, &bob.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob_in_acme.role, Role::Member);
    let logged = store
        .list_audit(
            &acme.id,
            &AuditQuery {
                action: Some("member.role.change".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(logged.items.len(), 1);
}
register!(users_belong_to_organizations_with_roles);

async fn an_organization_always_keeps_an_owner(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Owned").await;
    let ann = new_user(&*store, "owner@example.com", Some((&org.id, Role::Owner))).await;
    let bob = new_user(&*store, "admin@example.com", Some((&org.id, Role::Admin))).await;
    let demote = audit(&org.id, "member.role.change", "member", ann.id.as_str());
    let refused = store
        .set_member_role(&org.id, &ann.id, Role::Admin, &demote)
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict("owner"))),
        "{refused:?}"
    );
    let remove = audit(&org.id, "member.remove", "member", ann.id.as_str());
    let refused = store.remove_member(&org.id, &ann.id, &remove).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict("owner"))),
        "{refused:?}"
    );
    assert_eq!(
        store
            .get_membership(&org.id, &ann.id)
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Owner,
        "a refused change is rolled back"
    );
    let none = store
        .list_audit(
            &org.id,
            &AuditQuery {
                target_type: Some("member".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(none.items.is_empty(), "a refused change logs nothing");

    store
        .set_member_role(&org.id, &bob.id, Role::Owner, &demote)
        .await
        .unwrap();
    store
        .remove_member(&org.id, &ann.id, &remove)
        .await
        .unwrap();
    assert!(
        store
            .get_membership(&org.id, &ann.id)
            .await
            .unwrap()
            .is_none()
    );
    let missing = store.remove_member(&org.id, &ann.id, &remove).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}
register!(an_organization_always_keeps_an_owner);

async fn links_work_once_and_list_per_organization(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Links").await;
    let other = new_org(&*store, "Other links").await;
    let now = now_ms();
    let (mut invite, token) = UserLink::new(LinkPurpose::Invitation, now);
    invite.org_id = Some(org.id.clone());
    invite.email = Some("new@example.com".into());
    invite.role = Some(Role::Viewer);
    store
        .create_link(
            &invite,
            Some(&audit(
                &org.id,
                "member.invite",
                "member",
                "new@example.com",
            )),
        )
        .await
        .unwrap();
    let found = store
        .find_link(&hash_link_token(&token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, invite);
    assert!(
        store
            .find_link(&hash_link_token("csl_wrong"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.list_invitations(&org.id).await.unwrap(),
        vec![invite.clone()]
    );
    assert!(store.list_invitations(&other.id).await.unwrap().is_empty());

    assert!(store.use_link(&invite.id, now + 1).await.unwrap());
    assert!(
        !store.use_link(&invite.id, now + 2).await.unwrap(),
        "a link works once"
    );
    let used = store.find_link(&invite.hash).await.unwrap().unwrap();
    assert_eq!(used.used_at, Some(now + 1));
    assert!(store.list_invitations(&org.id).await.unwrap().is_empty());

    let (mut pending, _) = UserLink::new(LinkPurpose::Invitation, now);
    pending.org_id = Some(org.id.clone());
    store.create_link(&pending, None).await.unwrap();
    let revoke = audit(
        &other.id,
        "member.invite.revoke",
        "member",
        pending.id.as_str(),
    );
    let elsewhere = store.delete_link(&other.id, &pending.id, &revoke).await;
    assert!(
        matches!(elsewhere, Err(StoreError::NotFound)),
        "{elsewhere:?}"
    );
    let revoke = audit(
        &org.id,
        "member.invite.revoke",
        "member",
        pending.id.as_str(),
    );
    store
        .delete_link(&org.id, &pending.id, &revoke)
        .await
        .unwrap();
    assert!(store.find_link(&pending.hash).await.unwrap().is_none());
}
register!(links_work_once_and_list_per_organization);

async fn sessions_expire_and_end_everywhere(store: Arc<dyn Store>) {
    let ann = new_user(&*store, "sessions@example.com", None).await;
    let now = now_ms();
    let session = |id: &str, user: Option<&User>, expires_at| SessionRecord {
        id_hash: id.into(),
        user_id: user.map(|u| u.id.clone()),
        data: "{}".into(),
        expires_at,
    };
    store
        .save_session(&session("a", Some(&ann), now + 1_000))
        .await
        .unwrap();
    store
        .save_session(&session("b", Some(&ann), now + 1_000))
        .await
        .unwrap();
    store
        .save_session(&session("c", None, now - 1))
        .await
        .unwrap();
    let mut replaced = session("a", Some(&ann), now + 5_000);
    replaced.data = r#"{"csrf":"x"}"#.into();
    store.save_session(&replaced).await.unwrap();
    assert_eq!(store.load_session("a", now).await.unwrap(), Some(replaced));
    assert!(
        store.load_session("c", now).await.unwrap().is_none(),
        "expired"
    );
    assert_eq!(store.prune_sessions(now).await.unwrap(), 1);

    store.delete_session("b").await.unwrap();
    assert!(store.load_session("b", now).await.unwrap().is_none());
    store
        .save_session(&session("d", Some(&ann), now + 1_000))
        .await
        .unwrap();
    let listed: Vec<String> = store
        .list_user_sessions(&ann.id, now)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id_hash)
        .collect();
    assert_eq!(listed, ["a", "d"], "the live sessions, latest expiry first");
    assert_eq!(store.delete_user_sessions(&ann.id).await.unwrap(), 2);
    assert!(store.load_session("a", now).await.unwrap().is_none());
}
register!(sessions_expire_and_end_everywhere);

async fn two_factor_is_kept_and_recovery_codes_work_once(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Second factor").await;
    let ann = new_user(&*store, "2fa@example.com", Some((&org.id, Role::Member))).await;
    let two_factor = TwoFactor {
        secret: "JBSWY3DPEHPK3PXP".into(),
        recovery_hashes: vec!["h1".into(), "h2".into()],
    };
    store
        .set_two_factor(&ann.id, Some(&two_factor))
        .await
        .unwrap();
    let stored = store.get_user(&ann.id).await.unwrap().unwrap();
    assert_eq!(stored.two_factor.as_ref(), Some(&two_factor));
    assert!(store.use_recovery_code(&ann.id, "h2").await.unwrap());
    assert!(
        !store.use_recovery_code(&ann.id, "h2").await.unwrap(),
        "once"
    );
    assert!(!store.use_recovery_code(&ann.id, "nope").await.unwrap());
    let left = store
        .get_user(&ann.id)
        .await
        .unwrap()
        .unwrap()
        .two_factor
        .unwrap();
    assert_eq!(left.recovery_hashes, vec!["h1".to_string()]);
    store.set_two_factor(&ann.id, None).await.unwrap();
    assert!(
        store
            .get_user(&ann.id)
            .await
            .unwrap()
            .unwrap()
            .two_factor
            .is_none()
    );
    assert!(!store.use_recovery_code(&ann.id, "h1").await.unwrap());

    let membership = store
        .get_membership(&org.id, &ann.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!membership.two_factor_required);
    let require = audit(
        &org.id,
        "organization.twoFactor.require",
        "organization",
        org.id.as_str(),
    );
    store
        .set_two_factor_required(&org.id, true, &require)
        .await
        .unwrap();
    let membership = store
        .get_membership(&org.id, &ann.id)
        .await
        .unwrap()
        .unwrap();
    assert!(membership.two_factor_required);
}
register!(two_factor_is_kept_and_recovery_codes_work_once);
