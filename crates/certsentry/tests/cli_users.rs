//! People from the command line and the first start, through the real
//! binary: `serve` prints a setup link beside the key; `certsentry user
//! create` with `--password-stdin` makes a user who can sign in at once,
//! and without it prints a one-time set-password link as its last line.

mod common;
mod serve;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::web::Browser;
use reqwest::StatusCode;
use serve::ServeProcess;

fn certsentry(data_dir: &Path, public_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_certsentry"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .args(["--public-url", public_url])
        .env_remove("DATABASE_URL")
        .env_remove("CERTSENTRY_CONFIG")
        .env("CERTSENTRY_LOG", "warn");
    cmd
}

fn org_id(data_dir: &Path, public_url: &str) -> String {
    let out = certsentry(data_dir, public_url)
        .args(["org", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8(out.stdout).unwrap();
    let line = list
        .lines()
        .find(|l| l.contains("default"))
        .expect("the default org");
    line.split_whitespace().next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_start_prints_a_setup_link_and_the_cli_makes_users() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServeProcess::start(dir.path(), &[]).await;
    let base = server.base.clone();
    let setup = server.setup_link.clone().unwrap();
    assert!(setup.contains("/setup/csl_"), "{setup}");
    let path = &setup[setup.find("/setup/").unwrap()..];
    let mut owner = Browser::new(&base);
    assert_eq!(owner.get(path).await.status, StatusCode::OK);
    let org = org_id(dir.path(), &base);

    let mut create = certsentry(dir.path(), &base)
        .args([
            "user",
            "create",
            "--email",
            "Ops@Acme.example",
            "--org",
            &org,
        ])
        .args(["--role", "viewer", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"ops password 1\n")
        .unwrap();
    let made = create.wait_with_output().unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stdout)
    );
    let mut ops = Browser::new(&base);
    ops.sign_in("ops@acme.example", "ops password 1").await;
    assert!(
        ops.get("/monitors")
            .await
            .body
            .contains("ops@acme.example · viewer")
    );

    let out = certsentry(dir.path(), &base)
        .args([
            "user",
            "create",
            "--email",
            "new@acme.example",
            "--org",
            &org,
            "--role",
            "admin",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    let link = stdout.lines().last().unwrap().trim().to_string();
    assert!(
        link.starts_with(&format!("{base}/password/csl_")),
        "{stdout}"
    );
    let mut newcomer = Browser::new(&base);
    let form = newcomer.get(&link).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let set = newcomer
        .post(
            &link,
            &[
                ("csrf_token", &form.csrf()),
                ("password", "admin password"),
                ("confirm", "admin password"),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    assert!(
        newcomer
            .get("/monitors")
            .await
            .body
            .contains("new@acme.example · admin")
    );
    let mut again = Browser::new(&base);
    again.sign_in("new@acme.example", "admin password").await;

    let bad = certsentry(dir.path(), &base)
        .args([
            "user",
            "create",
            "--email",
            "x@acme.example",
            "--org",
            &org,
            "--role",
            "king",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role \"king\""));
    let reset = certsentry(dir.path(), &base)
        .args(["user", "reset-password", "--email", "ops@acme.example"])
        .output()
        .unwrap();
    let reset = String::from_utf8(reset.stdout).unwrap();
    let link = reset.lines().last().unwrap().trim().to_string();
    assert!(
        link.starts_with(&format!("{base}/password/csl_")),
        "{reset}"
    );
    let mut forgetful = Browser::new(&base);
    let form = forgetful.get(&link).await;
    let chosen = forgetful
        .post(
            &link,
            &[
                ("csrf_token", &form.csrf()),
                ("password", "a new one 22"),
                ("confirm", "a new one 22"),
            ],
        )
        .await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.body);
    Browser::new(&base)
        .sign_in("ops@acme.example", "a new one 22")
        .await;

    let members = certsentry(dir.path(), &base)
        .args(["user", "list", "--org", &org])
        .output()
        .unwrap();
    let members = String::from_utf8(members.stdout).unwrap();
    assert!(
        members.contains("ops@acme.example") && members.contains("admin"),
        "{members}"
    );
}
