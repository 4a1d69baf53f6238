//! The dashboard as people use it, on every backend: the first owner
//! through the setup link, an invitation accepted by a viewer who sees no
//! edit buttons and is refused a forged POST, role changes audited with
//! the acting person's email (and streamed as the reference's shape), an
//! API key made in the dashboard and used with the API, and sign-out that
//! ends the session on the server.

mod common;

use certsentry_domain::people::Role;
use common::web::{Browser, signed_in_as};
use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_sets_up_invites_a_viewer_and_every_change_is_audited() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let created = h
            .post(
                "monitors",
                json!({"label": "Acme web", "target": "acme.example", "checkSsl": false,
                       "checkDomain": false, "checkDns": false, "checkUptime": true,
                       "uptimeIntervalSeconds": 300, "regions": ["virginia"], "alertLeadDays": [7]}),
            )
            .await;
        assert_eq!(created.status, 201, "[{backend}] {}", created.body);

        // First start: the setup link makes its first user the owner.
        let base = h.server.url("");
        let setup = certsentry_web::dashboard::setup_link_if_needed(&*h.store, &base)
            .await
            .unwrap()
            .expect("no user yet, so a setup link");
        let mut owner = Browser::new(&base);
        let form = owner.get(&setup).await;
        assert_eq!(form.status, StatusCode::OK, "[{backend}] {}", form.body);
        let short = owner
            .post(
                &setup,
                &[
                    ("csrf_token", &form.csrf()),
                    ("email", "owner@acme.example"),
                    ("password", "short"),
                    ("confirm", "short"),
                ],
            )
            .await;
        assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            short.body.contains("at least 10 characters"),
            "{}",
            short.body
        );
        let made = owner
            .post(
                &setup,
                &[
                    ("csrf_token", &form.csrf()),
                    ("email", "Owner@Acme.example"),
                    ("password", "owner password 1"),
                    ("confirm", "owner password 1"),
                ],
            )
            .await;
        assert_eq!(
            made.status,
            StatusCode::SEE_OTHER,
            "[{backend}] {}",
            made.body
        );
        let list = owner.get("/monitors").await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.body.contains("Acme web"), "{}", list.body);
        assert!(list.body.contains("owner@acme.example · owner"));
        assert_eq!(
            Browser::new(&base).get(&setup).await.status,
            StatusCode::NOT_FOUND,
            "the setup link works once"
        );
        assert!(
            certsentry_web::dashboard::setup_link_if_needed(&*h.store, &base)
                .await
                .unwrap()
                .is_none(),
            "no new setup link once someone can sign in"
        );

        // An invitation, accepted by a new person who becomes a viewer.
        let members = owner.get("/settings/members").await;
        let invited = owner
            .post(
                "/settings/members/invite",
                &[
                    ("csrf_token", &members.csrf()),
                    ("email", "viewer@acme.example"),
                    ("role", "viewer"),
                ],
            )
            .await;
        assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
        let link = invited
            .value_starting(&format!("{base}/join/"))
            .expect("the invitation link is shown once");
        let mut viewer = Browser::new(&base);
        let join = viewer.get(&link).await;
        assert!(join.body.contains("as viewer"), "{}", join.body);
        let joined = viewer
            .post(
                &link,
                &[
                    ("csrf_token", &join.csrf()),
                    ("password", "viewer password"),
                    ("confirm", "viewer password"),
                ],
            )
            .await;
        assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
        let seen = viewer.get("/settings/api-keys").await;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(
            !seen.body.contains("Create key"),
            "a viewer sees no edit buttons"
        );
        assert!(
            !viewer
                .get("/settings/members")
                .await
                .body
                .contains("Change role")
        );
        let forged = viewer
            .post(
                "/settings/api-keys",
                &[("csrf_token", &seen.csrf()), ("name", "mine")],
            )
            .await;
        assert_eq!(
            forged.status,
            StatusCode::FORBIDDEN,
            "a viewer's forged POST"
        );
        assert_eq!(
            Browser::new(&base).get(&link).await.status,
            StatusCode::NOT_FOUND
        );

        // The owner promotes the viewer: audited with before/after and the
        // owner's email.
        let viewer_id = h
            .store
            .find_user_by_email("viewer@acme.example")
            .await
            .unwrap()
            .unwrap()
            .id;
        let members = owner.get("/settings/members").await;
        let changed = owner
            .post(
                &format!("/settings/members/{viewer_id}/role"),
                &[("csrf_token", &members.csrf()), ("role", "member")],
            )
            .await;
        assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
        let audit = h.get("audit-logs?targetType=member").await;
        let entries = audit.body["auditLogs"].as_array().unwrap();
        let change = entries
            .iter()
            .find(|e| e["action"] == "member.role.change")
            .expect("the role change is audited");
        assert_eq!(change["actorEmail"], "owner@acme.example");
        assert_eq!(change["targetId"], viewer_id.as_str());
        assert_eq!(
            change["metadata"],
            json!({"role": {"before": "viewer", "after": "member"}})
        );
        let actions: Vec<&str> = entries
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for action in ["member.join", "member.invite", "member.role.change"] {
            assert!(actions.contains(&action), "{action} in {actions:?}");
        }
        let join_entry = entries
            .iter()
            .find(|e| e["action"] == "member.join" && e["actorEmail"] == "viewer@acme.example");
        assert!(
            join_entry.is_some(),
            "the viewer's join, by the viewer: {entries:?}"
        );

        // The last owner cannot leave the organization without an owner.
        let owner_id = h
            .store
            .find_user_by_email("owner@acme.example")
            .await
            .unwrap()
            .unwrap()
            .id;
        let demote = owner
            .post(
                &format!("/settings/members/{owner_id}/role"),
                &[("csrf_token", &members.csrf()), ("role", "admin")],
            )
            .await;
        assert_eq!(demote.status, StatusCode::CONFLICT);
        assert!(
            demote.body.contains("at least one owner"),
            "{}",
            demote.body
        );

        // An API key made in the dashboard works with the API.
        let keys = owner.get("/settings/api-keys").await;
        let made = owner
            .post(
                "/settings/api-keys",
                &[("csrf_token", &keys.csrf()), ("name", "deploys")],
            )
            .await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.body);
        let key = made.value_starting("csk_").expect("the key is shown once");
        let listed = h
            .request_with(reqwest::Method::GET, "monitors", Some(&key), None)
            .await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert!(
            !owner.get("/settings/api-keys").await.body.contains(&key),
            "shown once"
        );
        let audit = h.get("audit-logs?action=apiKey.create").await;
        assert_eq!(
            audit.body["auditLogs"][0]["actorEmail"],
            "owner@acme.example"
        );

        // Signing out ends the session on the server: the old cookie is dead.
        let stolen = owner.session_id().unwrap().to_string();
        let page = owner.get("/account").await;
        let out = owner.post("/logout", &[("csrf_token", &page.csrf())]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        let replay = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(h.server.url("/monitors"))
            .header("cookie", format!("certsentry_session={stolen}"))
            .send()
            .await
            .unwrap();
        assert_eq!(replay.status(), StatusCode::SEE_OTHER);
        assert_eq!(replay.headers()["location"], "/login");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_the_sessions_token_and_our_origin() {
    let (backend, store) = backends().await.remove(0);
    let h = Harness::start(backend, store, "agency", |_| {}).await;
    let mut admin = signed_in_as(&h, "admin@acme.example", Role::Admin).await;
    let page = admin.get("/settings/api-keys").await;
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(page.headers["x-frame-options"], "DENY");
    let csrf = page.csrf();

    let missing = admin.post("/settings/api-keys", &[("name", "a")]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = admin
        .post(
            "/settings/api-keys",
            &[("csrf_token", "not-the-token"), ("name", "a")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let foreign = admin
        .post_with(
            "/settings/api-keys",
            &[("csrf_token", &csrf), ("name", "a")],
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(
        foreign.status,
        StatusCode::FORBIDDEN,
        "a valid token from another origin"
    );
    let cross_site = admin
        .post_with(
            "/settings/api-keys",
            &[("csrf_token", &csrf), ("name", "a")],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    let ours = admin
        .post_with(
            "/settings/api-keys",
            &[("csrf_token", &csrf), ("name", "a")],
            &[("origin", &h.server.url("")[..h.server.url("").len()])],
        )
        .await;
    assert_eq!(ours.status, StatusCode::OK, "{}", ours.body);
    let keys = h.store.list_api_keys(Some(&h.org)).await.unwrap();
    assert_eq!(
        keys.iter().filter(|k| k.name == "a").count(),
        1,
        "only the good one"
    );

    // The sign-in form is protected the same way.
    let mut stranger = Browser::new(&h.server.url(""));
    let login = stranger.get("/login").await;
    let refused = stranger
        .post_with(
            "/login",
            &[
                ("csrf_token", &login.csrf()),
                ("email", "admin@acme.example"),
                ("password", "admin password"),
            ],
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

/// Account → Sessions lists where one is signed in (this session first,
/// with its browser), ends another session on the server, refuses to end
/// someone else's, and ending this one signs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_and_ended_one_by_one() {
    let (backend, store) = backends().await.remove(0);
    let h = Harness::start(backend, store, "agency", |_| {}).await;
    let mut laptop = signed_in_as(&h, "ann@acme.example", Role::Member).await;
    let mut phone = Browser::new(&h.server.url(""));
    phone.sign_in("ann@acme.example", "a password 1").await;
    let seen = phone
        .get_with("/account", &[("user-agent", "PhoneBrowser/1.0 (test)")])
        .await;
    assert_eq!(seen.status, StatusCode::OK);
    let mut other = signed_in_as(&h, "bob@acme.example", Role::Member).await;
    let bob_page = other.get("/account/sessions").await;

    let list = laptop.get("/account/sessions").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(
        list.body.matches("name=\"session\"").count(),
        2,
        "{}",
        list.body
    );
    assert!(
        list.body.contains("PhoneBrowser/1.0 (test)"),
        "{}",
        list.body
    );
    let this = list
        .body
        .find("(this session)")
        .expect("this one is marked");
    let phone_handle = {
        let at = list.body.find("PhoneBrowser").unwrap();
        assert!(this < at, "this session first");
        let rest = &list.body[at..];
        let marker = "name=\"session\" value=\"";
        let start = rest.find(marker).unwrap() + marker.len();
        rest[start..start + 64].to_string()
    };
    let csrf = list.csrf();

    let bob_handle = bob_page
        .body
        .split("name=\"session\" value=\"")
        .nth(1)
        .unwrap()[..64]
        .to_string();
    let foreign = laptop
        .post(
            "/account/sessions/end",
            &[("csrf_token", &csrf), ("session", &bob_handle)],
        )
        .await;
    assert_eq!(
        foreign.status,
        StatusCode::NOT_FOUND,
        "not one's own session"
    );
    assert_eq!(
        other.get("/account").await.status,
        StatusCode::OK,
        "bob stays in"
    );

    let ended = laptop
        .post(
            "/account/sessions/end",
            &[("csrf_token", &csrf), ("session", &phone_handle)],
        )
        .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    let phone_after = phone.get("/account").await;
    assert_eq!(
        phone_after.status,
        StatusCode::SEE_OTHER,
        "the phone is signed out"
    );
    assert!(phone_after.location().unwrap().starts_with("/login"));

    let list = laptop.get("/account/sessions").await;
    assert_eq!(list.body.matches("name=\"session\"").count(), 1);
    let own = list.body.split("name=\"session\" value=\"").nth(1).unwrap()[..64].to_string();
    let out = laptop
        .post(
            "/account/sessions/end",
            &[("csrf_token", &list.csrf()), ("session", &own)],
        )
        .await;
    assert_eq!(out.location(), Some("/login"));
    assert_eq!(laptop.get("/account").await.status, StatusCode::SEE_OTHER);
}
