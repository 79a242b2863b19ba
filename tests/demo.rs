//! `spotcheck serve --demo`, as a newcomer runs it: the real binary on a fresh data folder
//! seeds the demo, prints one password per demo user, and every demo user signs in and
//! finds content; a second start duplicates nothing and prints new passwords that work; a
//! folder with a real import is refused. The seeding itself also runs on both databases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, TestDb};
use serde_json::Value;
use spotcheck::app;
use spotcheck::db::models::Actor;

const DEMO_USERS: [&str; 6] = [
    "innkjoper",
    "kemner",
    "arbeidstilsynet",
    "arbeidstilsynet2",
    "nav",
    "admin",
];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The environment of a demo run on `dir`: SQLite under `dir/data`, and an SMTP server
/// configured that does not exist, which the demo must ignore (it writes files).
fn demo_command(dir: &Path) -> Command {
    let mut cmd = Command::new(common::bin());
    cmd.current_dir(dir)
        .env_remove("SPOTCHECK_DATABASE_URL")
        .env_remove("SPOTCHECK_CONFIG")
        .env_remove("SPOTCHECK_ADMIN_PASSWORD")
        .env("SPOTCHECK_DATA_DIR", dir.join("data"))
        .env("SPOTCHECK_RULES_DIR", common::rules::shipped_rules_dir())
        .env("SPOTCHECK_SMTP_URL", "smtp://127.0.0.1:9?tls=none")
        .env("RUST_LOG", "warn");
    cmd
}

struct Demo {
    child: Child,
    base: String,
    passwords: BTreeMap<String, String>,
    banner: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

/// A test that fails half-way still stops its service.
impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    /// Starts `serve --demo` on `dir`, reads the printed users and waits until it is ready.
    async fn start(dir: &Path) -> Demo {
        let port = free_port();
        let mut child = demo_command(dir)
            .args(["serve", "--demo"])
            .env("SPOTCHECK_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr_pipe, &mut s);
            s
        });
        let stdout = child.stdout.take().unwrap();
        let mut passwords = BTreeMap::new();
        let mut banner = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            banner.push_str(&line);
            banner.push('\n');
            if let Some(rest) = line.trim().strip_prefix("bruker:") {
                let user = rest.split_whitespace().next().unwrap().to_owned();
                let password = line.rsplit("passord:").next().unwrap().trim().to_owned();
                passwords.insert(user, password);
            }
            if line.contains("Demoen kontakter ikke nettet") {
                break;
            }
        }
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(format!("{base}/readyz")).send().await
                && r.status() == 200
            {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the demo did not become ready; stdout:\n{banner}\nlog:\n{}",
                    stderr.join().unwrap_or_default()
                );
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        Demo {
            child,
            base,
            passwords,
            banner,
            stderr: Some(stderr),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Signs in through the login form; the session cookie, or None when refused.
    async fn login(&self, user: &str, password: &str) -> Option<String> {
        let client = client();
        let page = client.get(self.url("/login")).send().await.unwrap();
        let csrf = common::cookie_value(&page, "spotcheck_login_csrf").unwrap();
        let field = common::hidden_field(&page.text().await.unwrap(), "csrf_token").unwrap();
        let r = client
            .post(self.url("/login"))
            .header("Cookie", format!("spotcheck_login_csrf={csrf}"))
            .form(&[
                ("username", user),
                ("password", password),
                ("csrf_token", field.as_str()),
            ])
            .send()
            .await
            .unwrap();
        (r.status() == 303)
            .then(|| common::cookie_value(&r, "spotcheck_session"))
            .flatten()
    }

    async fn page(&self, path: &str, session: &str) -> String {
        let r = client()
            .get(self.url(path))
            .header("Cookie", format!("spotcheck_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.text().await.unwrap()
    }

    async fn api(&self, path: &str, token: &str) -> Value {
        let r = client()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.json().await.unwrap()
    }

    /// Stops the service (SIGTERM) and returns its log.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.child.wait();
        self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default()
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// An API token for `user`, issued by the CLI on the same data folder.
fn token(dir: &Path, user: &str) -> String {
    let out = demo_command(dir).args(["users", "token", user]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn eml_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
            })
            .count()
        })
        .unwrap_or(0)
}

/// Case counts per status, from the API as Kemneren sees them.
async fn case_statuses(demo: &Demo, token: &str) -> BTreeMap<String, usize> {
    let cases = demo.api("/api/v1/cases?per_page=500", token).await;
    let mut by = BTreeMap::new();
    for c in cases["items"].as_array().unwrap() {
        *by.entry(c["status"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    by
}

#[actix_web::test]
async fn demo_seeds_once_prints_working_passwords_and_every_page_has_content() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(dir.path()).await;
    assert!(
        demo.banner.contains("demoregisteret er lagt inn"),
        "{}",
        demo.banner
    );
    assert!(
        demo.banner.contains(&format!("Åpne {}/login", demo.base)),
        "{}",
        demo.banner
    );
    assert_eq!(
        demo.passwords.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        DEMO_USERS.into_iter().collect::<BTreeSet<_>>(),
        "one line per demo user:\n{}",
        demo.banner
    );
    assert!(
        demo.banner.contains("A-krim-partner (Arbeidstilsynet)"),
        "{}",
        demo.banner
    );

    // Every demo user signs in with the printed password.
    let mut sessions = BTreeMap::new();
    for (user, password) in &demo.passwords {
        let s = demo.login(user, password).await;
        sessions.insert(user.clone(), s.unwrap_or_else(|| panic!("{user} signs in")));
    }

    // The innkjøper owns the import: contracts in several tiers, and the import report.
    let contracts = demo.page("/contracts?per_page=100", &sessions["innkjoper"]).await;
    assert!(contracts.contains("BK-2026-001"), "{contracts}");
    let tiers: BTreeSet<&str> = ["tier-0", "tier-1", "tier-2", "tier-3"]
        .into_iter()
        .filter(|t| contracts.contains(&format!("tier {t}")))
        .collect();
    assert!(tiers.len() >= 3, "contracts in several tiers: {tiers:?}");
    let imports = demo.page("/imports", &sessions["innkjoper"]).await;
    assert!(imports.contains("demo-kontraktsregister.csv"), "{imports}");

    // Kemneren: one published draw, cases in every state, mail sent.
    let kemner = token(dir.path(), "kemner");
    let draws = demo.api("/api/v1/draws", &kemner).await;
    let draws = draws
        .as_array()
        .or_else(|| draws["items"].as_array())
        .unwrap()
        .clone();
    assert_eq!(draws.len(), 1, "{draws:?}");
    let contracts_api = demo.api("/api/v1/contracts?per_page=500", &kemner).await;
    let contracts_total = contracts_api["total"].as_i64().unwrap();
    assert_eq!(contracts_total, 39, "42 rows, 3 refused");
    let statuses = case_statuses(&demo, &kemner).await;
    assert_eq!(statuses.get("under_vurdering"), Some(&2), "{statuses:?}");
    assert_eq!(statuses.get("kontrollert"), Some(&1), "{statuses:?}");
    assert_eq!(statuses.get("lukket"), Some(&1), "{statuses:?}");
    assert!(statuses.get("ny").is_some_and(|n| *n >= 5), "{statuses:?}");
    let cases = demo.api("/api/v1/cases?status=lukket", &kemner).await;
    let closed = &cases["items"][0];
    assert_eq!(closed["outcome"], "henvist_arbeidstilsynet", "{closed}");
    let outbox = demo.api("/api/v1/outbox", &token(dir.path(), "admin")).await;
    let sent = outbox["counts"]["sent"].as_i64().unwrap_or(0);
    assert!(
        sent >= 4,
        "draw notices, high-risk digests and the reminder are sent: {outbox}"
    );
    assert_eq!(outbox["counts"].get("dead"), None, "{outbox}");
    let files = eml_files(&dir.path().join("data/outbox"));
    assert_eq!(files as i64, sent, "each sent message is an .eml file");

    // The Arbeidstilsynet partner sees the closed case with its outcome, and the overdue request.
    let id = closed["id"].as_i64().unwrap();
    let page = demo
        .page(&format!("/cases/{id}"), &sessions["arbeidstilsynet"])
        .await;
    assert!(page.contains("henvist til Arbeidstilsynet"), "{page}");
    let mine = demo
        .api(
            "/api/v1/cases?per_page=500",
            &token(dir.path(), "arbeidstilsynet"),
        )
        .await;
    assert!(mine["total"].as_i64().unwrap() >= 10, "{mine}");
    // The other pages each role opens first have content too.
    let overview = demo.page("/", &sessions["kemner"]).await;
    assert!(
        overview.contains("Trekning 1"),
        "the overview lists the draw: {overview}"
    );
    assert!(!overview.contains("Ingen kontrakter ennå"), "{overview}");
    let overview = demo.page("/", &sessions["innkjoper"]).await;
    assert!(overview.contains("demo-kontraktsregister.csv"), "{overview}");
    let suppliers = demo.page("/suppliers", &sessions["kemner"]).await;
    assert!(suppliers.contains("Bryggen Betong og Mur AS"), "{suppliers}");
    let users = demo.page("/admin/users", &sessions["admin"]).await;
    assert!(users.contains("arbeidstilsynet2"), "{users}");
    let audit = demo.page("/admin/audit", &sessions["admin"]).await;
    assert!(
        audit.contains("Demodata lagt inn"),
        "the seeding is in the log, by name: {audit}"
    );
    assert!(!audit.contains(">demo.seed<"), "no raw action codes: {audit}");
    let nav = demo
        .api("/api/v1/cases?per_page=500", &token(dir.path(), "nav"))
        .await;
    assert!(nav["total"].as_i64().unwrap() >= 1, "NAV has cases shared: {nav}");
    let old = demo.passwords.clone();
    let log = demo.stop();
    assert!(
        !log.contains("127.0.0.1:9"),
        "no attempt to reach the network: {log}"
    );
    for p in sessions.keys() {
        assert!(!log.contains(&format!("passord: {p}")));
    }

    // Again on the same folder: nothing new, new passwords that work, old ones that do not.
    let again = Demo::start(dir.path()).await;
    assert!(again.banner.contains("nye passord"), "{}", again.banner);
    assert_eq!(again.passwords.len(), DEMO_USERS.len(), "{}", again.banner);
    for user in DEMO_USERS {
        assert_ne!(again.passwords[user], old[user], "{user} gets a new password");
        assert!(
            again.login(user, &again.passwords[user]).await.is_some(),
            "{user} signs in"
        );
    }
    assert!(again.login("kemner", &old["kemner"]).await.is_none());
    let draws = again.api("/api/v1/draws", &kemner).await;
    let draws = draws
        .as_array()
        .or_else(|| draws["items"].as_array())
        .unwrap()
        .clone();
    assert_eq!(draws.len(), 1, "no second draw");
    let contracts_api = again.api("/api/v1/contracts?per_page=500", &kemner).await;
    assert_eq!(contracts_api["total"].as_i64().unwrap(), contracts_total);
    assert_eq!(case_statuses(&again, &kemner).await, statuses, "no new cases");
    assert_eq!(eml_files(&dir.path().join("data/outbox")), files, "no new mail");
    again.stop();
}

#[test]
fn demo_refuses_a_folder_with_a_real_import() {
    let dir = tempfile::tempdir().unwrap();
    let register = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/import/register_utf8.csv");
    let out = demo_command(dir.path())
        .args(["import", register.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = demo_command(dir.path())
        .args(["serve", "--demo"])
        .env("SPOTCHECK_BIND", format!("127.0.0.1:{}", free_port()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused with a non-zero exit");
    assert!(
        stderr.contains("databasen inneholder allerede ekte data") && stderr.contains("blandes aldri"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("passord:"));
    assert_eq!(eml_files(&dir.path().join("data/outbox")), 0);
}

/// The seeding itself, called directly, on SQLite and PostgreSQL.
async fn seeding_stores_the_demo_once(backend: Backend) {
    use spotcheck::service::demo::{self, DemoState};
    let db = TestDb::new(backend);
    let settings = demo::demo_settings(db.settings());
    let pool = app::open_database(&settings).unwrap();
    app::ensure_first_admin(&pool, None).unwrap();
    let rules = app::load_rules(&pool, &settings, &Actor::system()).unwrap();
    assert_eq!(demo::state(&mut pool.get().unwrap()).unwrap(), DemoState::Empty);

    let first = demo::run(&pool, &settings, &rules).unwrap();
    assert!(first.seeded);
    assert_eq!(first.users.len(), DEMO_USERS.len());
    let count = |sql: &str| -> i64 {
        use diesel::prelude::*;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql)
            .get_result::<N>(&mut *pool.get().unwrap())
            .unwrap()
            .n
    };
    let snapshot = |count: &dyn Fn(&str) -> i64| {
        [
            "SELECT COUNT(*) AS n FROM contracts",
            "SELECT COUNT(*) AS n FROM draws",
            "SELECT COUNT(*) AS n FROM cases",
            "SELECT COUNT(*) AS n FROM users WHERE username <> 'drift'",
            "SELECT COUNT(*) AS n FROM liaisons",
            "SELECT COUNT(*) AS n FROM outbox",
            "SELECT COUNT(*) AS n FROM cases WHERE status = 'under_vurdering'",
            "SELECT COUNT(*) AS n FROM cases WHERE status = 'kontrollert'",
            "SELECT COUNT(*) AS n FROM cases WHERE status = 'lukket' AND outcome = 'henvist_arbeidstilsynet'",
            "SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent'",
            "SELECT COUNT(DISTINCT tier) AS n FROM contract_risk",
            "SELECT COUNT(*) AS n FROM case_close_proposals",
        ]
        .map(count)
    };
    let before = snapshot(&count);
    assert_eq!(before[0], 39, "contracts");
    assert_eq!(before[1], 1, "one draw");
    assert_eq!(before[3], 6, "the demo users");
    assert_eq!(before[4], 3, "three liaisons");
    assert_eq!(before[6], 2, "under review");
    assert_eq!(before[7], 1, "checked, waiting for the second partner");
    assert_eq!(before[8], 1, "closed with four eyes");
    assert_eq!(before[9], before[5], "every queued message sent once");
    assert!(before[10] >= 3, "several tiers");
    assert_eq!(eml_files(&settings.outbox_dir()) as i64, before[9]);
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'demo.seed'"),
        1
    );
    assert!(count("SELECT COUNT(*) AS n FROM audit_log WHERE actor = 'user:innkjoper'") >= 1);
    assert_eq!(demo::state(&mut pool.get().unwrap()).unwrap(), DemoState::Seeded);
    assert!(matches!(
        spotcheck::service::users::verify_audit(&mut pool.get().unwrap()).unwrap(),
        spotcheck::db::models::audit::ChainStatus::Intact { .. }
    ));

    let second = demo::run(&pool, &settings, &rules).unwrap();
    assert!(!second.seeded);
    assert_eq!(snapshot(&count), before, "nothing is seeded twice");
    for (a, b) in first.users.iter().zip(&second.users) {
        assert_eq!(a.username, b.username);
        assert_ne!(a.password, b.password, "{} gets a new password", a.username);
    }
}

backend_tests!(seeding_stores_the_demo_once);
