//! Conformance cases: agent tokens, region jobs under leases (claimed by
//! one holder at a time, kept in step with the monitors, taken over when a
//! lease runs out), and uploaded results stored once per key.

use certsentry_domain::agent::{MIN_LEASE_MS, RELEASE_GRACE_MS, hash_agent_token, new_agent_token};
use certsentry_domain::check::CheckResult;

use crate::{JobClaim, KeyedResult};

use super::*;

fn in_regions(label: &str, regions: &[&str]) -> MonitorSpec {
    MonitorSpec {
        uptime_interval_seconds: Some(30),
        ..MonitorSpec::standard(
            label,
            &format!("{label}.example"),
            regions.iter().map(|r| r.to_string()).collect(),
        )
    }
}

fn claim<'a>(region: &'a str, holder: &'a str, now: i64, capacity: u32) -> JobClaim<'a> {
    JobClaim {
        region,
        holder,
        now,
        capacity,
        sharers: 1,
    }
}

fn ids(jobs: &crate::HeldJobs) -> Vec<MonitorId> {
    let mut ids: Vec<MonitorId> = jobs.jobs.iter().map(|m| m.id.clone()).collect();
    ids.sort();
    ids
}

async fn agent_tokens_are_found_by_hash_until_revoked(store: Arc<dyn Store>) {
    let (token, plaintext) = new_agent_token("dublin", "dublin-1");
    store.create_agent_token(&token).await.unwrap();
    let found = store
        .find_agent_token(&hash_agent_token(&plaintext))
        .await
        .unwrap()
        .expect("found by its hash");
    assert_eq!(found.region, "dublin");
    store.touch_agent_token(&token.id, 5_000).await.unwrap();
    store.touch_agent_token(&token.id, 4_000).await.unwrap();
    let listed = store.list_agent_tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_seen_at, Some(5_000), "never moves back");
    let revoked = store.revoke_agent_token(&token.id, 9_000).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(9_000));
    assert!(store.find_agent_token(&token.hash).await.unwrap().is_none());
    let unknown = store
        .revoke_agent_token(&certsentry_domain::AgentTokenId::generate(), 1)
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
}
register!(agent_tokens_are_found_by_hash_until_revoked);

async fn jobs_follow_the_monitors_and_leases(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Agents").await;
    let web = add_monitor(&*store, &org.id, in_regions("web", &["dublin", "virginia"])).await;
    let api = add_monitor(&*store, &org.id, in_regions("api", &["dublin"])).await;
    let mut ssl_only = in_regions("certs", &["dublin"]);
    ssl_only.check_uptime = false;
    add_monitor(&*store, &org.id, ssl_only).await;

    let now = 1_000_000;
    let first = store
        .claim_jobs(&claim("dublin", "agent-a", now, 1))
        .await
        .unwrap();
    assert_eq!((first.jobs.len(), first.claimed), (1, 1), "capacity 1");
    let again = store
        .claim_jobs(&claim("dublin", "agent-a", now, 10))
        .await
        .unwrap();
    assert_eq!(again.claimed, 1, "the other dublin job; no SSL-only job");
    assert_eq!(ids(&again), {
        let mut both = vec![web.id.clone(), api.id.clone()];
        both.sort();
        both
    });
    assert_eq!(
        store.region_orgs("dublin").await.unwrap(),
        vec![org.id.clone()]
    );
    assert!(store.region_orgs("mars").await.unwrap().is_empty());
    let other = store
        .claim_jobs(&claim("dublin", "agent-b", now, 10))
        .await
        .unwrap();
    assert!(other.jobs.is_empty(), "held by agent-a");
    let virginia = store
        .claim_jobs(&claim("virginia", "agent-b", now, 10))
        .await
        .unwrap();
    assert_eq!(ids(&virginia), vec![web.id.clone()], "regions are apart");

    // A monitor leaving dublin leaves agent-a's jobs at its next claim.
    let mut moved = web.clone();
    moved.spec.regions = vec!["virginia".into()];
    store
        .update_monitor(
            &moved,
            &audit(&org.id, "monitor.update", "monitor", web.id.as_str()),
        )
        .await
        .unwrap();
    let renewed = store
        .claim_jobs(&claim("dublin", "agent-a", now + 1_000, 10))
        .await
        .unwrap();
    assert_eq!(ids(&renewed), vec![api.id.clone()]);
    assert_eq!(renewed.jobs[0].spec.label, "api", "with its definition");
    let asked = [
        web.id.to_string(),
        api.id.to_string(),
        "cNoSuchMonitor".to_string(),
    ];
    let uploadable = store.region_job_monitors("dublin", &asked).await.unwrap();
    assert_eq!(
        uploadable.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        vec![api.id.clone()],
        "only monitors dublin still checks take dublin's uploads"
    );

    // A lease is renewed once past its half: agent-a's claim at now + 1 s
    // left it alone, one at half a lease renews it.
    let early = store
        .claim_jobs(&claim("dublin", "agent-b", now + MIN_LEASE_MS - 1, 10))
        .await
        .unwrap();
    assert!(early.jobs.is_empty(), "still leased");
    let half = now + MIN_LEASE_MS / 2 + 1;
    store
        .claim_jobs(&claim("dublin", "agent-a", half, 10))
        .await
        .unwrap();
    let renewed_late = store
        .claim_jobs(&claim("dublin", "agent-b", now + MIN_LEASE_MS, 10))
        .await
        .unwrap();
    assert!(renewed_late.jobs.is_empty(), "renewed past its half");
    let late = store
        .claim_jobs(&claim("dublin", "agent-b", half + MIN_LEASE_MS, 10))
        .await
        .unwrap();
    assert_eq!(ids(&late), vec![api.id.clone()], "taken over");
    let back = store
        .claim_jobs(&claim("dublin", "agent-a", half + MIN_LEASE_MS + 1_000, 10))
        .await
        .unwrap();
    assert!(back.jobs.is_empty(), "the old holder lost it");

    delete_monitor(&*store, &org.id, &api.id).await.unwrap();
    let gone = store
        .claim_jobs(&claim("dublin", "agent-b", half + MIN_LEASE_MS + 2_000, 10))
        .await
        .unwrap();
    assert!(gone.jobs.is_empty(), "a deleted monitor is no job");
}
register!(jobs_follow_the_monitors_and_leases);

/// Two nodes claim the same region at once: every job goes to exactly one.
async fn a_job_is_claimed_by_one_holder(store: Arc<dyn Store>, twin: Arc<dyn Store>) {
    let org = new_org(&*store, "Agent race").await;
    let mut made = Vec::new();
    for i in 0..40 {
        made.push(
            add_monitor(
                &*store,
                &org.id,
                in_regions(&format!("m{i}"), &["singapore"]),
            )
            .await
            .id,
        );
    }
    let now = 2_000_000;
    let mut tasks = Vec::new();
    for (i, handle) in [store.clone(), twin.clone(), store.clone(), twin]
        .into_iter()
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            let holder = format!("agent-{i}");
            let mut mine = Vec::new();
            for _ in 0..10 {
                let held = handle
                    .claim_jobs(&claim("singapore", &holder, now, 3))
                    .await
                    .unwrap();
                mine = ids(&held);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort();
    made.sort();
    assert_eq!(all, made, "every job held once, none twice");
}
register!(race: a_job_is_claimed_by_one_holder);

/// A second agent of the region takes its fair share: the first lets its
/// excess go at its next claim, and the newcomer picks it up once the
/// first has had [`RELEASE_GRACE_MS`] to stop checking it.
async fn agents_of_a_region_share_its_jobs(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Sharing").await;
    for i in 0..10 {
        add_monitor(
            &*store,
            &org.id,
            in_regions(&format!("s{i}"), &["virginia"]),
        )
        .await;
    }
    let now = 3_000_000;
    let alone = store
        .claim_jobs(&claim("virginia", "a", now, 100))
        .await
        .unwrap();
    assert_eq!(alone.jobs.len(), 10, "alone, it takes every job");
    let two = |holder| JobClaim {
        sharers: 2,
        ..claim("virginia", holder, now + 1_000, 100)
    };
    let newcomer = store.claim_jobs(&two("b")).await.unwrap();
    assert!(newcomer.jobs.is_empty(), "everything is leased to a");
    let first = store.claim_jobs(&two("a")).await.unwrap();
    assert_eq!(first.jobs.len(), 5, "a keeps its share");
    let newcomer = store.claim_jobs(&two("b")).await.unwrap();
    assert!(
        newcomer.jobs.is_empty(),
        "a may still be checking what it let go a moment ago"
    );
    let after_grace = JobClaim {
        sharers: 2,
        ..claim("virginia", "b", now + 1_000 + RELEASE_GRACE_MS, 100)
    };
    let newcomer = store.claim_jobs(&after_grace).await.unwrap();
    assert_eq!(newcomer.jobs.len(), 5, "b takes what a let go");
    let counts = store
        .held_job_counts(now + 1_000 + RELEASE_GRACE_MS)
        .await
        .unwrap();
    assert_eq!(counts, vec![("a".to_string(), 5), ("b".to_string(), 5)]);
    let mut all = ids(&first);
    all.extend(ids(&newcomer));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 10, "no job twice");
}
register!(agents_of_a_region_share_its_jobs);

async fn uploaded_results_are_stored_once_per_key(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Uploads").await;
    let m = add_monitor(&*store, &org.id, in_regions("web", &["dublin"])).await;
    let result = |at: i64| {
        let mut r = CheckResult::blank(&m, CheckType::Uptime, Some("dublin"));
        r.status = CheckStatus::Ok;
        r.created_at = at;
        r.id = ResultId::generated_at(at);
        r
    };
    let keyed = |key: &str, at: i64| KeyedResult {
        key: key.into(),
        result: result(at),
    };
    let now = now_ms();
    let batch = vec![
        keyed("a", now - 2_000),
        keyed("b", now - 1_000),
        keyed("b", now - 1_000),
    ];
    let first = store
        .record_keyed_results(&batch, now - 86_400_000)
        .await
        .unwrap();
    assert_eq!(
        first,
        vec![true, true, false],
        "a key twice in one batch counts once"
    );
    let retried = vec![keyed("b", now - 1_000), keyed("c", now)];
    let second = store
        .record_keyed_results(&retried, now - 86_400_000)
        .await
        .unwrap();
    assert_eq!(
        second,
        vec![false, true],
        "the retried one is not stored again"
    );
    let query = ResultQuery {
        limit: 100,
        ..Default::default()
    };
    let stored = store.list_results(&org.id, &m.id, &query).await.unwrap();
    assert_eq!(stored.items.len(), 3);

    // The outage rule's states of a whole upload, read at once.
    let guard = crate::AlertGuard {
        monitor_id: m.id.clone(),
        key: "uptime_quorum".into(),
        expected: None,
        next: "{}".into(),
    };
    assert!(store.record_alert(Some(&guard), None, None).await.unwrap());
    let states = store
        .get_alert_states(&[m.id.clone(), MonitorId::generate()], "uptime_quorum")
        .await
        .unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[&m.id], "{}");
}
register!(uploaded_results_are_stored_once_per_key);

/// Server nodes share a monitor's server-side work as agents share a
/// region: a monitor is one `*server` job, claimed by one node.
async fn server_nodes_register_and_share_the_schedule(store: Arc<dyn Store>) {
    use certsentry_domain::agent::SERVER_JOBS;
    let org = new_org(&*store, "Nodes").await;
    let made = add_monitor(&*store, &org.id, in_regions("n", &["dublin"])).await;
    let mut heartbeat = in_regions("beat", &[]);
    heartbeat.kind = MonitorKind::Heartbeat;
    heartbeat.uptime_interval_seconds = None;
    add_monitor(&*store, &org.id, heartbeat).await;
    for (id, at) in [("node-a", 1_000), ("node-b", 2_000), ("node-a", 3_000)] {
        store
            .touch_server_node(&crate::ServerNode {
                id: id.into(),
                started_at: 500,
                last_seen_at: at,
            })
            .await
            .unwrap();
    }
    let before = store.monitors_version().await.unwrap();
    let mut edited = made.clone();
    edited.spec.label = "renamed".into();
    // An edit is stamped now, after every earlier write.
    edited.updated_at = now_ms() + 60_000;
    store
        .update_monitor(
            &edited,
            &audit(&org.id, "monitor.update", "monitor", made.id.as_str()),
        )
        .await
        .unwrap();
    assert_ne!(
        store.monitors_version().await.unwrap(),
        before,
        "an edit shows"
    );
    let nodes = store.list_server_nodes().await.unwrap();
    assert_eq!(
        nodes
            .iter()
            .map(|n| (n.id.as_str(), n.last_seen_at))
            .collect::<Vec<_>>(),
        vec![("node-a", 3_000), ("node-b", 2_000)]
    );
    let a = store
        .claim_jobs(&claim(SERVER_JOBS, "node-a", 10_000, 1000))
        .await
        .unwrap();
    assert_eq!(
        ids(&a),
        vec![made.id.clone()],
        "the heartbeat is passive: no job"
    );
    let b = store
        .claim_jobs(&claim(SERVER_JOBS, "node-b", 10_000, 1000))
        .await
        .unwrap();
    assert!(b.jobs.is_empty(), "held by node-a");
}
register!(server_nodes_register_and_share_the_schedule);

/// One leader at a time: another takes over only after the lease, and
/// every change of holder is a new epoch (the fencing token).
async fn leadership_passes_only_when_its_lease_runs_out(store: Arc<dyn Store>) {
    let a = store.lead("ct", "node-a", 1_000, 30_000).await.unwrap();
    assert_eq!(a, Some(1), "the first term");
    assert_eq!(
        store.lead("ct", "node-b", 2_000, 30_000).await.unwrap(),
        None
    );
    assert_eq!(
        store.lead("ct", "node-a", 20_000, 30_000).await.unwrap(),
        Some(1),
        "renewed: the same term"
    );
    assert_eq!(
        store.lead("ct", "node-b", 49_999, 30_000).await.unwrap(),
        None,
        "node-a's renewal holds until 50,000"
    );
    assert_eq!(
        store.lead("ct", "node-b", 50_000, 30_000).await.unwrap(),
        Some(2),
        "taken over: a new term"
    );
    assert_eq!(
        store.lead("ct", "node-a", 51_000, 30_000).await.unwrap(),
        None,
        "the old leader learns it lost"
    );
    assert_eq!(
        store.lead("other", "node-a", 51_000, 30_000).await.unwrap(),
        Some(1)
    );
}
register!(leadership_passes_only_when_its_lease_runs_out);
