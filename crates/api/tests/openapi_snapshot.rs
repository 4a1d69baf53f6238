//! The OpenAPI document is generated from code; this pins it so that any
//! drift in the public contract shows up in review.
//! Regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p certsentry-api --test openapi_snapshot`.

use std::path::PathBuf;

#[test]
fn openapi_document_matches_the_snapshot() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    let current = certsentry_api::openapi::document();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &current).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path)
        .expect("snapshot exists; run with UPDATE_SNAPSHOTS=1 to create it");
    assert!(
        stored == current,
        "openapi.json drifted from tests/snapshots/openapi.json; review the change and rerun with UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn every_api_route_is_documented() {
    let doc: serde_json::Value =
        serde_json::from_str(&certsentry_api::openapi::document()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/monitors", "get"),
        ("/api/v1/monitors", "post"),
        ("/api/v1/monitors/{id}", "get"),
        ("/api/v1/monitors/{id}", "patch"),
        ("/api/v1/monitors/{id}", "delete"),
        ("/api/v1/monitors/sync", "put"),
        ("/api/v1/environments", "get"),
        ("/api/v1/status-pages", "post"),
        ("/api/v1/status-pages/{id}", "patch"),
        ("/api/v1/audit-logs", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} undocumented"
        );
    }
    assert!(doc["components"]["schemas"]["MonitorInput"]["properties"]["tcpPort"].is_object());
    assert!(
        doc["components"]["schemas"]["MonitorInput"]["properties"]
            .get("lastStatus")
            .is_none(),
        "read-only fields are not inputs"
    );
}
