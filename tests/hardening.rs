//! Issue 16, "close the holes found by trying to break the service", over the real HTTP
//! stack on SQLite and PostgreSQL: a condition nested 20 000 levels deep is a rule error
//! (not a stack overflow that aborts the process), paging out of range is a 400 (not a
//! wrapped offset), the last administrator stays, and only A-krim partners have an agency.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ADMIN_PASSWORD, Backend, PASSWORD, TestApp, hidden_field, run_cli};
use spotcheck::domain::roles::Role;

fn shipped_rule_files() -> Vec<serde_json::Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut files: Vec<serde_json::Value> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            serde_json::json!({
                "name": p.file_name().unwrap().to_string_lossy(),
                "text": std::fs::read_to_string(&p).unwrap(),
            })
        })
        .collect();
    files.sort_by_key(|f| f["name"].as_str().unwrap().to_owned());
    files
}

async fn deeply_nested_condition_is_a_rule_error_and_the_server_lives(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let token = app.token_for("kem");
    // One comparison inside 20 000 parentheses, on line 8 of its own file.
    let n = 20_000;
    let text = format!(
        "# Et vilkår som prøver å velte tjenesten.\n\
         [[indicator]]\n\
         id = \"dyp\"\n\
         title = \"Dyp\"\n\
         weight = 1\n\
         why = \"x\"\n\
         source = \"x\"\n\
         condition = '''{}contract.value_nok > 1{}'''\n",
        "(".repeat(n),
        ")".repeat(n)
    );
    assert!(text.len() > 40_000);
    let mut files = shipped_rule_files();
    files.push(serde_json::json!({"name": "zz_dyp.toml", "text": text}));
    let r = app
        .client
        .post(app.url("/api/v1/rules/validate"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "files": files }))
        .send()
        .await
        .expect("the server answers instead of aborting");
    assert_eq!(r.status(), 422);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["type"], "urn:spotcheck:problem:invalid-rules");
    let errors = p["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{p}");
    assert_eq!(errors[0]["file"], "zz_dyp.toml");
    assert_eq!(errors[0]["line"], 8);
    assert_eq!(errors[0]["rule"], "dyp");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.contains("nøstet for dypt"), "{message}");
    assert!(message.contains("64"), "{message}");

    // The same through PUT /rules: refused, the active set stays.
    let before: serde_json::Value = app.api_get("/api/v1/rules", &token).await.json().await.unwrap();
    let r = app
        .client
        .put(app.url("/api/v1/rules"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "files": files }))
        .send()
        .await
        .expect("the server answers instead of aborting");
    assert_eq!(r.status(), 422);
    let after: serde_json::Value = app.api_get("/api/v1/rules", &token).await.json().await.unwrap();
    assert_eq!(before["version"], after["version"]);

    // And it is still there.
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    app.stop();
}

async fn deeply_nested_toml_is_a_rule_error(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let token = app.token_for("kem");
    let n = 20_000;
    let keys = vec!["a"; n].join(".");
    for text in [
        format!("\n[[indicator]]\nid = {}1{}\n", "[".repeat(n), "]".repeat(n)),
        format!(
            "\n[[indicator]]\nid = {}1{}\n",
            "{ a = ".repeat(n),
            " }".repeat(n)
        ),
        format!("\n[{keys}]\nb = 1\n"),
    ] {
        let mut files = shipped_rule_files();
        files.push(serde_json::json!({"name": "zz_dyp.toml", "text": text}));
        let r = app
            .client
            .post(app.url("/api/v1/rules/validate"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "files": files }))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(r.status(), 422);
        let p: serde_json::Value = r.json().await.unwrap();
        let errors = p["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["file"] == "zz_dyp.toml"
                    && e["message"].as_str().unwrap().contains("nøstet for dypt")),
            "{p}"
        );
    }
    assert_eq!(
        app.client.get(app.url("/healthz")).send().await.unwrap().status(),
        200
    );
    app.stop();
}

/// A writer that waits longer than the configured wait for another (a large import holding
/// the write lock) gets 503 with `Retry-After`, never 500; nothing is stored, and the same
/// request succeeds once the lock is free.
async fn a_busy_database_answers_503_with_retry_after(backend: Backend) {
    use diesel::connection::SimpleConnection;
    let app = TestApp::start_with(backend, |s| s.db_busy_timeout_ms = 300).await;
    app.add_user("kari", Role::Kemner, None);
    let token = app.token_for("kari");
    let body = serde_json::json!({"name": "Ola", "agency": "nav", "email": "ola@nav.test", "notices": ["draw_published"]});
    let post = || {
        app.client
            .post(app.url("/api/v1/liaisons"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    // Another writer holds the write lock, as an import does while it stores.
    let mut holder = app.db.raw_conn();
    match backend {
        Backend::Sqlite => holder.batch_execute("BEGIN IMMEDIATE").unwrap(),
        Backend::Postgres => holder.batch_execute("SELECT pg_advisory_lock(7270002)").unwrap(),
    }
    let started = std::time::Instant::now();
    let r = post().await.unwrap();
    assert_eq!(r.status(), 503, "{}", r.text().await.unwrap());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "answered after the short wait"
    );
    let r = post().await.unwrap();
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("2")
    );
    let problem: serde_json::Value = r.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("busy"), "{problem}");
    // A sign-in on the page gets the Norwegian page, also 503.
    let (csrf_cookie, csrf_field) = app.login_csrf().await;
    let r = app
        .client
        .post(app.url("/login"))
        .header("Cookie", format!("spotcheck_login_csrf={csrf_cookie}"))
        .form(&[
            ("csrf_token", csrf_field.as_str()),
            ("username", "kari"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("Databasen er opptatt"));
    match backend {
        Backend::Sqlite => holder.batch_execute("ROLLBACK").unwrap(),
        Backend::Postgres => holder
            .batch_execute("SELECT pg_advisory_unlock(7270002)")
            .unwrap(),
    }
    assert_eq!(app.count("liaisons"), 0, "nothing stored while busy");
    assert_eq!(post().await.unwrap().status(), 201);
    app.stop();
}

async fn paging_out_of_range_is_a_bad_request(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let token = app.token_for("kem");
    let max = i64::MAX.to_string();
    let min = i64::MIN.to_string();
    for query in [
        format!("page={max}"),
        format!("page={max}&per_page={max}"),
        format!("per_page={max}"),
        format!("page={min}"),
        "page=0".into(),
        "page=-1".into(),
        "per_page=0".into(),
        "per_page=-100".into(),
        "per_page=501".into(),
        "page=1000001".into(),
        "page=92233720368547758&per_page=100".into(),
    ] {
        for path in ["/api/v1/contracts", "/api/v1/suppliers"] {
            let r = app.api_get(&format!("{path}?{query}"), &token).await;
            assert_eq!(r.status(), 400, "{path}?{query}");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            let p: serde_json::Value = r.json().await.unwrap();
            assert_eq!(p["type"], "urn:spotcheck:problem:bad-request");
            let detail = p["detail"].as_str().unwrap();
            assert!(detail.contains("out of range"), "{path}?{query}: {detail}");
        }
    }
    // In range is fine, also far past the last page (an empty page, not an error).
    for query in [
        "",
        "page=1",
        "page=2&per_page=500",
        "page=1000000&per_page=500",
        "per_page=1",
    ] {
        let r = app.api_get(&format!("/api/v1/contracts?{query}"), &token).await;
        assert_eq!(r.status(), 200, "{query}");
        let page: serde_json::Value = r.json().await.unwrap();
        assert_eq!(page["items"], serde_json::json!([]), "{query}");
        let r = app.api_get(&format!("/api/v1/suppliers?{query}"), &token).await;
        assert_eq!(r.status(), 200, "{query}");
    }

    // The contracts page answers with the Norwegian error page.
    let session = app.login("kem", PASSWORD).await.unwrap();
    for query in [
        format!("page={max}"),
        "page=0".into(),
        "page=-3".into(),
        format!("page={min}"),
    ] {
        let r = app
            .get_with_session(&format!("/contracts?{query}"), &session)
            .await;
        assert_eq!(r.status(), 400, "{query}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let body = r.text().await.unwrap();
        assert!(body.contains("ugyldig sidenummer"), "{query}: {body}");
    }
    let r = app.get_with_session("/contracts?page=2", &session).await;
    assert_eq!(r.status(), 200);
    app.stop();
}

async fn put_role(app: &TestApp, token: &str, user: &str, body: serde_json::Value) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/v1/users/{user}/role")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn put_disabled(app: &TestApp, token: &str, user: &str, disabled: bool) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/v1/users/{user}/disabled")))
        .bearer_auth(token)
        .json(&serde_json::json!({ "disabled": disabled }))
        .send()
        .await
        .unwrap()
}

async fn role_of(app: &TestApp, token: &str, user: &str) -> String {
    let list: serde_json::Value = app.api_get("/api/v1/users", token).await.json().await.unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == user)
        .map(|u| u["role"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn the_last_admin_stays(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.token_for("admin");

    // The only admin demotes themself: refused, and still admin.
    let r = put_role(&app, &admin, "admin", serde_json::json!({"role": "kemner"})).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["type"], "urn:spotcheck:problem:last-admin");
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("last enabled administrator"), "{detail}");
    assert_eq!(role_of(&app, &admin, "admin").await, "admin");
    assert!(app.login("admin", ADMIN_PASSWORD).await.is_ok(), "still signs in");

    // With a second admin it works.
    app.add_user("admin2", Role::Admin, None);
    let admin2 = app.token_for("admin2");
    let r = put_role(&app, &admin, "admin", serde_json::json!({"role": "kemner"})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(role_of(&app, &admin2, "admin").await, "kemner");

    // Now admin2 is the last one; a disabled admin does not count.
    app.add_user("admin3", Role::Admin, None);
    assert_eq!(put_disabled(&app, &admin2, "admin3", true).await.status(), 200);
    let r = put_role(&app, &admin2, "admin2", serde_json::json!({"role": "innkjoper"})).await;
    assert_eq!(r.status(), 409);
    assert_eq!(role_of(&app, &admin2, "admin2").await, "admin");
    // Demoting a disabled admin leaves the enabled ones as they were: allowed.
    let r = put_role(&app, &admin2, "admin3", serde_json::json!({"role": "kemner"})).await;
    assert_eq!(r.status(), 200);
    // Disabling oneself was refused before; it still is.
    assert_eq!(put_disabled(&app, &admin2, "admin2", true).await.status(), 400);

    // The CLI is held to the same rule, in Norwegian.
    app.stop();
    let (ok, _, err) = run_cli(&app.db, &["users", "disable", "admin2"], &[]);
    assert!(!ok, "{err}");
    assert!(err.contains("siste aktive administratoren"), "{err}");
    let (ok, _, err) = run_cli(&app.db, &["users", "set-role", "admin2", "--role", "kemner"], &[]);
    assert!(!ok, "{err}");
    assert!(err.contains("siste aktive administratoren"), "{err}");
    let (ok, out, _) = run_cli(&app.db, &["users", "list"], &[]);
    assert!(ok && out.contains("admin2\tadmin\t-\taktiv"), "{out}");
    // Another admin first, then the old one may go.
    let (ok, out, err) = run_cli(&app.db, &["users", "set-role", "admin3", "--role", "admin"], &[]);
    assert!(ok, "{out} {err}");
    let (ok, out, err) = run_cli(&app.db, &["users", "enable", "admin3"], &[]);
    assert!(ok, "{out} {err}");
    let (ok, out, err) = run_cli(&app.db, &["users", "disable", "admin2"], &[]);
    assert!(ok, "{out} {err}");
}

async fn only_akrim_has_an_agency(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.token_for("admin");
    for role in ["innkjoper", "kemner", "admin"] {
        let r = app
            .client
            .post(app.url("/api/v1/users"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"username": "ny", "role": role, "agency": "nav"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{role}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: serde_json::Value = r.json().await.unwrap();
        let detail = p["detail"].as_str().unwrap();
        assert!(detail.contains("only the role akrim"), "{detail}");
        assert_eq!(role_of(&app, &admin, "ny").await, "", "not created");
    }
    // Required for akrim, in English for API clients.
    let r = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"username": "ny", "role": "akrim"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let p: serde_json::Value = r.json().await.unwrap();
    assert!(
        p["detail"].as_str().unwrap().contains("requires an agency"),
        "{p}"
    );

    // Changing role: an agency only with akrim.
    app.add_user("ola", Role::Akrim, Some(spotcheck::domain::roles::Agency::Nav));
    let r = put_role(
        &app,
        &admin,
        "ola",
        serde_json::json!({"role": "kemner", "agency": "nav"}),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(role_of(&app, &admin, "ola").await, "akrim");
    let r = put_role(&app, &admin, "ola", serde_json::json!({"role": "kemner"})).await;
    assert_eq!(r.status(), 200);
    let u: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (u["role"].as_str(), u["agency"].as_null()),
        (Some("kemner"), Some(()))
    );

    // The admin page says so in Norwegian.
    let session = app.login("admin", ADMIN_PASSWORD).await.unwrap();
    let page = app
        .get_with_session("/admin/users", &session)
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let r = app
        .client
        .post(app.url("/admin/users"))
        .header("Cookie", format!("spotcheck_session={session}"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "kari"),
            ("role", "innkjoper"),
            ("agency", "nav"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    // A refused form: shown again with the error beside the agency field (422).
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("bare A-krim-partnere har etat"), "{body}");

    // And so does the CLI.
    app.stop();
    let (ok, _, err) = run_cli(
        &app.db,
        &["users", "add", "per", "--role", "kemner", "--agency", "nav"],
        &[("SPOTCHECK_PASSWORD", PASSWORD)],
    );
    assert!(!ok && err.contains("bare rollen akrim"), "{err}");
    let (ok, _, err) = run_cli(
        &app.db,
        &[
            "users",
            "set-role",
            "ola",
            "--role",
            "innkjoper",
            "--agency",
            "nav",
        ],
        &[],
    );
    assert!(!ok && err.contains("bare rollen akrim"), "{err}");
}

/// A page asked for with a query that does not parse answers with a Norwegian error
/// page, not the API's problem+json; the API keeps problem+json.
async fn a_bad_query_on_a_page_gets_a_page(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let session = app.login("kem", PASSWORD).await.unwrap();
    let r = app.get_with_session("/contracts?page=abc", &session).await;
    assert_eq!(r.status(), 400);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    let body = r.text().await.unwrap();
    assert!(body.contains("Adressen har en ugyldig verdi"), "{body}");
    let r = app
        .api_get("/api/v1/contracts?page=abc", &app.token_for("kem"))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

/// HSTS is sent when the service is published over https, and only then.
async fn hsts_follows_the_base_url(backend: Backend) {
    let plain = TestApp::start(backend).await;
    let r = plain.client.get(plain.url("/healthz")).send().await.unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
    let https = TestApp::start_with(backend, |s| s.base_url = "https://spotcheck.example.no".into()).await;
    let r = https.client.get(https.url("/healthz")).send().await.unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
}

/// Expired sessions do not pile up: a sign-in removes them.
async fn expired_sessions_are_purged(backend: Backend) {
    use diesel::prelude::*;
    use spotcheck::db::schema::sessions;
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    app.login("kem", PASSWORD).await.unwrap();
    app.login("kem", PASSWORD).await.unwrap();
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::days(1);
    {
        let mut conn = app.pool.get().unwrap();
        diesel::update(sessions::table)
            .set(sessions::expires_at.eq(past))
            .execute(&mut conn)
            .unwrap();
    }
    assert_eq!(app.count("sessions"), 2);
    app.login("kem", PASSWORD).await.unwrap();
    assert_eq!(app.count("sessions"), 1, "only the new session is left");
}

/// API tokens can be listed (never their secret), expire, and be revoked, by an admin through
/// the API and by the operator on the command line.
async fn tokens_expire_and_can_be_revoked(backend: Backend) {
    use diesel::prelude::*;
    use serde_json::{Value, json};
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let admin = app.token_for("admin");
    let issue = |token: String, body: Value| {
        let (client, url) = (app.client.clone(), app.url("/api/v1/users/kem/tokens"));
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let kem_own = app.token_for("kem");
    assert_eq!(issue(kem_own, json!({"label": "x"})).await.status(), 403);
    let r = issue(admin.clone(), json!({"label": "ci", "expires_days": 30})).await;
    assert_eq!(r.status(), 201);
    let issued: Value = r.json().await.unwrap();
    let secret = issued["token"].as_str().unwrap().to_owned();
    let id = issued["id"].as_i64().unwrap();
    assert!(issued["expires_at"].is_string(), "{issued}");
    assert_eq!(app.api_get("/api/v1/me", &secret).await.status(), 200);

    let list: Value = app
        .api_get("/api/v1/users/kem/tokens", &admin)
        .await
        .json()
        .await
        .unwrap();
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap()
        .clone();
    assert!(listed["last_used_at"].is_string(), "use is recorded: {listed}");
    assert!(!list.to_string().contains(&secret), "the secret is never listed");

    let r = app
        .client
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(app.api_get("/api/v1/me", &secret).await.status(), 401, "revoked");

    // A token past its expiry is refused.
    let r = issue(admin.clone(), json!({"label": "short", "expires_days": 1})).await;
    let short: Value = r.json().await.unwrap();
    let short_secret = short["token"].as_str().unwrap().to_owned();
    assert_eq!(app.api_get("/api/v1/me", &short_secret).await.status(), 200);
    {
        use spotcheck::db::schema::api_tokens;
        let past = chrono::Utc::now().naive_utc() - chrono::Duration::hours(1);
        let mut conn = app.pool.get().unwrap();
        diesel::update(api_tokens::table.find(short["id"].as_i64().unwrap()))
            .set(api_tokens::expires_at.eq(Some(past)))
            .execute(&mut conn)
            .unwrap();
    }
    assert_eq!(
        app.api_get("/api/v1/me", &short_secret).await.status(),
        401,
        "expired"
    );

    // The operator lists and revokes on the command line; both changes are audited.
    let (ok, out, err) = run_cli(&app.db, &["users", "tokens", "kem"], &[]);
    assert!(ok, "{err}");
    assert!(out.contains("tilbakekalt") && out.contains("short"), "{out}");
    let cli_secret = app.token_for("kem");
    let list: Value = app
        .api_get("/api/v1/users/kem/tokens", &admin)
        .await
        .json()
        .await
        .unwrap();
    let newest = list[0]["id"].as_i64().unwrap();
    let (ok, _, err) = run_cli(&app.db, &["users", "revoke-token", &newest.to_string()], &[]);
    assert!(ok, "{err}");
    assert_eq!(app.api_get("/api/v1/me", &cli_secret).await.status(), 401);
    {
        use spotcheck::db::schema::audit_log;
        let mut conn = app.pool.get().unwrap();
        let revokes: i64 = audit_log::table
            .filter(audit_log::action.eq("token.revoke"))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(revokes, 2);
    }
}

/// Signs in through the form with `X-Forwarded-For: from` (the test app trusts 127.0.0.1 as
/// its proxy); returns the status.
async fn login_from(app: &TestApp, from: &str, user: &str, password: &str) -> u16 {
    let (csrf_cookie, csrf_field) = app.login_csrf().await;
    app.client
        .post(app.url("/login"))
        .header("Cookie", format!("spotcheck_login_csrf={csrf_cookie}"))
        .header("X-Forwarded-For", from)
        .form(&[
            ("username", user),
            ("password", password),
            ("csrf_token", &csrf_field),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn count_where(app: &TestApp, sql: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.pool.get().unwrap();
    diesel::sql_query(sql).get_result::<N>(&mut conn).unwrap().n
}

/// 60 wrong passwords in parallel for one account from one address: at most five are
/// checked; the rest are refused before the password check. The owner, from another
/// address, still signs in. Failed attempts go to the security-event table, not the audit
/// chain, which gets one entry when throttling starts; a name nobody has is cut short.
async fn login_throttle_holds_and_spares_the_owner(backend: Backend) {
    let app = TestApp::start_with(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]
    })
    .await;
    app.add_user("kari", Role::Innkjoper, None);
    let attempts = (0..60).map(|_| login_from(&app, "203.0.113.66", "kari", "feil-passord-999"));
    let statuses = futures_util::future::join_all(attempts).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(checked <= 5, "at most five passwords were checked: {statuses:?}");
    assert_eq!(checked + refused, 60, "{statuses:?}");
    assert!(
        count_where(
            &app,
            "SELECT COUNT(*) AS n FROM login_attempts WHERE outcome = 'failure'"
        ) <= 5
    );
    // The attacker's address waits, even with the right password...
    assert_eq!(login_from(&app, "203.0.113.66", "kari", PASSWORD).await, 429);
    // ...the owner, elsewhere, does not.
    assert_eq!(login_from(&app, "198.51.100.7", "kari", PASSWORD).await, 303);

    assert_eq!(
        count_where(
            &app,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'login.failure'"
        ),
        0,
        "failed sign-ins stay out of the hash chain"
    );
    assert_eq!(
        count_where(
            &app,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'login.throttled'"
        ),
        1,
        "one entry when throttling starts"
    );

    // A password typed into the name field of nobody is kept short and never chained.
    let typed = "hemmelig-passord-".repeat(3000);
    assert_eq!(login_from(&app, "192.0.2.1", &typed, "x").await, 401);
    assert_eq!(
        count_where(
            &app,
            "SELECT COUNT(*) AS n FROM login_attempts WHERE known = false AND LENGTH(account) <= 64"
        ),
        1
    );
    assert_eq!(
        count_where(
            &app,
            "SELECT COUNT(*) AS n FROM audit_log WHERE detail LIKE '%hemmelig-passord%' OR object_id LIKE '%hemmelig%'"
        ),
        0
    );
}

/// The per-address limit: 20 failures for different accounts, then the address waits.
async fn an_address_is_throttled_across_accounts(backend: Backend) {
    let app = TestApp::start_with(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]
    })
    .await;
    for i in 0..20 {
        assert_eq!(
            login_from(&app, "203.0.113.9", &format!("nobody{i}"), "x").await,
            401
        );
    }
    assert_eq!(
        login_from(&app, "203.0.113.9", "admin", ADMIN_PASSWORD).await,
        429
    );
    assert_eq!(
        login_from(&app, "198.51.100.8", "admin", ADMIN_PASSWORD).await,
        303
    );
}

backend_tests!(
    login_throttle_holds_and_spares_the_owner,
    an_address_is_throttled_across_accounts,
    tokens_expire_and_can_be_revoked,
    a_bad_query_on_a_page_gets_a_page,
    hsts_follows_the_base_url,
    expired_sessions_are_purged,
    deeply_nested_condition_is_a_rule_error_and_the_server_lives,
    deeply_nested_toml_is_a_rule_error,
    paging_out_of_range_is_a_bad_request,
    a_busy_database_answers_503_with_retry_after,
    the_last_admin_stays,
    only_akrim_has_an_agency,
);

/// A TCP relay between the service and PostgreSQL that the test can cut and restore, to
/// stop "the database" without stopping the server other tests use.
struct Relay {
    addr: std::net::SocketAddr,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    fn start(target: &str) -> Self {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::<std::net::TcpStream>::new()));
        let (up2, open2, target) = (up.clone(), open.clone(), target.to_owned());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(&target) else {
                    continue;
                };
                {
                    let mut open = open2.lock().unwrap();
                    open.push(client.try_clone().unwrap());
                    open.push(server.try_clone().unwrap());
                }
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Relay { addr, up, open }
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// With PostgreSQL unreachable, readiness and API requests answer 503 with Retry-After
/// within a couple of seconds (not after the pool's time-out); when it is back, the service
/// recovers by itself.
#[actix_web::test]
#[cfg_attr(
    not(spotcheck_pg_tests),
    ignore = "PostgreSQL suite off: set SPOTCHECK_TEST_DATABASE_URL"
)]
async fn an_unreachable_database_fails_fast_and_recovers() {
    use std::time::{Duration, Instant};
    let base = common::pg_base_url();
    let host = base
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let relay = Relay::start(&host);
    let via_relay = relay.addr.to_string();
    let app = TestApp::start_with(Backend::Postgres, move |s| {
        s.database_url = s.database_url.as_ref().map(|u| u.replacen(&host, &via_relay, 1));
    })
    .await;
    app.add_user("kem", Role::Kemner, None);
    let kem = app.token_for("kem");
    assert_eq!(app.api_get("/api/v1/me", &kem).await.status(), 200);

    relay.cut();
    for path in ["/readyz", "/api/v1/me"] {
        let started = Instant::now();
        let r = if path == "/readyz" {
            app.client.get(app.url(path)).send().await.unwrap()
        } else {
            app.api_get(path, &kem).await
        };
        let waited = started.elapsed();
        assert_eq!(r.status(), 503, "{path}");
        assert!(waited < Duration::from_secs(5), "{path} took {waited:?}");
        if path != "/readyz" {
            assert_eq!(r.headers()["retry-after"], "1");
        }
    }

    relay.restore();
    let started = Instant::now();
    loop {
        if app.api_get("/api/v1/me", &kem).await.status() == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the service never recovered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
