//! The OpenAPI document is generated from code; an `insta` snapshot pins it
//! so that any drift in the public contract shows up as a diff in review.
//! Review a change with `cargo insta review`, or accept it with
//! `INSTA_UPDATE=always cargo test -p certsentry-api --test openapi_snapshot`.

#[test]
fn openapi_document_matches_the_snapshot() {
    insta::assert_snapshot!("openapi.json", certsentry_api::openapi::document());
}

/// `(path, method)` of every route the API modules register under
/// `/api/v1`, read from their `router()` source: each route is written with
/// its whole path (the heartbeat pings and the root's own routes are not
/// part of the documented API). A module's tests, after its `#[cfg(test)]`,
/// may build routers of their own, and are not read.
fn routed_operations() -> std::collections::BTreeSet<(String, String)> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut routes = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let mut path = entry.unwrap().path();
        // A module with submodules keeps its router in `mod.rs`.
        if path.is_dir() {
            path = path.join("mod.rs");
            if !path.exists() {
                continue;
            }
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".rs") || name == "lib.rs" || name == "heartbeat.rs" {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let text = source.split("#[cfg(test)]").next().unwrap_or_default();
        for (at, _) in text.match_indices(".route(") {
            // The call's text, up to its closing parenthesis.
            let mut depth = 0;
            let call: String = text[at + ".route".len()..]
                .chars()
                .take_while(|c| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth > 0
                })
                .collect();
            let route = call.split('"').nth(1).expect("a route path literal");
            for method in ["get", "post", "put", "patch", "delete"] {
                let called = call.match_indices(&format!("{method}(")).any(|(i, _)| {
                    !call[..i]
                        .chars()
                        .last()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                // Routes are written with their whole path (the API's
                // under `/api/v1`, the agents' protocol under `/agent/v1`).
                if called {
                    routes.insert((route.to_string(), method.to_string()));
                }
            }
        }
    }
    routes
}

#[test]
fn every_api_route_is_documented_and_every_documented_path_is_routed() {
    let doc: serde_json::Value =
        serde_json::from_str(&certsentry_api::openapi::document()).unwrap();
    let documented: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .unwrap()
                .keys()
                .map(|method| (path.clone(), method.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let routed = routed_operations();
    assert!(routed.len() >= 30, "the routes were read: {routed:?}");
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routed but not documented: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["TcpMonitorInput"]["properties"]["tcpPort"]["type"] == "integer");
    assert!(
        schemas["StandardMonitorInput"]["properties"]
            .get("lastStatus")
            .is_none(),
        "read-only fields are not inputs"
    );
}

#[test]
fn every_operation_documents_the_shared_answers() {
    let doc: serde_json::Value =
        serde_json::from_str(&certsentry_api::openapi::document()).unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    let mut ids = std::collections::BTreeSet::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            assert!(
                operation.get("parameters").is_none_or(|p| p.is_array()),
                "{method} {path}: parameters must be a list when present"
            );
            let responses = &operation["responses"];
            let id = operation["operationId"].as_str().unwrap().to_string();
            assert!(ids.insert(id.clone()), "operationId {id} is used twice");
            if path.starts_with("/agent/") {
                // The agents' protocol: its own token, no key's rate limit.
                assert_eq!(
                    operation["security"][0]["agentToken"],
                    serde_json::json!([])
                );
                for status in ["401", "403"] {
                    assert!(
                        responses.get(status).is_some(),
                        "{method} {path}: no {status}"
                    );
                }
                continue;
            }
            for status in ["401", "403", "429", "503"] {
                assert!(
                    responses.get(status).is_some(),
                    "{method} {path}: no {status}"
                );
            }
            assert!(responses["429"]["headers"].get("Retry-After").is_some());
            assert_eq!(
                operation["security"][0]["bearerAuth"],
                serde_json::json!([])
            );
        }
    }
    let created = &doc["paths"]["/api/v1/monitors"]["post"]["responses"]["201"]["links"];
    assert_eq!(
        created["getMonitorsId"]["parameters"]["id"],
        "$response.body#/monitor/id"
    );
}

/// The request bodies are discriminated the way the server validates them:
/// the monitor's kind and the channel's type decide what is required.
#[test]
fn bodies_are_discriminated_by_kind_and_type() {
    let doc: serde_json::Value =
        serde_json::from_str(&certsentry_api::openapi::document()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let required = |name: &str| -> Vec<String> {
        serde_json::from_value(schemas[name]["required"].clone()).unwrap()
    };
    assert_eq!(
        schemas["MonitorInput"]["oneOf"].as_array().unwrap().len(),
        3
    );
    assert!(required("StandardMonitorInput").contains(&"checkSsl".to_string()));
    assert!(required("TcpMonitorInput").contains(&"tcpPort".to_string()));
    assert!(required("HeartbeatMonitorInput").contains(&"heartbeatGraceSeconds".to_string()));
    assert!(!required("TcpMonitorUpdate").contains(&"kind".to_string()));
    assert!(required("TcpMonitorSyncItem").contains(&"externalId".to_string()));
    assert_eq!(
        schemas["StandardMonitorInput"]["properties"]["regions"]["items"]["enum"],
        serde_json::json!(["virginia", "dublin", "singapore"])
    );
    assert!(required("WebhookChannelInput").contains(&"url".to_string()));
    assert!(required("EmailChannelInput").contains(&"smtp".to_string()));
    assert_eq!(
        doc["paths"]["/api/v1/notification-channels"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/ChannelInput"
    );
    assert_eq!(
        doc["paths"]["/api/v1/monitors/{id}"]["patch"]["requestBody"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/MonitorUpdate"
    );
    assert_eq!(
        schemas["KnownCertificateInput"]["oneOf"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}
