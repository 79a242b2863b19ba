//! The service's shape, as its operators meet it:
//! - the CLI works on a fresh data folder from any directory, with the binary alone (no
//!   checkout, no rules folder, no user created by `serve`);
//! - the rule set lives in the database: a set activated through one instance's API is
//!   picked up by a second instance on the same database without a restart, and that
//!   instance scores with it;
//! - handlers and CLI commands call services: they never touch the pool, the blocking
//!   pool, transactions or the audit model themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, TestApp, bin};
use serde_json::{Value, json};
use spotcheck::domain::roles::Role;

/// Runs the installed binary as an operator would: in `cwd`, on the embedded defaults.
fn spotcheck_in(cwd: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("SPOTCHECK_DATABASE_URL")
        .env_remove("SPOTCHECK_DATA_DIR")
        .env_remove("SPOTCHECK_CONFIG")
        .env_remove("SPOTCHECK_RULES_DIR")
        .env_remove("SPOTCHECK_USER")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel)
}

#[test]
fn cli_works_on_a_fresh_data_folder_from_any_directory() {
    let cwd = tempfile::tempdir().unwrap();
    let register = fixture_path("import/register_nb.xlsx");
    let (ok, out, err) = spotcheck_in(
        cwd.path(),
        &["import", register.to_str().unwrap(), "--format", "json"],
    );
    assert!(ok, "import on a fresh folder: {err}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(report["rows_imported"].as_u64().unwrap() > 0, "{report}");
    assert!(cwd.path().join("data/spotcheck.db").exists());

    // Scored with the embedded default rule set at import; `score` finds nothing new.
    let (ok, out, err) = spotcheck_in(cwd.path(), &["score", "--format", "json"]);
    assert!(ok, "{err}");
    let score: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        score["contracts_recorded"], 0,
        "already scored at import: {score}"
    );
    assert_eq!(score["contracts_assessed"], report["rows_imported"]);

    let (ok, out, err) = spotcheck_in(
        cwd.path(),
        &["draw", "--preview", "--size", "2", "--format", "json"],
    );
    assert!(ok, "draw preview from any folder: {err}");
    let preview: Value = serde_json::from_str(out.trim()).unwrap();
    let sha = preview["manifest_sha256"].as_str().unwrap().to_owned();
    let (ok, out, err) = spotcheck_in(
        cwd.path(),
        &[
            "draw",
            "--seed",
            "fresh folder",
            "--size",
            "2",
            "--expect-sha256",
            &sha,
            "--format",
            "json",
        ],
    );
    assert!(ok, "draw from any folder: {err}");
    let drawn: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(drawn["picks"].as_array().unwrap().len(), 2, "{drawn}");
    assert_eq!(drawn["created_by"], "drift", "the operations user draws: {drawn}");
    let (ok, _, err) = spotcheck_in(cwd.path(), &["verify", &drawn["id"].to_string()]);
    assert!(ok, "{err}");

    // The audit log names the operator for the operations user's creation.
    let (ok, out, _) = spotcheck_in(cwd.path(), &["audit", "tail", "--n", "100"]);
    assert!(ok);
    assert!(
        out.lines()
            .any(|l| l.contains("user.create") && l.contains("cli:") && l.contains("drift")),
        "{out}"
    );

    // The set in force exports as the readable folder it came from.
    let exported = cwd.path().join("exported");
    let (ok, _, err) = spotcheck_in(cwd.path(), &["rules", "export", exported.to_str().unwrap()]);
    assert!(ok, "{err}");
    for name in [
        "industries.toml",
        "indicators.toml",
        "parameters.toml",
        "tiers.toml",
    ] {
        let shipped =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules").join(name)).unwrap();
        assert_eq!(
            std::fs::read_to_string(exported.join(name)).unwrap(),
            shipped,
            "{name}"
        );
    }

    // An edited folder imports as a new version that the next command uses.
    let ind = exported.join("indicators.toml");
    let text = std::fs::read_to_string(&ind).unwrap();
    std::fs::write(&ind, text.replacen("weight = 10", "weight = 13", 1)).unwrap();
    let (ok, out, err) = spotcheck_in(
        cwd.path(),
        &["rules", "import", exported.to_str().unwrap(), "--format", "json"],
    );
    assert!(ok, "{err}");
    let imported: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(imported["activated"], true, "{imported}");
    let (ok, out, err) = spotcheck_in(cwd.path(), &["score", "--format", "json"]);
    assert!(ok, "{err}");
    let rescored: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(rescored["rule_set_version"], imported["version"]);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A second `spotcheck serve` on the same database, with no rules folder: it runs the set
/// the database says is in force, and looks for a new one every second.
struct SecondInstance {
    child: std::process::Child,
    base: String,
}

impl SecondInstance {
    async fn start(app: &TestApp) -> Self {
        let port = free_port();
        let child = Command::new(bin())
            .arg("serve")
            .env_remove("SPOTCHECK_CONFIG")
            .env_remove("SPOTCHECK_RULES_DIR")
            .env("SPOTCHECK_DATABASE_URL", &app.db.url)
            .env("SPOTCHECK_DATA_DIR", app.db.dir.path().join("data2"))
            .env("SPOTCHECK_BIND", format!("127.0.0.1:{port}"))
            .env("SPOTCHECK_RULES_POLL_SECONDS", "1")
            .env("SPOTCHECK_ENRICH_POLL_SECONDS", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            if let Ok(r) = app.client.get(format!("{base}/readyz")).send().await
                && r.status() == 200
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "second instance did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        SecondInstance { child, base }
    }
}

impl Drop for SecondInstance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn register(rows: &[[&str; 4]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["Avtalenr", "Leverandør", "Org.nr", "Kategori"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

async fn a_rule_set_activated_through_one_instance_is_used_by_another(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let kem = app.token_for("kem");
    let second = SecondInstance::start(&app).await;

    let rules_of = |base: String| {
        let client = app.client.clone();
        let kem = kem.clone();
        async move {
            let r = client
                .get(format!("{base}/api/v1/rules"))
                .bearer_auth(kem)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let v1 = rules_of(app.base.clone()).await["version"].clone();
    assert_eq!(rules_of(second.base.clone()).await["version"], v1);

    // Kemneren activates a heavier weight through the first instance's API.
    let files: Vec<Value> = spotcheck::service::rules::default_files()
        .into_iter()
        .map(|(name, text)| {
            let text = if name == "indicators.toml" {
                text.replacen("weight = 10", "weight = 12", 1)
            } else {
                text
            };
            json!({"name": name, "text": text})
        })
        .collect();
    let r = app
        .client
        .put(app.url("/api/v1/rules"))
        .bearer_auth(&kem)
        .json(&json!({"files": files}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v2 = r.json::<Value>().await.unwrap()["version"].clone();
    assert_ne!(v1, v2);

    // The second instance switches without a restart.
    let started = Instant::now();
    loop {
        if rules_of(second.base.clone()).await["version"] == v2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the second instance never picked up the new rule set"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // And scores with it: an upload through the second instance is assessed with v2.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(register(&[["B-1", "Vask AS", "923609016", "Renhold"]]))
            .file_name("b.xlsx"),
    );
    let r = app
        .client
        .post(format!("{}/api/v1/imports", second.base))
        .bearer_auth(&kem)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let page: Value = app
        .client
        .get(format!("{}/api/v1/contracts", second.base))
        .bearer_auth(&kem)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contract_no"] == "B-1")
        .map(|c| c["id"].as_i64().unwrap())
        .expect("B-1 listed");
    let a: Value = app
        .client
        .get(format!("{}/api/v1/contracts/{id}/assessment", second.base))
        .bearer_auth(&kem)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a["current"]["rule_set_version"], v2, "{a}");
}

backend_tests!(a_rule_set_activated_through_one_instance_is_used_by_another);

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn handlers_and_commands_go_through_services() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // What only a service (or the one pool helper) may do.
    let forbidden = [
        "models::audit",
        "audit::append",
        "audit::record",
        "write_tx",
        "transaction(",
        "web::block",
        "pool.get(",
        "pool.clone()",
    ];
    // The one place each layer reaches the pool: `AppState::db`/`pooled` and `Ctx::conn`.
    let allowed: [(&str, &[&str]); 2] = [
        ("web/mod.rs", &["web::block", "pool.clone()", "pool.get("]),
        ("cli/mod.rs", &["pool.get(", "pool.clone()"]),
    ];
    let mut offences = Vec::new();
    for layer in ["web", "cli"] {
        for file in rust_files(&src.join(layer)) {
            let rel = file
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                for f in forbidden {
                    let ok = allowed.iter().any(|(p, pats)| rel == *p && pats.contains(&f));
                    if line.contains(f) && !ok {
                        offences.push(format!("src/{rel}:{}: {}", n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "handlers and commands must call services:\n{}",
        offences.join("\n")
    );
}
