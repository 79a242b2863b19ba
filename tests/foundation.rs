//! The foundation over the real HTTP stack, on SQLite and PostgreSQL: login and logout,
//! CSRF, throttling, roles (403), tokens, disabled users, problem+json, the audit chain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ADMIN_PASSWORD, Backend, PASSWORD, TestApp, hidden_field, run_cli};
use diesel::prelude::*;
use spotcheck::domain::roles::{Agency, Role};

async fn health_and_ready(backend: Backend) {
    let app = TestApp::start(backend).await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["status"], "ready");
    app.stop();
}

async fn login_and_logout(backend: Backend) {
    let app = TestApp::start(backend).await;
    // Not signed in: pages redirect to the login form.
    let r = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");

    let login = app.client.get(app.url("/login")).send().await.unwrap();
    let set_cookie = common::set_cookie_header(&login, "spotcheck_login_csrf").unwrap();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    assert!(
        !set_cookie.contains("Secure"),
        "plain http base URL: no Secure flag"
    );

    let session = app.login("admin", ADMIN_PASSWORD).await.expect("admin signs in");
    let home = app.get_with_session("/", &session).await;
    assert_eq!(home.status(), 200);
    let body = home.text().await.unwrap();
    assert!(body.contains("Velkommen, admin"), "{body}");
    assert!(body.contains("Administrator"));
    let csrf = hidden_field(&body, "csrf_token").unwrap();

    // Logout without the form token is refused and keeps the session.
    let r = app
        .client
        .post(app.url("/logout"))
        .header("Cookie", format!("spotcheck_session={session}"))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(app.get_with_session("/", &session).await.status(), 200);

    let r = app
        .client
        .post(app.url("/logout"))
        .header("Cookie", format!("spotcheck_session={session}"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.get_with_session("/", &session).await.status(),
        303,
        "session ended server-side"
    );
    app.stop();
}

async fn wrong_password_and_csrf(backend: Backend) {
    let app = TestApp::start(backend).await;
    let r = app
        .login("admin", "feil-passord-999")
        .await
        .expect_err("wrong password");
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("Feil brukernavn eller passord"));
    let r = app
        .login("finnes-ikke", "feil-passord-999")
        .await
        .expect_err("unknown user");
    assert_eq!(r.status(), 401);

    // A login post without the double-submit cookie is refused.
    let r = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("csrf_token", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    app.stop();
}

async fn throttling(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kari", Role::Innkjoper, None);
    for _ in 0..5 {
        let r = app.login("kari", "feil-passord-999").await.expect_err("wrong");
        assert_eq!(r.status(), 401);
    }
    // Even the right password waits now.
    let r = app.login("kari", PASSWORD).await.expect_err("throttled");
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // Another user from the same address is not yet throttled (per-address limit is higher).
    assert!(app.login("admin", ADMIN_PASSWORD).await.is_ok());
    app.stop();
}

async fn roles_are_enforced(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("inn", Role::Innkjoper, None);
    app.add_user("kem", Role::Kemner, None);
    app.add_user("akr", Role::Akrim, Some(Agency::Arbeidstilsynet));
    let admin_token = app.token_for("admin");
    for name in ["inn", "kem", "akr"] {
        let token = app.token_for(name);
        for path in ["/api/v1/users", "/api/v1/audit/verify"] {
            let r = app.api_get(path, &token).await;
            assert_eq!(r.status(), 403, "{name} on {path}");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            let p: serde_json::Value = r.json().await.unwrap();
            assert_eq!(p["type"], "urn:spotcheck:problem:forbidden");
            assert!(p["detail"].as_str().unwrap().contains("role"));
        }
        let r = app
            .client
            .post(app.url("/api/v1/users"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"username": "x1", "role": "admin"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{name} may not create users");
        // The web admin pages too.
        let session = app.login(name, PASSWORD).await.expect("login");
        for path in ["/admin/users", "/admin/audit"] {
            let r = app.get_with_session(path, &session).await;
            assert_eq!(r.status(), 403, "{name} on {path}");
            assert!(r.text().await.unwrap().contains("Ingen tilgang"));
        }
    }
    assert_eq!(app.api_get("/api/v1/users", &admin_token).await.status(), 200);
    let admin_session = app.login("admin", ADMIN_PASSWORD).await.unwrap();
    assert_eq!(
        app.get_with_session("/admin/users", &admin_session)
            .await
            .status(),
        200
    );
    app.stop();
}

async fn tokens_and_disabled_users(backend: Backend) {
    let app = TestApp::start(backend).await;
    let r = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        app.api_get("/api/v1/me", "sct_not-a-real-token").await.status(),
        401
    );

    app.add_user("ola", Role::Kemner, None);
    let token = app.token_for("ola");
    let me: serde_json::Value = app.api_get("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me["username"], "ola");
    assert_eq!(me["role"], "kemner");
    assert!(me.get("password_hash").is_none());
    let session = app.login("ola", PASSWORD).await.unwrap();

    // The admin disables ola through the API: token and session stop working at once.
    let admin = app.token_for("admin");
    let r = app
        .client
        .put(app.url("/api/v1/users/ola/disabled"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.api_get("/api/v1/me", &token).await.status(), 401);
    assert_eq!(app.get_with_session("/", &session).await.status(), 303);
    assert_eq!(
        app.login("ola", PASSWORD).await.expect_err("disabled").status(),
        401
    );
    app.stop();
}

async fn api_errors_are_problems(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.token_for("admin");
    let r = app.api_get("/api/v1/nothing-here", &admin).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"username": "partner", "role": "akrim"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "akrim without agency");
    let p: serde_json::Value = r.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("etat"), "{p}");
    // An HTML 404 is a Norwegian page.
    let r = app.client.get(app.url("/finnes-ikke")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("Ikke funnet"));
    app.stop();
}

async fn role_change_is_audited_and_ends_sessions(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("per", Role::Innkjoper, None);
    let session = app.login("per", PASSWORD).await.unwrap();
    let admin = app.token_for("admin");
    let r = app
        .client
        .put(app.url("/api/v1/users/per/role"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"role": "akrim", "agency": "nav"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.get_with_session("/", &session).await.status(), 303);
    let mut conn = app.pool.get().unwrap();
    let actions: Vec<String> = spotcheck::db::models::audit::recent(&mut conn, 50)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in ["user.create", "login.success", "token.create", "user.set_role"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    let v: serde_json::Value = app
        .api_get("/api/v1/audit/verify", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["intact"], true);
    app.stop();
}

async fn audit_verify_detects_tampering(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("eva", Role::Kemner, None);
    let _ = app.login("eva", "feil-passord-999").await;
    let _ = app.login("eva", PASSWORD).await.unwrap();
    app.stop();

    let (ok, out, err) = run_cli(&app.db, &["audit", "verify"], &[]);
    assert!(ok, "intact chain verifies: {out} {err}");
    assert!(out.contains("intakt"), "{out}");

    // Edit entry 2 directly in the database, as an insider with SQL access might.
    let mut conn = app.db.raw_conn();
    diesel::sql_query("UPDATE audit_log SET actor = 'user:someone-else' WHERE id = 2")
        .execute(&mut conn)
        .unwrap();
    let (ok, _out, err) = run_cli(&app.db, &["audit", "verify"], &[]);
    assert!(!ok, "tampered chain must fail");
    assert!(err.contains("hendelse 2"), "names the first broken entry: {err}");

    // Deleting an entry is found too (a gap in the sequence).
    diesel::sql_query("DELETE FROM audit_log WHERE id = 3")
        .execute(&mut conn)
        .unwrap();
    let (ok, _, err) = run_cli(&app.db, &["audit", "verify"], &[]);
    assert!(!ok && err.contains("hendelse 2"), "{err}");
}

async fn cli_users_and_token(backend: Backend) {
    let db = common::TestDb::new(backend);
    let (ok, out, err) = run_cli(
        &db,
        &["users", "add", "Lise", "--role", "kemner"],
        &[("SPOTCHECK_PASSWORD", PASSWORD)],
    );
    assert!(ok, "{out} {err}");
    let (ok, _, err) = run_cli(
        &db,
        &["users", "add", "nina", "--role", "akrim"],
        &[("SPOTCHECK_PASSWORD", PASSWORD)],
    );
    assert!(!ok && err.contains("krever en etat"), "{err}");
    let (ok, _, err) = run_cli(
        &db,
        &["users", "add", "kort", "--role", "kemner"],
        &[("SPOTCHECK_PASSWORD", "kort")],
    );
    assert!(!ok && err.contains("minst 10 tegn"), "{err}");
    let (ok, out, _) = run_cli(&db, &["users", "token", "lise"], &[]);
    assert!(ok);
    let token = out.trim_end_matches('\n');
    assert!(
        token.starts_with("sct_") && token.len() == 68 && !token.contains('\n'),
        "only the token on stdout: {out:?}"
    );
    let (ok, out, _) = run_cli(
        &db,
        &[
            "users", "set-role", "lise", "--role", "akrim", "--agency", "politiet",
        ],
        &[],
    );
    assert!(ok, "{out}");
    let (ok, _, _) = run_cli(&db, &["users", "disable", "lise"], &[]);
    assert!(ok);
    let (ok, out, _) = run_cli(&db, &["users", "list"], &[]);
    assert!(ok);
    assert!(out.contains("lise\takrim\tpolitiet\tdeaktivert"), "{out}");
    let (ok, out, _) = run_cli(&db, &["audit", "verify"], &[]);
    assert!(ok && out.contains("intakt: alle 4 hendelser"), "{out}");
}

backend_tests!(
    health_and_ready,
    login_and_logout,
    wrong_password_and_csrf,
    throttling,
    roles_are_enforced,
    tokens_and_disabled_users,
    api_errors_are_problems,
    role_change_is_audited_and_ends_sessions,
    audit_verify_detects_tampering,
    cli_users_and_token,
);
