//! The README's first command, as a newcomer runs it: `spotcheck serve` on the embedded
//! defaults prints a one-time admin password once, the admin signs in with it, and the
//! service stops cleanly on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[actix_web::test]
async fn first_start_prints_admin_password_and_admin_can_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(common::bin())
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("SPOTCHECK_DATABASE_URL")
        .env_remove("SPOTCHECK_DATA_DIR")
        .env_remove("SPOTCHECK_CONFIG")
        .env_remove("SPOTCHECK_ADMIN_PASSWORD")
        .env("SPOTCHECK_BIND", format!("127.0.0.1:{port}"))
        .env("SPOTCHECK_RULES_DIR", common::rules::shipped_rules_dir())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain stderr on a thread: an unread pipe fills up and would stall the service's logging.
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr_pipe, &mut s);
        s
    });
    let stdout = child.stdout.take().unwrap();
    let mut password = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.contains("engangspassordet") {
            continue;
        }
        let t = line.trim();
        if t.len() == 20 && t.chars().all(|c| c.is_ascii_alphanumeric()) {
            password = Some(t.to_owned());
            break;
        }
    }
    let password = password.expect("the one-time password is printed on stdout");
    assert!(
        dir.path().join("data/spotcheck.db").is_file(),
        "SQLite file under ./data"
    );

    let app_base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{app_base}/readyz")).send().await
            && r.status() == 200
        {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr_reader.join().unwrap_or_default();
            panic!("service did not become ready within 60 s; its log:\n{stderr}");
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let page = client.get(format!("{app_base}/login")).send().await.unwrap();
    let csrf_cookie = common::cookie_value(&page, "spotcheck_login_csrf").unwrap();
    let field = common::hidden_field(&page.text().await.unwrap(), "csrf_token").unwrap();
    let r = client
        .post(format!("{app_base}/login"))
        .header("Cookie", format!("spotcheck_login_csrf={csrf_cookie}"))
        .form(&[
            ("username", "admin"),
            ("password", password.as_str()),
            ("csrf_token", field.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "admin signs in with the printed password");

    // Graceful shutdown on SIGTERM.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
    let stderr = stderr_reader.join().unwrap();
    assert!(!stderr.contains(&password), "the password never reaches the log");
    assert!(
        stderr.contains("request_id"),
        "each request is logged with its id: {stderr}"
    );
    assert!(!stderr.contains("database is locked"), "{stderr}");
    // What the service wrote (the admin, the sign-in's session) is in the database file
    // itself: a copy of `spotcheck.db` alone, taken after the stop, holds it.
    let wal = dir.path().join("data/spotcheck.db-wal");
    let left = wal.metadata().map(|m| m.len()).unwrap_or(0);
    assert_eq!(left, 0, "{left} bytes of write-ahead log left after the stop");
}
