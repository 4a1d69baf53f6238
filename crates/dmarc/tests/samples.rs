//! Every sample report file is read, or refused with a specific reason,
//! and what is read equals parsedmarc's reading of the same file (its
//! output is pinned in `samples/parsedmarc.json`, written by
//! `samples/parsedmarc_summary.py`; the `certsentry` crate's
//! `dmarc_parsedmarc` suite runs parsedmarc itself).

use std::path::{Path, PathBuf};

use serde_json::Value;

fn samples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samples");
    let mut files = Vec::new();
    for dir in ["aggregate", "aggregate_invalid", "smtp_tls"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files.sort();
    files
}

#[test]
fn every_sample_reads_as_parsedmarc_reads_it() {
    let pinned: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samples/parsedmarc.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut mismatches = Vec::new();
    let files = samples();
    assert!(files.len() >= 24, "the samples are there: {files:?}");
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let ours = certsentry_dmarc::testing::summary(&std::fs::read(path).unwrap());
        let mut theirs = pinned[name].clone();
        if let Some(theirs) = theirs.as_object_mut() {
            theirs.remove("begin");
            theirs.remove("end");
        }
        if ours != theirs {
            mismatches.push(format!("{name}:\n  ours   {ours}\n  theirs {theirs}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
