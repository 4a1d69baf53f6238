//! The monitor rules, driven through the JSON bodies clients send.

use super::MonitorInput;
use certsentry_domain::monitor::*;
use certsentry_domain::plan::Plans;
use certsentry_domain::{EnvironmentId, FieldErrors};
use serde_json::json;

fn regions() -> Vec<String> {
    vec!["virginia".into(), "dublin".into(), "singapore".into()]
}

fn validate_with(
    json: serde_json::Value,
    plan: &str,
    existing: Option<&MonitorSpec>,
) -> Result<MonitorSpec, MonitorRejection> {
    let input: MonitorInput = serde_json::from_value(json).expect("input parses");
    let plans = Plans::default();
    let regions = regions();
    validate_monitor(
        &input.into(),
        &ValidationContext {
            regions: &regions,
            plan: plans.get(plan).unwrap(),
            allow_private_targets: false,
            existing,
        },
    )
}

fn validate(json: serde_json::Value) -> Result<MonitorSpec, MonitorRejection> {
    validate_with(json, "agency", None)
}

fn field_errors(json: serde_json::Value) -> FieldErrors {
    match validate(json) {
        Err(MonitorRejection::Invalid(errors)) => errors,
        other => panic!("expected field errors, got {other:?}"),
    }
}

fn seed_standard() -> serde_json::Value {
    serde_json::json!({
        "label": "Client: Acme Corp",
        "target": "acme.example.com",
        "checkSsl": true,
        "checkDomain": true,
        "checkDns": false,
        "checkUptime": true,
        "uptimeIntervalSeconds": 300,
        "regions": ["virginia"],
        "alertLeadDays": [30, 14, 7, 3, 1]
    })
}

fn with(mut base: serde_json::Value, key: &str, value: serde_json::Value) -> serde_json::Value {
    base[key] = value;
    base
}

#[test]
fn seed_examples_are_valid() {
    let spec = validate(seed_standard()).unwrap();
    assert_eq!(spec.kind, MonitorKind::Standard);
    assert!(spec.enabled && !spec.check_ct);
    assert_eq!(spec.alert_lead_days, vec![30, 14, 7, 3, 1]);

    let tcp = validate(serde_json::json!({
        "kind": "tcp", "label": "Postgres", "target": "db.acme.example.com",
        "tcpPort": 5432, "uptimeIntervalSeconds": 300, "regions": ["virginia"]
    }))
    .unwrap();
    assert_eq!(tcp.tcp_port, Some(5432));

    let hb = validate(serde_json::json!({
        "kind": "heartbeat", "label": "Nightly backup",
        "heartbeatIntervalSeconds": 86400, "heartbeatGraceSeconds": 3600
    }))
    .unwrap();
    assert_eq!(hb.target, None);
    assert_eq!(hb.heartbeat_grace_seconds, Some(3600));
}

#[test]
fn required_fields_are_reported_together() {
    let errors = field_errors(serde_json::json!({}));
    for field in [
        "label",
        "target",
        "checkSsl",
        "uptimeIntervalSeconds",
        "regions",
        "alertLeadDays",
    ] {
        assert!(errors.get(field).is_some(), "{field} missing from {errors}");
    }
}

#[test]
fn field_rules() {
    let long_label = "x".repeat(101);
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        ("label", serde_json::json!(long_label), "label"),
        (
            "uptimeIntervalSeconds",
            serde_json::json!(120),
            "uptimeIntervalSeconds",
        ),
        ("regions", serde_json::json!(["mars"]), "regions[0]"),
        (
            "regions",
            serde_json::json!(["virginia", "virginia"]),
            "regions[1]",
        ),
        ("alertLeadDays", serde_json::json!([0]), "alertLeadDays[0]"),
        (
            "alertLeadDays",
            serde_json::json!([366]),
            "alertLeadDays[0]",
        ),
        (
            "alertLeadDays",
            serde_json::json!([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
            "alertLeadDays",
        ),
        (
            "httpExpectedStatus",
            serde_json::json!("2xx"),
            "httpExpectedStatus",
        ),
        (
            "httpExpectedStatus",
            serde_json::json!("299-200"),
            "httpExpectedStatus",
        ),
        (
            "degradedThresholdMs",
            serde_json::json!(49),
            "degradedThresholdMs",
        ),
        (
            "degradedThresholdMs",
            serde_json::json!(60001),
            "degradedThresholdMs",
        ),
        ("httpBody", serde_json::json!("x"), "httpBody"),
        (
            "httpKeywordMode",
            serde_json::json!("absent"),
            "httpKeywordMode",
        ),
        (
            "target",
            serde_json::json!("ftp://acme.example.com"),
            "target",
        ),
        (
            "target",
            serde_json::json!("https://user:pw@acme.example.com"),
            "target",
        ),
        ("target", serde_json::json!("127.0.0.1"), "target"),
        (
            "target",
            serde_json::json!("https://169.254.169.254/latest"),
            "target",
        ),
        ("target", serde_json::json!("localhost"), "target"),
        ("tcpPort", serde_json::json!(22), "tcpPort"),
        (
            "heartbeatGraceSeconds",
            serde_json::json!(60),
            "heartbeatGraceSeconds",
        ),
    ];
    for (key, value, expected_field) in cases {
        let errors = field_errors(with(seed_standard(), key, value.clone()));
        assert!(
            errors.get(expected_field).is_some(),
            "{key}={value} should fail at {expected_field}, got {errors}"
        );
    }
}

#[test]
fn private_target_message_names_the_setting() {
    let errors = field_errors(with(
        seed_standard(),
        "target",
        serde_json::json!("10.0.0.5"),
    ));
    let message = errors.get("target").unwrap();
    assert!(
        message.contains("CERTSENTRY_ALLOW_PRIVATE_TARGETS"),
        "{message}"
    );
}

#[test]
fn tcp_rules() {
    let tcp = |port: i64, target: &str| {
        validate(serde_json::json!({
            "kind": "tcp", "label": "db", "target": target, "tcpPort": port,
            "uptimeIntervalSeconds": 60, "regions": ["virginia"]
        }))
    };
    assert!(tcp(5432, "db.example.com").is_ok());
    assert!(tcp(443, "93.184.216.34").is_ok());
    for port in [0, 65536, 25, 465, 587] {
        assert!(tcp(port, "db.example.com").is_err(), "port {port}");
    }
    assert!(tcp(5432, "https://db.example.com").is_err());
    assert!(tcp(5432, "db.example.com:5432").is_err());
}

#[test]
fn headers_are_limited_and_null_keeps_the_stored_value() {
    let headers: Vec<_> = (0..11)
        .map(|i| serde_json::json!({"name": format!("X-H{i}"), "value": "v"}))
        .collect();
    let errors = field_errors(with(
        seed_standard(),
        "httpHeaders",
        serde_json::json!(headers),
    ));
    assert!(errors.get("httpHeaders").is_some());

    let first = validate(with(
        seed_standard(),
        "httpHeaders",
        serde_json::json!([{"name": "Authorization", "value": "Bearer s3cret"}]),
    ))
    .unwrap();
    let kept = validate_with(
        with(
            seed_standard(),
            "httpHeaders",
            serde_json::json!([{"name": "authorization", "value": null}]),
        ),
        "agency",
        Some(&first),
    )
    .unwrap();
    assert_eq!(kept.http_headers[0].value, "Bearer s3cret");

    let errors = field_errors(with(
        seed_standard(),
        "httpHeaders",
        serde_json::json!([{"name": "X-New", "value": null}]),
    ));
    assert!(errors.get("httpHeaders[0].value").is_some(), "{errors}");
}

#[test]
fn plan_limits() {
    let three = with(
        seed_standard(),
        "regions",
        serde_json::json!(["virginia", "dublin"]),
    );
    match validate_with(three, "starter", None) {
        Err(MonitorRejection::PlanLimit(m)) => {
            assert!(m.starts_with("The Starter plan allows 1 region"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    let ct = with(seed_standard(), "checkCt", serde_json::json!(true));
    assert!(matches!(
        validate_with(ct.clone(), "starter", None),
        Err(MonitorRejection::PlanLimit(_))
    ));
    assert!(validate_with(ct, "pro", None).unwrap().check_ct);
}

#[test]
fn plans_set_the_smallest_interval() {
    let every_minute = with(
        seed_standard(),
        "uptimeIntervalSeconds",
        serde_json::json!(60),
    );
    match validate_with(every_minute.clone(), "starter", None) {
        Err(MonitorRejection::PlanLimit(m)) => {
            assert!(
                m.starts_with("The Starter plan's smallest interval is 300 seconds"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(validate_with(every_minute, "pro", None).is_ok());
    let five = with(
        seed_standard(),
        "uptimeIntervalSeconds",
        serde_json::json!(300),
    );
    assert!(validate_with(five.clone(), "starter", None).is_ok());
    assert!(matches!(
        validate_with(five, "free", None),
        Err(MonitorRejection::PlanLimit(m)) if m.contains("86400")
    ));
    let heartbeat = serde_json::json!({
        "kind": "heartbeat", "label": "backup", "heartbeatIntervalSeconds": 60,
        "heartbeatGraceSeconds": 60
    });
    assert!(matches!(
        validate_with(heartbeat, "starter", None),
        Err(MonitorRejection::PlanLimit(_))
    ));
}

#[test]
fn kind_cannot_change_and_environment_follows_tri_state() {
    let mut existing = validate(seed_standard()).unwrap();
    existing.environment_id = Some(EnvironmentId::from_string("cmb1env0000000001"));
    let tcp = serde_json::json!({
        "kind": "tcp", "label": "db", "target": "db.example.com", "tcpPort": 5432,
        "uptimeIntervalSeconds": 60, "regions": ["virginia"]
    });
    match validate_with(tcp, "agency", Some(&existing)) {
        Err(MonitorRejection::Invalid(e)) => assert!(e.get("kind").is_some()),
        other => panic!("{other:?}"),
    }
    let omitted = validate_with(seed_standard(), "agency", Some(&existing)).unwrap();
    assert_eq!(omitted.environment_id, existing.environment_id);
    let cleared = validate_with(
        with(seed_standard(), "environmentId", serde_json::Value::Null),
        "agency",
        Some(&existing),
    )
    .unwrap();
    assert_eq!(cleared.environment_id, None);
}

#[test]
fn echoed_read_only_fields_are_ignored_but_typos_are_not() {
    let echoed = with(seed_standard(), "lastStatus", serde_json::json!("up"));
    assert!(serde_json::from_value::<MonitorInput>(echoed).is_ok());
    let typo = with(seed_standard(), "chekSsl", serde_json::json!(true));
    assert!(serde_json::from_value::<MonitorInput>(typo).is_err());
}

#[test]
fn expected_status_parsing() {
    assert_eq!(parse_expected_status("200-299").unwrap(), vec![(200, 299)]);
    assert_eq!(
        parse_expected_status("200, 301").unwrap(),
        vec![(200, 200), (301, 301)]
    );
    assert!(parse_expected_status("").is_err());
    assert!(parse_expected_status("600").is_err());
}

#[test]
fn numeric_hosts_other_than_dotted_quads_are_refused() {
    for target in [
        "0x7f.1",
        "2130706433",
        "0000000000000000000000",
        "http://0x7f.0.0.1/",
        "https://2130706433:8443/health",
    ] {
        let errors = field_errors(with(seed_standard(), "target", json!(target)));
        assert!(
            errors
                .get("target")
                .is_some_and(|m| m.contains("four decimal numbers")),
            "{target}: {errors:?}"
        );
    }
    // Written plainly, a public address is still fine, bare or in a URL.
    for target in ["93.184.215.14", "https://93.184.215.14:8443/health"] {
        assert!(
            validate(with(seed_standard(), "target", json!(target))).is_ok(),
            "{target}"
        );
    }
}

#[test]
fn whole_numbers_written_with_a_fraction_are_integers() {
    let spec = validate(with(
        with(seed_standard(), "uptimeIntervalSeconds", json!(300.0)),
        "alertLeadDays",
        json!([30.0, 7]),
    ))
    .unwrap();
    assert_eq!(spec.uptime_interval_seconds, Some(300));
    assert_eq!(spec.alert_lead_days, vec![30, 7]);
    let half: Result<MonitorInput, _> =
        serde_json::from_value(with(seed_standard(), "uptimeIntervalSeconds", json!(300.5)));
    assert!(half.unwrap_err().to_string().contains("not a whole number"));
}
