//! Real client tools from PyPI (pinned, in a virtualenv kept between runs
//! under the target dir), for the suites that check us with other people's
//! code. Without PyPI the caller skips, visibly; under `CI=true` it fails.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The `bin` directory of a virtualenv holding `packages`; `None` when
/// python3 or PyPI is unavailable. `name` keys the virtualenv, so a change
/// of pins should change the name.
pub fn venv(name: &str, packages: &[&str]) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let bin = dir.join("bin");
    let ready = dir.join(".installed");
    if ready.exists() {
        return Some(bin);
    }
    let created = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&dir)
        .status()
        .ok()?;
    if !created.success() {
        return None;
    }
    let installed = Command::new(bin.join("python"))
        .args(["-m", "pip", "install", "--quiet"])
        .args(packages)
        .status()
        .ok()?;
    if !installed.success() {
        return None;
    }
    std::fs::write(&ready, "").ok()?;
    Some(bin)
}

/// What to do when a tool could not be installed: fail under `CI=true`,
/// otherwise say so past the runner's output capture.
pub fn unavailable(what: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("PyPI is unreachable under CI=true: {what} is required");
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {what} (PyPI unreachable or python3 missing)"
    );
}
