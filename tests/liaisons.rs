//! Liaisons (contacts at the A-krim agencies who receive mail) over the real HTTP stack and
//! the CLI, on SQLite and PostgreSQL: create, list, update, remove, the 422 cases naming
//! their field, 403 for roles without `ManageLiaisons`, audit entries; users' e-mail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, PASSWORD, TestApp, run_cli};
use serde_json::{Value, json};
use spotcheck::domain::roles::{Agency, Role};

fn kari() -> Value {
    json!({
        "name": "Kari Nordmann",
        "agency": "nav",
        "email": "kari.nordmann@nav.no",
        "industries": ["renhold", "bygg_anlegg"],
        "notices": ["draw_published", "high_risk"],
    })
}

async fn post(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/liaisons"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn put(app: &TestApp, token: &str, id: i64, body: &Value) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/v1/liaisons/{id}")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn delete(app: &TestApp, token: &str, id: i64) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/api/v1/liaisons/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn list(app: &TestApp, token: &str) -> Vec<Value> {
    let r = app.api_get("/api/v1/liaisons", token).await;
    assert_eq!(r.status(), 200);
    r.json::<Vec<Value>>().await.unwrap()
}

/// The audit actions about liaison `id`, oldest first.
fn audit_actions(app: &TestApp, id: i64) -> Vec<String> {
    let mut conn = app.pool.get().unwrap();
    let mut rows = spotcheck::service::users::recent_audit(&mut conn, 1000).unwrap();
    rows.reverse();
    rows.into_iter()
        .filter(|r| r.object_type == "liaison" && r.object_id == id.to_string())
        .map(|r| r.action)
        .collect()
}

async fn create_list_update_remove(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    app.add_user("nav-ola", Role::Akrim, Some(Agency::Nav));
    let kem = app.token_for("kem");

    let r = post(&app, &kem, &kari()).await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    for field in ["name", "agency", "email", "industries", "notices"] {
        assert_eq!(created[field], kari()[field], "{field}: {created}");
    }
    assert_eq!(created["user"], Value::Null);
    assert_eq!(created["active"], true);
    assert_eq!(list(&app, &kem).await, vec![created.clone()]);

    // The admin manages liaisons too; a link to an A-krim user of the same agency.
    let admin = app.token_for("admin");
    let mut linked = kari();
    linked["name"] = json!("Ola");
    linked["email"] = json!("ola@nav.no");
    linked["industries"] = json!([]);
    linked["notices"] = json!(["weekly_summary"]);
    linked["user"] = json!("NAV-Ola");
    let r = post(&app, &admin, &linked).await;
    assert_eq!(r.status(), 201);
    let ola: Value = r.json().await.unwrap();
    assert_eq!(ola["user"], "nav-ola");
    assert_eq!(ola["industries"], json!([]), "empty list: every industry");
    assert_eq!(list(&app, &admin).await.len(), 2);

    // Update replaces every field.
    let mut changed = kari();
    changed["email"] = json!("kari@arbeidstilsynet.no");
    changed["agency"] = json!("arbeidstilsynet");
    changed["notices"] = json!(["weekly_summary", "draw_published", "weekly_summary"]);
    let r = put(&app, &kem, id, &changed).await;
    assert_eq!(r.status(), 200);
    let updated: Value = r.json().await.unwrap();
    assert_eq!(updated["agency"], "arbeidstilsynet");
    assert_eq!(updated["email"], "kari@arbeidstilsynet.no");
    assert_eq!(updated["notices"], json!(["draw_published", "weekly_summary"]));
    assert_eq!(updated["created_at"], created["created_at"]);

    // Remove: 204, gone from the list, kept in the table.
    let r = delete(&app, &kem, id).await;
    assert_eq!(r.status(), 204);
    let left = list(&app, &kem).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["name"], "Ola");
    assert_eq!(app.count("liaisons"), 2, "removed liaisons stay, inactive");

    // Unknown (and removed) ids are 404.
    for missing in [id, 999_999] {
        let r = delete(&app, &kem, missing).await;
        assert_eq!(r.status(), 404, "delete {missing}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let r = put(&app, &kem, missing, &kari()).await;
        assert_eq!(r.status(), 404, "put {missing}");
    }

    assert_eq!(
        audit_actions(&app, id),
        ["liaison.create", "liaison.update", "liaison.remove"]
    );
    let ola_id = ola["id"].as_i64().unwrap();
    assert_eq!(audit_actions(&app, ola_id), ["liaison.create"]);
    let mut conn = app.pool.get().unwrap();
    assert!(matches!(
        spotcheck::service::users::verify_audit(&mut conn).unwrap(),
        spotcheck::service::users::ChainStatus::Intact { .. }
    ));
    app.stop();
}

async fn refusals_name_their_field(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    app.add_user("pol", Role::Akrim, Some(Agency::Politiet));
    app.add_user("inn", Role::Innkjoper, None);
    let kem = app.token_for("kem");

    let cases: Vec<(&str, Value, &str)> = vec![
        ("email", json!("kari.nav.no"), "email"),
        ("email", json!("kari@nav"), "email"),
        ("email", json!("kari nordmann@nav.no"), "email"),
        ("agency", json!("tollvesenet"), "agency"),
        ("industries", json!(["renhold", "romfart"]), "industries"),
        ("notices", json!(["monthly"]), "notices"),
        ("notices", json!([]), "notices"),
        ("name", json!("  "), "name"),
        ("user", json!("finnes-ikke"), "user"),
        ("user", json!("pol"), "user"),
        ("user", json!("inn"), "user"),
    ];
    for (member, value, field) in cases {
        let mut body = kari();
        body[member] = value.clone();
        let r = post(&app, &kem, &body).await;
        assert_eq!(r.status(), 422, "{member} = {value}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["type"], "urn:spotcheck:problem:invalid-field", "{p}");
        assert_eq!(p["field"], field, "{p}");
        assert!(
            p["detail"].as_str().unwrap().contains(&format!("'{field}'")),
            "detail names the field: {p}"
        );
    }
    // The same checks on update.
    let id = post(&app, &kem, &kari()).await.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let mut body = kari();
    body["email"] = json!("@nav.no");
    let r = put(&app, &kem, id, &body).await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "email");
    assert_eq!(app.count("liaisons"), 1, "nothing stored for a refusal");
    assert_eq!(audit_actions(&app, id), ["liaison.create"]);
    app.stop();
}

async fn only_kemner_and_admin(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    app.add_user("inn", Role::Innkjoper, None);
    app.add_user("akr", Role::Akrim, Some(Agency::Nav));
    let kem = app.token_for("kem");
    let id = post(&app, &kem, &kari()).await.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    for name in ["inn", "akr"] {
        let token = app.token_for(name);
        let r = app.api_get("/api/v1/liaisons", &token).await;
        assert_eq!(r.status(), 403, "{name} lists");
        assert_eq!(post(&app, &token, &kari()).await.status(), 403, "{name} creates");
        assert_eq!(
            put(&app, &token, id, &kari()).await.status(),
            403,
            "{name} updates"
        );
        assert_eq!(delete(&app, &token, id).await.status(), 403, "{name} removes");
    }
    assert_eq!(list(&app, &kem).await.len(), 1);
    app.stop();
}

async fn users_have_an_email(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.token_for("admin");
    let r = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({"username": "nina", "role": "akrim", "agency": "nav",
            "email": "nina@nav.no", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let nina: Value = r.json().await.unwrap();
    assert_eq!(nina["email"], "nina@nav.no");
    let r = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({"username": "per", "role": "kemner", "email": "per@", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "email");
    let users: Vec<Value> = app.api_get("/api/v1/users", &admin).await.json().await.unwrap();
    let admin_user = users.iter().find(|u| u["username"] == "admin").unwrap();
    assert_eq!(admin_user["email"], Value::Null);
    app.stop();
}

async fn cli_add_list_remove(backend: Backend) {
    let db = common::TestDb::new(backend);
    let (ok, out, err) = run_cli(
        &db,
        &[
            "users",
            "add",
            "ola",
            "--role",
            "akrim",
            "--agency",
            "skatteetaten",
            "--email",
            "ola@skatteetaten.no",
            "--no-password",
        ],
        &[],
    );
    assert!(ok, "{out} {err}");
    let (ok, out, err) = run_cli(
        &db,
        &[
            "liaisons",
            "add",
            "Ola Skatt",
            "--agency",
            "skatteetaten",
            "--email",
            "ola@skatteetaten.no",
            "--industry",
            "renhold",
            "--notice",
            "draw_published",
            "--notice",
            "weekly_summary",
            "--user",
            "ola",
            "--format",
            "json",
        ],
        &[],
    );
    assert!(ok, "{out} {err}");
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(created["user"], "ola");
    assert_eq!(created["industries"], json!(["renhold"]));
    let id = created["id"].as_i64().unwrap().to_string();

    let (ok, _, err) = run_cli(
        &db,
        &[
            "liaisons",
            "add",
            "Feil",
            "--agency",
            "nav",
            "--email",
            "feil",
            "--notice",
            "high_risk",
        ],
        &[],
    );
    assert!(!ok && err.contains("«email»"), "{err}");

    let (ok, out, err) = run_cli(&db, &["liaisons", "list"], &[]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!(
            "{id}\tskatteetaten\tOla Skatt\tola@skatteetaten.no\trenhold\tdraw_published,weekly_summary\tola"
        )),
        "{out}"
    );
    let (ok, out, err) = run_cli(&db, &["liaisons", "list", "--format", "json"], &[]);
    assert!(ok, "{err}");
    let listed: Vec<Value> = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(listed, vec![created]);

    let (ok, out, err) = run_cli(&db, &["liaisons", "remove", &id], &[]);
    assert!(ok, "{out} {err}");
    let (ok, out, _) = run_cli(&db, &["liaisons", "list", "--format", "json"], &[]);
    assert!(ok);
    assert_eq!(out.trim(), "[]");
    let (ok, _, err) = run_cli(&db, &["liaisons", "remove", &id], &[]);
    assert!(
        !ok && err.contains(&format!("kontaktperson {id} finnes ikke")),
        "{err}"
    );

    let (ok, out, _) = run_cli(&db, &["audit", "tail", "--n", "100"], &[]);
    assert!(ok);
    for action in ["liaison.create", "liaison.remove"] {
        assert!(
            out.lines()
                .any(|l| l.contains(action) && l.contains("cli:") && l.contains(&format!("liaison {id}"))),
            "{action}: {out}"
        );
    }
    let (ok, out, _) = run_cli(&db, &["audit", "verify"], &[]);
    assert!(ok, "{out}");
}

backend_tests!(
    create_list_update_remove,
    refusals_name_their_field,
    only_kemner_and_admin,
    users_have_an_email,
    cli_add_list_remove
);
