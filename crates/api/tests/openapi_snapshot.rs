//! The OpenAPI document is generated from code; an `insta` snapshot pins it
//! so that any drift in the public contract shows up as a diff in review.
//! Review a change with `cargo insta review`, or accept it with
//! `INSTA_UPDATE=always cargo test -p certsentry-api --test openapi_snapshot`.

#[test]
fn openapi_document_matches_the_snapshot() {
    insta::assert_snapshot!("openapi.json", certsentry_api::openapi::document());
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
