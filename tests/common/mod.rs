//! Test harness: a real server on a loopback port over a real database, SQLite (a temp
//! file) or PostgreSQL (a fresh schema per test in SPOTCHECK_TEST_DATABASE_URL); and the
//! helpers the tests share: dates, the seeded generator, xlsx registers, the shipped rules.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod dates;
pub mod rng;
pub mod rules;
pub mod smtp;
pub mod workbook;

use std::net::TcpListener;
use std::path::PathBuf;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use spotcheck::app;
use spotcheck::config::Settings;
use spotcheck::db::models::Actor;
use spotcheck::db::{DbConn, DbTarget, Pool};
use spotcheck::domain::roles::{Agency, Role};

pub const ADMIN_PASSWORD: &str = "admin-passord-123";
pub const PASSWORD: &str = "riktig-passord-123";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One test's database. PostgreSQL schemas are dropped when it goes out of scope.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

/// The PostgreSQL server to test against. Asking for it without setting the variable is a
/// test failure, not a skip.
pub fn pg_base_url() -> String {
    match std::env::var("SPOTCHECK_TEST_DATABASE_URL") {
        Ok(u) if !u.trim().is_empty() => u,
        _ => panic!("the PostgreSQL suite was started but SPOTCHECK_TEST_DATABASE_URL is not set"),
    }
}

impl TestDb {
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let path = dir.path().join("spotcheck.db");
                TestDb {
                    url: path.to_string_lossy().into_owned(),
                    backend,
                    dir,
                    pg: None,
                }
            }
            Backend::Postgres => {
                let base = pg_base_url();
                let mut conn = diesel::PgConnection::establish(&base).unwrap_or_else(|e| {
                    panic!("the PostgreSQL suite cannot connect to {base}: {e}. Start PostgreSQL or unset SPOTCHECK_TEST_DATABASE_URL.")
                });
                let mut rnd = [0u8; 6];
                getrandom::fill(&mut rnd).expect("random");
                let schema = format!("t_{}", hex::encode(rnd));
                conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                TestDb {
                    url,
                    backend,
                    dir,
                    pg: Some((base, schema)),
                }
            }
        }
    }

    /// Settings for this database. The rules folder is a copy of the shipped `rules/`, so a
    /// test that replaces rules through the API never touches the repository.
    pub fn settings(&self) -> Settings {
        let rules_dir = self.dir.path().join("rules");
        if !rules_dir.exists() {
            std::fs::create_dir_all(&rules_dir).expect("rules dir");
            let shipped = rules::shipped_rules_dir();
            for entry in std::fs::read_dir(&shipped).expect("read rules/") {
                let path = entry.expect("entry").path();
                if path.is_file() {
                    std::fs::copy(&path, rules_dir.join(path.file_name().expect("name")))
                        .expect("copy rule file");
                }
            }
        }
        Settings {
            data_dir: self.dir.path().join("data"),
            database_url: Some(self.url.clone()),
            rules_dir: Some(rules_dir),
            ..Settings::default()
        }
    }

    pub fn target(&self) -> DbTarget {
        DbTarget::from_url(&self.url)
    }

    /// A direct connection, bypassing the service (to tamper with rows, for instance).
    pub fn raw_conn(&self) -> DbConn {
        match self.backend {
            Backend::Sqlite => {
                DbConn::Sqlite(diesel::SqliteConnection::establish(&self.url).expect("sqlite"))
            }
            Backend::Postgres => DbConn::Postgresql(diesel::PgConnection::establish(&self.url).expect("pg")),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.pg
            && let Ok(mut conn) = diesel::PgConnection::establish(base)
        {
            let _ = conn.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
        }
    }
}

/// Runs the migrations older than `version` (e.g. `"20261206000010"`) and stops there, so a
/// test can store what the code of that time could have stored and then let the service
/// migrate the rest.
pub fn migrate_before(conn: &mut DbConn, version: &str) {
    use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
    fn run_until<DB: diesel::backend::Backend>(
        c: &mut impl MigrationHarness<DB>,
        // The embedded migrations are a constant, not a value to copy: one per call.
        migrations: impl Fn() -> EmbeddedMigrations,
        version: &str,
    ) where
        EmbeddedMigrations: diesel::migration::MigrationSource<DB>,
    {
        while c
            .pending_migrations(migrations())
            .unwrap()
            .first()
            .is_some_and(|m| m.name().version().to_string().as_str() < version)
        {
            c.run_next_migration(migrations()).unwrap();
        }
    }
    match conn {
        DbConn::Sqlite(c) => {
            // As every pooled connection has it, so a rebuild runs under the same checks.
            c.batch_execute("PRAGMA foreign_keys = ON").unwrap();
            run_until(c, || spotcheck::db::SQLITE_MIGRATIONS, version);
        }
        DbConn::Postgresql(c) => run_until(c, || spotcheck::db::POSTGRES_MIGRATIONS, version),
    }
}

/// Reverts the newest migrations, one by one, down to and including `version` (e.g.
/// `"20261207000019"`), to check what a migration's way back restores.
pub fn revert_through(conn: &mut DbConn, version: &str) {
    use diesel_migrations::MigrationHarness;
    loop {
        let reverted = match &mut *conn {
            DbConn::Sqlite(c) => c
                .revert_last_migration(spotcheck::db::SQLITE_MIGRATIONS)
                .unwrap()
                .to_string(),
            DbConn::Postgresql(c) => c
                .revert_last_migration(spotcheck::db::POSTGRES_MIGRATIONS)
                .unwrap()
                .to_string(),
        };
        assert!(reverted.as_str() >= version, "reverted past it: {reverted}");
        if reverted.starts_with(version) {
            break;
        }
    }
}

/// A database (kept for as long as the test holds it) with its pool and Kari, who may import
/// for the whole municipality.
pub fn with_kemner(backend: Backend) -> (TestDb, Pool, spotcheck::db::models::users::User) {
    let db = TestDb::new(backend);
    let pool = app::open_database(&db.settings()).unwrap();
    let kari = spotcheck::service::users::create_hashed(
        &mut pool.get().unwrap(),
        &Actor::system(),
        "kari",
        Role::Kemner,
        None,
        None,
    )
    .unwrap();
    (db, pool, kari)
}

/// A running service on 127.0.0.1:<random port>.
pub struct TestApp {
    pub base: String,
    pub db: TestDb,
    pub pool: Pool,
    pub settings: Settings,
    pub client: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
}

impl TestApp {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts with settings adjusted by `tweak` (e.g. a small upload limit).
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Self {
        let db = TestDb::new(backend);
        let mut settings = db.settings();
        tweak(&mut settings);
        let pool = app::open_database(&settings).expect("open database");
        app::ensure_first_admin(&pool, Some(ADMIN_PASSWORD.into())).expect("first admin");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let rules = app::load_rules(&pool, &settings, &Actor::system()).expect("the shipped rule set loads");
        let rules = std::sync::Arc::new(spotcheck::service::rules::ActiveRules::new(rules));
        let state = actix_web::web::Data::new(spotcheck::web::AppState::new(
            pool.clone(),
            settings.clone(),
            rules,
        ));
        let server = spotcheck::web::server(state, listener, 1).expect("server");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        // Idle connections are dropped after 2 s, before the server's keep-alive of 5 s ends
        // them: a request sent on a connection the server is closing fails with
        // `IncompleteMessage` (seen once, after a test spent seconds between two requests).
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .expect("client");
        TestApp {
            base,
            db,
            pool,
            settings,
            client,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates a user with [`PASSWORD`] directly in the database.
    pub fn add_user(&self, name: &str, role: Role, agency: Option<Agency>) {
        let mut conn = self.pool.get().expect("conn");
        let hash = spotcheck::auth::hash_password(PASSWORD).expect("hash");
        spotcheck::service::users::create_hashed(&mut conn, &Actor::system(), name, role, agency, Some(hash))
            .expect("create user");
    }

    pub fn token_for(&self, name: &str) -> String {
        let mut conn = self.pool.get().expect("conn");
        spotcheck::service::users::create_token(&mut conn, &Actor::system(), name, "test").expect("token")
    }

    /// Signs in through the login form; returns the session cookie value.
    pub async fn login(&self, user: &str, password: &str) -> Result<String, reqwest::Response> {
        let (csrf_cookie, csrf_field) = self.login_csrf().await;
        let resp = self
            .client
            .post(self.url("/login"))
            .header("Cookie", format!("spotcheck_login_csrf={csrf_cookie}"))
            .form(&[
                ("username", user),
                ("password", password),
                ("csrf_token", &csrf_field),
            ])
            .send()
            .await
            .expect("login request");
        match cookie_value(&resp, "spotcheck_session") {
            Some(v) if resp.status() == 303 => Ok(v),
            _ => Err(resp),
        }
    }

    /// Fetches the login page; returns (cookie value, hidden field value).
    pub async fn login_csrf(&self) -> (String, String) {
        let resp = self
            .client
            .get(self.url("/login"))
            .send()
            .await
            .expect("login page");
        let cookie = cookie_value(&resp, "spotcheck_login_csrf").expect("csrf cookie");
        let body = resp.text().await.expect("body");
        (cookie, hidden_field(&body, "csrf_token").expect("csrf field"))
    }

    pub async fn get_with_session(&self, path: &str, session: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("Cookie", format!("spotcheck_session={session}"))
            .send()
            .await
            .expect("request")
    }

    pub async fn api_get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// Uploads a file to `POST /api/v1/imports` with extra form fields.
    pub async fn upload(
        &self,
        token: &str,
        file_name: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()),
        );
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        self.client
            .post(self.url("/api/v1/imports"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("upload")
    }

    /// Row count of a table, straight from the database.
    pub fn count(&self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.pool.get().expect("conn");
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<N>(&mut conn)
            .expect("count")
            .n
    }

    pub fn stop(&self) {
        // Stopping is asynchronous; the test's runtime finishes it when the test returns.
        drop(self.handle.stop(true));
    }
}

pub fn cookie_value(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers().get_all("set-cookie").iter().find_map(|v| {
        let s = v.to_str().ok()?;
        let (pair, _) = s.split_once(';').unwrap_or((s, ""));
        let (k, val) = pair.split_once('=')?;
        (k.trim() == name && !val.is_empty()).then(|| val.to_owned())
    })
}

pub fn set_cookie_header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|s| s.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The text a person reads: the page without its tags (attribute values such as option
/// values, hidden fields and class names are not read), for the "no internal codes" checks.
pub fn visible_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// Path of the built `spotcheck` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_spotcheck"))
}

/// Runs the CLI against a test database; returns (exit ok, stdout, stderr).
pub fn run_cli(db: &TestDb, args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    run_cli_with_stdin(db, args, envs, None)
}

/// [`run_cli`] with `stdin` written to the command's standard input through a pipe.
pub fn run_cli_with_stdin(
    db: &TestDb,
    args: &[&str],
    envs: &[(&str, &str)],
    stdin: Option<&[u8]>,
) -> (bool, String, String) {
    use std::io::Write as _;
    use std::process::Stdio;

    let mut child = std::process::Command::new(bin())
        .args(args)
        .env_remove("SPOTCHECK_CONFIG")
        .env("SPOTCHECK_DATABASE_URL", &db.url)
        .env("SPOTCHECK_DATA_DIR", db.dir.path().join("data"))
        .env("RUST_LOG", "warn")
        .env(
            "SPOTCHECK_RULES_DIR",
            db.settings().rules_dir.expect("rules folder"),
        )
        .envs(envs.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run spotcheck");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        let bytes = bytes.to_vec();
        // Written beside the command, which may read its input only after opening the database.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    let out = child.wait_with_output().expect("wait for spotcheck");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs each listed async test once per backend: `mod sqlite` always, `mod postgres` when
/// SPOTCHECK_TEST_DATABASE_URL was set at build time (otherwise listed as ignored).
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[actix_web::test]
                #[cfg_attr(not(spotcheck_pg_tests), ignore = "PostgreSQL suite off: set SPOTCHECK_TEST_DATABASE_URL")]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            )*
        }
    };
}

/// Bytes of a file under fixtures/.
pub fn fixture(path: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
