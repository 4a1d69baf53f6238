//! The status page rules, driven through the JSON bodies clients send.

use super::StatusPageInput;
use certsentry_domain::status_page::*;

fn parse(json: serde_json::Value) -> StatusPageDraft {
    serde_json::from_value::<StatusPageInput>(json)
        .unwrap()
        .into()
}

#[test]
fn seed_example_and_defaults() {
    let spec = validate_status_page(
        &parse(serde_json::json!({
            "slug": "acme", "title": "Acme status",
            "monitors": [{ "monitorId": "cmb1xk2lq0001v8d3", "publicLabel": "Website" }]
        })),
        20,
    )
    .unwrap();
    assert!(spec.enabled);
    assert!(!spec.monitors[0].show_target && spec.monitors[0].show_cert_health);
}

#[test]
fn page_rules() {
    let errors = validate_status_page(
        &parse(serde_json::json!({
            "slug": "A", "title": "x".repeat(81), "description": "d".repeat(301), "monitors": []
        })),
        20,
    )
    .unwrap_err();
    for field in ["slug", "title", "description", "monitors"] {
        assert!(errors.get(field).is_some(), "{field}: {errors}");
    }
    let dup = validate_status_page(
        &parse(serde_json::json!({
            "slug": "acme", "title": "t",
            "monitors": [
                { "monitorId": "cmb1xk2lq0001v8d3", "publicLabel": "a" },
                { "monitorId": "cmb1xk2lq0001v8d3", "publicLabel": "b" }
            ]
        })),
        20,
    )
    .unwrap_err();
    assert!(dup.get("monitors[1].monitorId").is_some());
}
