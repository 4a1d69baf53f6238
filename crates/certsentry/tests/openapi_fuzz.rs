//! The OpenAPI document against the real server, checked by other people's
//! tools: `openapi-spec-validator` reads the document, and `schemathesis`
//! (every check, a fixed seed, including the stateful phase that follows
//! the document's links) sends what the document allows and what it
//! forbids, and fails on any disagreement. The exceptions it allows are
//! listed, with reasons, in `tests/schemathesis/schemathesis.toml`.

mod python;
mod serve;

use std::path::Path;
use std::process::Command;

use serve::ServeProcess;

/// Pinned, so a fixed seed generates the same requests on every run.
const PYPI_PACKAGES: [&str; 2] = ["schemathesis==4.32.5", "openapi-spec-validator==0.9.0"];

/// Quotas lifted so thousands of generated requests meet no plan limit or
/// rate limit: those answers are right, but they are not what is tested.
const UNLIMITED_PLAN: &str = "[plans.agency]\n\
    reads_per_minute = 1000000\n\
    writes_per_minute = 1000000\n\
    max_monitors = 1000000\n\
    max_status_pages = 1000000\n\
    max_dmarc_domains = 1000000\n";

fn run(command: &mut Command) -> String {
    let out = command.output().expect("the tool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{command:?} failed:\n{text}");
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_and_the_document_validates() {
    let Some(bin) = python::venv("openapi-fuzz-venv-st4.32.5", &PYPI_PACKAGES) else {
        python::unavailable("the schemathesis and openapi-spec-validator run");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("certsentry.toml");
    std::fs::write(&config, UNLIMITED_PLAN).unwrap();
    let data = dir.path().join("data");
    // Generated monitors name hosts such as `0.aa`. Where the machine's
    // resolver drops such queries instead of answering, a manual check waits
    // out the probe timeout; a short one keeps every answer well inside the
    // runner's own 10 s request timeout.
    let server = ServeProcess::start(
        &data,
        &[
            ("CERTSENTRY_CONFIG", config.to_str().unwrap()),
            ("CERTSENTRY_PROBE_TIMEOUT", "2"),
        ],
    )
    .await;
    let key = server.key.clone().expect("first start prints a key");
    let document_url = format!("{}/api/v1/openapi.json", server.base);

    let document = reqwest::get(&document_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let document_file = dir.path().join("openapi.json");
    std::fs::write(&document_file, document).unwrap();
    let validated = run(Command::new(bin.join("openapi-spec-validator")).arg(&document_file));
    assert!(validated.contains(": OK"), "{validated}");

    let settings =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis/schemathesis.toml");
    let report = run(Command::new(bin.join("st"))
        .arg("--config-file")
        .arg(&settings)
        .args(["run", &document_url, "--checks", "all", "--seed", "1"])
        .args(["--max-examples", "25"])
        .args(["-H", &format!("Authorization: Bearer {key}")])
        .args(["--no-color"])
        .current_dir(dir.path()));
    // The runner's own summary, for whoever reads the test log.
    let summary = report
        .lines()
        .skip_while(|l| !l.contains("SUMMARY"))
        .collect::<Vec<_>>();
    println!("{}", summary.join("\n"));
    assert!(
        report.contains("✅ Stateful") && report.contains(" passed"),
        "the stateful phase must run and pass:\n{report}"
    );
}
