//! Conformance cases: Organizations, API keys and environments.

use super::*;

async fn orgs_round_trip(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    let org = new_org(&*store, "Acme").await;
    assert_eq!(store.get_org(&org.id).await.unwrap(), Some(org.clone()));
    assert_eq!(store.get_org(&OrgId::generate()).await.unwrap(), None);
    assert!(store.list_orgs().await.unwrap().contains(&org));
}
register!(orgs_round_trip);

async fn api_keys_lifecycle(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Keys").await;
    let (key, _plaintext) = new_api_key(&org.id, "ci", true);
    let hash = key.hash.clone();
    store
        .create_api_key(
            &key,
            &audit(&org.id, "apiKey.create", "apiKey", key.id.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(
        store.find_api_key_by_hash(&hash).await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(
        store.find_api_key_by_hash(&"0".repeat(64)).await.unwrap(),
        None
    );
    assert_eq!(
        store.list_api_keys(Some(&org.id)).await.unwrap(),
        vec![key.clone()]
    );

    store
        .touch_api_keys(&[(key.id.clone(), 5_000)])
        .await
        .unwrap();
    store
        .touch_api_keys(&[(key.id.clone(), 4_000)])
        .await
        .unwrap();
    let touched = store.find_api_key_by_hash(&hash).await.unwrap().unwrap();
    assert_eq!(
        touched.last_used_at,
        Some(5_000),
        "last use never goes backwards"
    );

    let revoked = store
        .revoke_api_key(
            &key.id,
            9_000,
            &audit(&org.id, "apiKey.revoke", "apiKey", key.id.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(9_000));
    assert!(matches!(
        store
            .revoke_api_key(
                &key.id,
                9_500,
                &audit(&org.id, "apiKey.revoke", "apiKey", key.id.as_str())
            )
            .await,
        Err(StoreError::NotFound)
    ));
}
register!(api_keys_lifecycle);

async fn environments_detach_monitors(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Envs").await;
    let other = new_org(&*store, "Envs 2").await;
    let env = Environment {
        id: EnvironmentId::generate(),
        org_id: org.id.clone(),
        name: "Production".into(),
        created_at: now_ms(),
    };
    store
        .create_environment(
            &env,
            &audit(
                &org.id,
                "environment.create",
                "environment",
                env.id.as_str(),
            ),
        )
        .await
        .unwrap();
    let dup = Environment {
        id: EnvironmentId::generate(),
        ..env.clone()
    };
    assert!(matches!(
        store
            .create_environment(
                &dup,
                &audit(
                    &org.id,
                    "environment.create",
                    "environment",
                    dup.id.as_str()
                )
            )
            .await,
        Err(StoreError::Conflict("name"))
    ));
    assert_eq!(
        store.list_environments(&org.id).await.unwrap(),
        vec![env.clone()]
    );
    assert_eq!(
        store.get_environment(&other.id, &env.id).await.unwrap(),
        None
    );

    let mut s = spec("in prod", MonitorKind::Standard, None);
    s.environment_id = Some(env.id.clone());
    let m = add_monitor(&*store, &org.id, s).await;
    assert_eq!(
        store
            .get_monitor(&org.id, &m.id)
            .await
            .unwrap()
            .unwrap()
            .spec
            .environment_id,
        Some(env.id.clone())
    );
    store
        .delete_environment(
            &org.id,
            &env.id,
            &audit(
                &org.id,
                "environment.delete",
                "environment",
                env.id.as_str(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .get_monitor(&org.id, &m.id)
            .await
            .unwrap()
            .unwrap()
            .spec
            .environment_id,
        None
    );
    assert!(store.list_environments(&org.id).await.unwrap().is_empty());
}
register!(environments_detach_monitors);
