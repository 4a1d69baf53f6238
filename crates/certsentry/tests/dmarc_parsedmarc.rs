//! Every sample report, read by us and by parsedmarc (the reference
//! open-source DMARC parser, installed from PyPI in a virtualenv): the
//! reporter, the report id, the message count and the failing count must
//! be equal, and a file parsedmarc refuses must be refused by us too.

mod python;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const PYPI_PACKAGES: [&str; 1] = ["parsedmarc==11.1.0"];

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dmarc/tests/samples")
}

#[test]
fn every_sample_reads_as_parsedmarc_reads_it() {
    let Some(bin) = python::venv("parsedmarc-venv-11.1.0", &PYPI_PACKAGES) else {
        python::unavailable("the parsedmarc comparison");
        return;
    };
    let mut files = Vec::new();
    for dir in ["aggregate", "aggregate_invalid", "smtp_tls"] {
        for entry in std::fs::read_dir(samples_dir().join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files.sort();
    let out = Command::new(bin.join("python"))
        .arg(samples_dir().join("parsedmarc_summary.py"))
        .args(&files)
        .output()
        .expect("parsedmarc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut mismatches = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let mut expected = theirs[name].clone();
        let ours = certsentry_dmarc::testing::summary(&std::fs::read(path).unwrap());
        if expected.get("error").is_some() {
            // parsedmarc refuses it: we must refuse it too.
            if ours.get("error").is_none() {
                mismatches.push(format!(
                    "{name}: parsedmarc refuses it ({expected}), we read {ours}"
                ));
            }
            continue;
        }
        // parsedmarc normalizes the date range to whole hours; we keep it as sent.
        if let Some(fields) = expected.as_object_mut() {
            fields.remove("begin");
            fields.remove("end");
        }
        if ours != expected {
            mismatches.push(format!(
                "{name}:\n  ours       {ours}\n  parsedmarc {expected}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    println!("{} sample files read as parsedmarc reads them", files.len());
}
