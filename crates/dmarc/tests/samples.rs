//! Every sample report file is read, or refused with a specific reason,
//! and what is read equals parsedmarc's reading of the same file (its
//! output is pinned in `samples/parsedmarc.json`, written by
//! `samples/parsedmarc_summary.py`; the `certsentry` crate's
//! `dmarc_parsedmarc` suite runs parsedmarc itself).

use std::path::{Path, PathBuf};

use certsentry_dmarc::{Extracted, Limits, extract};
use serde_json::{Value, json};

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

/// Our reading of one file, in the shape of `parsedmarc.json`.
pub fn summarize(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap();
    match extract(&bytes, &Limits::default()) {
        Ok(found) => match found.as_slice() {
            [Extracted::Aggregate(r)] => json!({
                "kind": "aggregate", "reporter": r.reporter_org, "reportId": r.external_id,
                "messages": r.message_count, "fails": r.fail_count,
            }),
            [Extracted::TlsRpt(_)] => json!({ "kind": "smtp_tls" }),
            other => json!({ "kind": format!("{} reports", other.len()) }),
        },
        Err(e) => json!({ "error": e.to_string() }),
    }
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
        let ours = summarize(path);
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
