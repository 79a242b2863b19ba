//! The administration, liaison and outbox pages over HTTP, as a browser uses them: a real
//! session cookie and the form's CSRF token (issue 14). Each test runs on SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::{Backend, PASSWORD, TestApp};
use diesel::prelude::*;
use spotcheck::db::models::outbox::{self, NewMessage};
use spotcheck::db::schema::{audit_log, liaisons};
use spotcheck::domain::roles::{Agency, Role};

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Internal codes that must never be read on a page (as whole words).
const CODES: [&str; 16] = [
    "innkjoper",
    "akrim",
    "admin_users",
    "arbeidstilsynet",
    "skatteetaten",
    "nav",
    "draw_published",
    "high_risk",
    "weekly_summary",
    "bygg_anlegg",
    "renhold",
    "pending",
    "sending",
    "dead",
    "user.create",
    "outbox.retry",
];

fn assert_no_codes(page: &str, what: &str) {
    let text = common::visible_text(page);
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .map(|w| w.trim_matches('.'))
        .collect();
    for code in CODES {
        assert!(
            !words.contains(&code),
            "{what} shows the internal code «{code}»: {text}"
        );
    }
}

fn user_id(app: &TestApp, name: &str) -> i64 {
    spotcheck::db::models::users::find_by_username(&mut app.pool.get().unwrap(), name)
        .unwrap()
        .unwrap()
        .id
}

async fn pages_refuse_roles_without_permission_and_forms_without_token(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kari", Role::Kemner, None);
    app.add_user("per", Role::Innkjoper, None);
    app.add_user("ola", Role::Akrim, Some(Agency::Nav));
    let admin = Browser::sign_in(&app, "admin", common::ADMIN_PASSWORD).await;
    let kari = Browser::sign_in(&app, "kari", PASSWORD).await;
    let per = Browser::sign_in(&app, "per", PASSWORD).await;
    let ola = Browser::sign_in(&app, "ola", PASSWORD).await;

    // Users and the audit log: the admin only.
    for b in [&kari, &per, &ola] {
        for path in ["/admin/users", "/admin/users/admin", "/admin/audit"] {
            let (status, body) = b.get(path).await;
            assert_eq!(status, 403, "{path}");
            assert!(body.contains("Ingen tilgang"), "{path}: a Norwegian 403 page");
        }
        let r = b
            .post(
                "/admin/users",
                &[
                    ("username", "snik"),
                    ("role", "admin"),
                    ("password", "snik-passord-123"),
                ],
            )
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(b.post("/admin/users/per/disable", &[]).await.status(), 403);
        assert_eq!(
            b.post("/admin/users/per/tokens", &[("label", "snik")])
                .await
                .status(),
            403
        );
    }
    // Liaisons and the outbox: Kemneren and the admin.
    for b in [&per, &ola] {
        for path in ["/liaisons", "/outbox"] {
            assert_eq!(b.get(path).await.0, 403, "{path}");
        }
        let r = b
            .post(
                "/liaisons",
                &[
                    ("name", "X"),
                    ("agency", "nav"),
                    ("email", "x@nav.no"),
                    ("notices", "high_risk"),
                ],
            )
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(b.post("/outbox/1/retry", &[]).await.status(), 403);
    }
    for b in [&kari, &admin] {
        assert_eq!(b.get("/liaisons").await.0, 200);
        assert_eq!(b.get("/outbox").await.0, 200);
    }
    assert_eq!(admin.get("/admin/users").await.0, 200);
    assert_eq!(admin.get("/admin/audit").await.0, 200);

    // A form without the token, or with another one, changes nothing.
    let before = app.count("users");
    for token in [None, Some("forfalsket")] {
        let mut fields = vec![
            ("username", "snik"),
            ("role", "innkjoper"),
            ("password", "snik-passord-123"),
        ];
        if let Some(t) = token {
            fields.push(("csrf_token", t));
        }
        let r = admin.post_raw("/admin/users", &fields).await;
        assert_eq!(r.status(), 403, "token {token:?}");
        assert!(r.text().await.unwrap().contains("Skjemaet er utløpt"));
    }
    assert_eq!(app.count("users"), before);
    for path in [
        "/admin/users/per/role",
        "/admin/users/per/disable",
        "/admin/users/per/password",
        "/admin/users/per/password/generate",
        "/admin/users/per/tokens",
    ] {
        let r = admin
            .post_raw(
                path,
                &[
                    ("role", "kemner"),
                    ("password", "nytt-passord-123"),
                    ("label", "x"),
                ],
            )
            .await;
        assert_eq!(r.status(), 403, "{path}");
    }
    let r = kari
        .post_raw(
            "/liaisons",
            &[
                ("name", "X"),
                ("agency", "nav"),
                ("email", "x@nav.no"),
                ("notices", "high_risk"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        kari.post_raw("/outbox/1/retry", &[] as &[(&str, &str)])
            .await
            .status(),
        403
    );
    for path in [
        "/liaisons/1",
        "/liaisons/1/remove",
        "/admin/users/per/tokens/1/revoke",
    ] {
        assert_eq!(
            admin.post_raw(path, &[("name", "X")]).await.status(),
            403,
            "{path}"
        );
    }
    assert_eq!(app.count("api_tokens"), 0);
    assert_eq!(app.count("liaisons"), 0);
    // Per is still an innkjøper who can sign in.
    assert!(app.login("per", PASSWORD).await.is_ok());
    let me = app
        .api_get("/api/v1/me", &app.token_for("per"))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(me["role"], "innkjoper");
}

async fn role_change_and_disable_take_effect(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = Browser::sign_in(&app, "admin", common::ADMIN_PASSWORD).await;

    // Created through the form: 303 to the new user's page with a confirmation.
    let r = admin
        .post(
            "/admin/users",
            &[
                ("username", "ola"),
                ("role", "innkjoper"),
                ("agency", ""),
                ("email", "ola@bergen.kommune.no"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.starts_with("/admin/users/ola?"), "{to}");
    let (status, page) = admin.get(&to).await;
    assert_eq!(status, 200);
    assert!(page.contains("Brukeren «ola» er opprettet."), "{page}");
    assert!(page.contains("Innkjøper"));
    assert_no_codes(&page, "the user's page");
    let (_, list) = admin.get("/admin/users").await;
    assert!(list.contains("ola@bergen.kommune.no"));
    assert_no_codes(&list, "the user list");

    let ola = Browser::sign_in(&app, "ola", PASSWORD).await;
    assert_eq!(ola.get("/admin/users").await.0, 403);

    // An A-krim partner needs an agency: refused beside the field, typed choice kept.
    let r = admin
        .post("/admin/users/ola/role", &[("role", "akrim"), ("agency", "")])
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"agency-error\""), "{page}");
    assert!(page.contains("må ha en etat"));
    assert!(
        page.contains("<option value=\"akrim\" selected>"),
        "the typed role is kept"
    );

    // Made an admin: the old session ends, the new one has the new role.
    let r = admin
        .post("/admin/users/ola/role", &[("role", "admin"), ("agency", "")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/admin/users/ola?done=role");
    assert_eq!(
        ola.get("/admin/users").await.0,
        303,
        "a role change ends the user's sessions (to the login page)"
    );
    let ola = Browser::sign_in(&app, "ola", PASSWORD).await;
    assert_eq!(ola.get("/admin/users").await.0, 200);

    // Nobody disables themselves.
    let r = admin.post("/admin/users/admin/disable", &[]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("din egen bruker"));

    // Disabled: signed out at once and cannot sign in; enabled again: can.
    let r = admin.post("/admin/users/ola/disable", &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(ola.get("/").await.0, 303, "the session ended");
    assert!(
        app.login("ola", PASSWORD).await.is_err(),
        "a disabled user cannot sign in"
    );
    let (_, page) = admin.get("/admin/users/ola?done=disabled").await;
    assert!(page.contains("Deaktivert"));
    assert!(page.contains("Aktiver brukeren"));
    let r = admin.post("/admin/users/ola/enable", &[]).await;
    assert_eq!(r.status(), 303);
    assert!(app.login("ola", PASSWORD).await.is_ok());

    // The last enabled admin keeps the role (ola is an admin, so demote ola first).
    let r = admin
        .post("/admin/users/ola/role", &[("role", "kemner"), ("agency", "")])
        .await;
    assert_eq!(r.status(), 303);
    let r = admin
        .post("/admin/users/admin/role", &[("role", "kemner"), ("agency", "")])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("siste aktive administratoren"));

    // Each change is in the audit log, named in Norwegian.
    let actions: Vec<String> = audit_log::table
        .filter(audit_log::actor.eq("user:admin"))
        .select(audit_log::action)
        .load(&mut app.pool.get().unwrap())
        .unwrap();
    for a in ["user.create", "user.set_role", "user.disable", "user.enable"] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
    let (_, audit) = admin.get("/admin/audit?actor=user%3Aadmin").await;
    for name in [
        "Bruker opprettet",
        "Rolle endret",
        "Bruker deaktivert",
        "Bruker aktivert",
    ] {
        assert!(audit.contains(name), "{name}");
    }
    assert!(
        audit.contains("ola: fra Innkjøper til Administrator"),
        "a readable summary"
    );
}

async fn passwords_are_never_echoed(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kari", Role::Kemner, None);
    let admin = Browser::sign_in(&app, "admin", common::ADMIN_PASSWORD).await;

    // Too short: the error beside the password, the other values kept, the password not.
    let r = admin
        .post(
            "/admin/users",
            &[
                ("username", "nina"),
                ("role", "akrim"),
                ("agency", "skatteetaten"),
                ("email", "nina@skatteetaten.no"),
                ("password", "Zq9kort"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"new-password-error\""), "{page}");
    assert!(page.contains("minst 10 tegn"));
    assert!(page.contains("value=\"nina\""));
    assert!(page.contains("value=\"nina@skatteetaten.no\""));
    assert!(page.contains("<option value=\"akrim\" selected>"));
    assert!(page.contains("<option value=\"skatteetaten\" selected>"));
    assert!(!page.contains("Zq9kort"), "the password is never sent back");

    // A name taken: 409 beside the user name; a bad address beside the e-mail.
    let secret = "Hemmelig-Passord-987";
    let r = admin
        .post(
            "/admin/users",
            &[("username", "kari"), ("role", "kemner"), ("password", secret)],
        )
        .await;
    assert_eq!(r.status(), 409);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"new-username-error\""));
    assert!(page.contains("finnes allerede"));
    assert!(!page.contains(secret));
    let r = admin
        .post(
            "/admin/users",
            &[
                ("username", "nils"),
                ("role", "kemner"),
                ("email", "nils@kommune"),
                ("password", secret),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"new-email-error\""));
    assert!(page.contains("value=\"nils@kommune\""));
    assert!(!page.contains(secret));
    assert!(
        spotcheck::db::models::users::find_by_username(&mut app.pool.get().unwrap(), "nils")
            .unwrap()
            .is_none()
    );

    // Setting a password: a short one is refused and not echoed; a good one works.
    let r = admin
        .post("/admin/users/kari/password", &[("password", "Zq9kort")])
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"password-error\""));
    assert!(!page.contains("Zq9kort"));
    let r = admin
        .post("/admin/users/kari/password", &[("password", secret)])
        .await;
    assert_eq!(r.status(), 303);
    assert!(app.login("kari", secret).await.is_ok());
    assert!(app.login("kari", PASSWORD).await.is_err());

    // A generated password is shown once, works, and is not on the page afterwards.
    let r = admin.post("/admin/users/kari/password/generate", &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let page = r.text().await.unwrap();
    let start = page.find("<code class=\"secret\">").unwrap() + "<code class=\"secret\">".len();
    let generated = &page[start..start + page[start..].find('<').unwrap()];
    assert!(generated.len() >= 16, "{generated}");
    assert!(app.login("kari", generated).await.is_ok());
    let (_, again) = admin.get("/admin/users/kari").await;
    assert!(!again.contains(generated));
}

async fn tokens_are_shown_once_work_and_can_be_revoked(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kari", Role::Kemner, None);
    app.add_user("per", Role::Innkjoper, None);
    let admin = Browser::sign_in(&app, "admin", common::ADMIN_PASSWORD).await;

    // A bad validity is refused beside its field, with the name kept.
    let r = admin
        .post(
            "/admin/users/kari/tokens",
            &[("label", "Rapportverktøy"), ("expires_days", "mange")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"token-days-error\""));
    assert!(page.contains("value=\"Rapportverktøy\""));
    assert_eq!(app.count("api_tokens"), 0);

    let r = admin
        .post(
            "/admin/users/kari/tokens",
            &[("label", "Rapportverktøy"), ("expires_days", "30")],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let page = r.text().await.unwrap();
    let start = page.find("sct_").expect("the token is shown");
    let token = &page[start..start + page[start..].find('<').unwrap()];
    let me = app.api_get("/api/v1/me", token).await;
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["username"], "kari");

    // Listed with its name and dates, never the secret.
    let (_, page) = admin.get("/admin/users/kari").await;
    assert!(!page.contains(token), "shown once only");
    assert!(!page.contains("sct_"));
    assert!(page.contains("Rapportverktøy"));
    assert!(page.contains("aktiv"));
    let marker = "/admin/users/kari/tokens/";
    let at = page.find(marker).unwrap() + marker.len();
    let id: i64 = page[at..at + page[at..].find('/').unwrap()].parse().unwrap();

    // Another user's page cannot revoke it; kari's can, and it stops working.
    let r = admin
        .post(&format!("/admin/users/per/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(app.api_get("/api/v1/me", token).await.status(), 200);
    let r = admin
        .post(&format!("/admin/users/kari/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/admin/users/kari?done=revoked");
    assert_eq!(app.api_get("/api/v1/me", token).await.status(), 401);
    let (_, page) = admin.get("/admin/users/kari?done=revoked").await;
    assert!(page.contains("API-nøkkelen er trukket tilbake."));
    assert!(page.contains("trukket tilbake"));
    assert!(
        !page.contains(&format!("{marker}{id}/revoke")),
        "no button for a revoked token"
    );

    let (_, audit) = admin.get("/admin/audit?object_type=user").await;
    assert!(audit.contains("API-nøkkel opprettet"));
    assert!(audit.contains("API-nøkkel trukket tilbake"));
    assert!(audit.contains("Nøkkel «Rapportverktøy»"));
    assert!(!audit.contains(token), "the audit log never holds the token");
}

/// The entry numbers on an audit page, top to bottom.
fn entry_ids(page: &str) -> Vec<i64> {
    page.split("<td class=\"num\">")
        .skip(1)
        .filter_map(|s| s[..s.find('<')?].trim().parse().ok())
        .collect()
}

fn caption_total(page: &str) -> i64 {
    let at = page.find("<caption>").expect("a table") + "<caption>".len();
    page[at..].split(' ').next().unwrap().parse().unwrap()
}

async fn audit_log_filters_pages_and_reads_in_norwegian(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kari", Role::Kemner, None); // by the system
    let admin = Browser::sign_in(&app, "admin", common::ADMIN_PASSWORD).await;
    for name in ["ola", "nina", "nils"] {
        let r = admin
            .post(
                "/admin/users",
                &[("username", name), ("role", "innkjoper"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(r.status(), 303);
    }
    assert_eq!(
        admin
            .post("/admin/users/ola/role", &[("role", "kemner")])
            .await
            .status(),
        303
    );
    let mut conn = app.pool.get().unwrap();
    let all: i64 = audit_log::table.count().get_result(&mut conn).unwrap();
    let by_admin: i64 = audit_log::table
        .filter(audit_log::actor.eq("user:admin"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert!(by_admin >= 5 && by_admin < all, "{by_admin} of {all}");

    // Unfiltered: newest first, the chain intact, events named in Norwegian.
    let (status, page) = admin.get("/admin/audit").await;
    assert_eq!(status, 200);
    assert!(page.contains("Kjeden er intakt"));
    assert_eq!(caption_total(&page), all);
    let ids = entry_ids(&page);
    assert_eq!(ids.first(), Some(&all), "newest first");
    assert!(ids.windows(2).all(|w| w[0] > w[1]));
    assert!(page.contains("Bruker opprettet"));
    assert!(page.contains("Innlogging"));
    assert!(page.contains("Rolle endret"));
    assert!(
        !page.contains("user.create"),
        "the code is not shown where a name exists"
    );
    assert!(!page.contains("user.set_role"));
    assert!(!page.contains("login.success"));
    assert!(
        page.contains("tjenesten selv"),
        "the system as an actor, in words"
    );
    assert!(page.contains("<details>"), "the stored data stays available");

    // By actor: only the admin's entries.
    let (_, page) = admin.get("/admin/audit?actor=user%3Aadmin").await;
    assert_eq!(caption_total(&page), by_admin);
    assert_eq!(entry_ids(&page).len() as i64, by_admin);
    assert!(!page.contains("<td>tjenesten selv</td>"));
    assert!(page.contains("<option value=\"user:admin\" selected>admin</option>"));

    // By object: ola's entries only (created, then a new role).
    let ola = user_id(&app, "ola");
    let (_, page) = admin
        .get(&format!("/admin/audit?object_type=user&object_id={ola}"))
        .await;
    let expected: i64 = audit_log::table
        .filter(audit_log::object_type.eq("user"))
        .filter(audit_log::object_id.eq(ola.to_string()))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(expected, 2);
    assert_eq!(caption_total(&page), expected);
    assert!(page.contains("Brukernavn ola, rolle Innkjøper"));
    assert!(page.contains("ola: fra Innkjøper til Kemneren"));
    assert!(!page.contains("Brukernavn nina"));

    // By Oslo date: today has all of it, tomorrow and yesterday nothing; both date forms.
    let today = spotcheck::domain::oslo::local(spotcheck::db::models::now()).date();
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let (_, page) = admin
        .get(&format!(
            "/admin/audit?from={}&to={}",
            day(today),
            today.format("%d.%m.%Y")
        ))
        .await;
    assert_eq!(caption_total(&page), all);
    let tomorrow = today.succ_opt().unwrap();
    let (status, page) = admin.get(&format!("/admin/audit?from={}", day(tomorrow))).await;
    assert_eq!(status, 200);
    assert!(page.contains("Ingen hendelser passer filteret"));
    assert!(entry_ids(&page).is_empty());
    let (_, page) = admin
        .get(&format!("/admin/audit?to={}", day(today.pred_opt().unwrap())))
        .await;
    assert!(entry_ids(&page).is_empty());
    let (status, page) = admin.get("/admin/audit?from=32.13.2026").await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"from-error\""));
    assert!(page.contains("value=\"32.13.2026\""), "what was typed is kept");

    // Paging: two per page, the next page continues where the first stopped.
    let (_, first) = admin.get("/admin/audit?per_page=2").await;
    let (_, second) = admin.get("/admin/audit?per_page=2&page=2").await;
    assert_eq!(entry_ids(&first), vec![all, all - 1]);
    assert_eq!(entry_ids(&second), vec![all - 2, all - 3]);
    assert!(first.contains("page=2\" rel=\"next\""));
    assert!(second.contains("page=1\" rel=\"prev\""));
    assert!(first.contains(&format!("side 1 av {}", (all + 1) / 2)));
    let (_, sized) = admin.get("/admin/audit?per_page=25").await;
    assert!(sized.contains("<option value=\"25\" selected>"));
    assert_eq!(admin.get("/admin/audit?page=0").await.0, 400);

    // A tampered entry: the chain is reported broken at that entry.
    diesel::sql_query("UPDATE audit_log SET detail = '{}' WHERE id = 2")
        .execute(&mut app.db.raw_conn())
        .unwrap();
    let (_, page) = admin.get("/admin/audit").await;
    assert!(page.contains("Kjeden er brutt ved hendelse 2"), "{page}");
}

async fn liaisons_are_added_edited_and_removed_with_errors_beside_fields(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kari", Role::Kemner, None);
    app.add_user("ola", Role::Akrim, Some(Agency::Nav));
    let kari = Browser::sign_in(&app, "kari", PASSWORD).await;

    // A bad address: 422, the typed values kept, the error beside the e-mail field.
    let r = kari
        .post(
            "/liaisons",
            &[
                ("name", "Kari Nordmann"),
                ("agency", "nav"),
                ("email", "kari.nordmann@nav"),
                ("industries", "renhold"),
                ("industries", "bygg_anlegg"),
                ("notices", "high_risk"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"l-email-error\""), "{page}");
    assert!(page.contains("ikke en brukbar e-postadresse"));
    assert!(page.contains("value=\"Kari Nordmann\""));
    assert!(page.contains("value=\"kari.nordmann@nav\""));
    assert!(page.contains("<option value=\"nav\" selected>"));
    assert!(page.contains("value=\"renhold\" checked"));
    assert!(page.contains("value=\"bygg_anlegg\" checked"));
    assert!(page.contains("value=\"high_risk\" checked"));
    assert!(!page.contains("value=\"draw_published\" checked"));
    assert_no_codes(&page, "the refused liaison form");
    assert_eq!(app.count("liaisons"), 0);

    // No notice: refused in words, without the codes.
    let r = kari
        .post(
            "/liaisons",
            &[
                ("name", "Kari Nordmann"),
                ("agency", "nav"),
                ("email", "kari@nav.no"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"l-notices-error\""));
    assert!(page.contains("velg minst ett varsel"));
    assert_no_codes(&page, "the refused liaison form");
    // A linked user of another agency: beside the user field.
    let r = kari
        .post(
            "/liaisons",
            &[
                ("name", "Kari Nordmann"),
                ("agency", "skatteetaten"),
                ("email", "kari@skatt.no"),
                ("notices", "draw_published"),
                ("user", "ola"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"l-user-error\""));
    assert!(page.contains("«ola» tilhører NAV, ikke Skatteetaten"));

    // Added: 303 to the list with a confirmation; names, not codes.
    let r = kari
        .post(
            "/liaisons",
            &[
                ("name", "Kari Nordmann"),
                ("agency", "nav"),
                ("email", "kari.nordmann@nav.no"),
                ("industries", "renhold"),
                ("industries", "bygg_anlegg"),
                ("notices", "draw_published"),
                ("notices", "weekly_summary"),
                ("user", "ola"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, list) = kari.get(&location(&r)).await;
    assert!(list.contains("Kontaktpersonen «Kari Nordmann» er lagt til."));
    assert!(list.contains("kari.nordmann@nav.no"));
    assert!(list.contains("<td>NAV</td>"));
    assert!(list.contains("Renhold, Bygg og anlegg"));
    assert!(list.contains("Nye trekninger, Ukeoppsummering"));
    assert_no_codes(&list, "the liaison list");
    let id: i64 = liaisons::table
        .select(liaisons::id)
        .first(&mut app.pool.get().unwrap())
        .unwrap();

    // Edited: the form holds the stored values; a bad change is refused, a good one kept.
    let (status, form) = kari.get(&format!("/liaisons/{id}")).await;
    assert_eq!(status, 200);
    assert!(form.contains("value=\"kari.nordmann@nav.no\""));
    assert!(form.contains("value=\"renhold\" checked"));
    assert!(form.contains("value=\"ola\""));
    let r = kari
        .post(
            &format!("/liaisons/{id}"),
            &[
                ("name", " "),
                ("agency", "nav"),
                ("email", "kari@nav.no"),
                ("notices", "high_risk"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"l-name-error\""));
    let r = kari
        .post(
            &format!("/liaisons/{id}"),
            &[
                ("name", "Kari Nordmann"),
                ("agency", "nav"),
                ("email", "kari@nav.no"),
                ("notices", "high_risk"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, list) = kari.get(&location(&r)).await;
    assert!(list.contains("er endret"));
    assert!(list.contains("kari@nav.no"));
    assert!(list.contains("alle bransjer"));
    assert!(list.contains("Kontrakter som når høyeste risikonivå"));

    // Removed: gone from the list, kept inactive; each step audited.
    let r = kari.post(&format!("/liaisons/{id}/remove"), &[]).await;
    assert_eq!(r.status(), 303);
    let (_, list) = kari.get(&location(&r)).await;
    assert!(list.contains("er fjernet"));
    assert!(!list.contains("kari@nav.no"));
    let active: bool = liaisons::table
        .find(id)
        .select(liaisons::active)
        .first(&mut app.pool.get().unwrap())
        .unwrap();
    assert!(!active);
    assert_eq!(kari.get(&format!("/liaisons/{id}")).await.0, 404);
    let actions: Vec<String> = audit_log::table
        .filter(audit_log::object_type.eq("liaison"))
        .order(audit_log::id.asc())
        .select(audit_log::action)
        .load(&mut app.pool.get().unwrap())
        .unwrap();
    assert_eq!(actions, ["liaison.create", "liaison.update", "liaison.remove"]);
    let admin = Browser::sign_in(&app, "admin", common::ADMIN_PASSWORD).await;
    let (_, audit) = admin.get("/admin/audit?object_type=liaison").await;
    assert!(audit.contains("Kontaktperson lagt til"));
    assert!(audit.contains("Kontaktperson endret"));
    assert!(
        audit.contains("Endret: e-post, bransjer, varsler, knyttet bruker."),
        "{audit}"
    );
    assert!(audit.contains("Kontaktperson fjernet"));
}

fn message(n: i64, address: &str) -> NewMessage {
    NewMessage {
        kind: "risk.high".into(),
        dedupe_key: format!("test:{n}"),
        recipient_liaison_id: None,
        recipient_user_id: None,
        recipient_agency: Some("nav".into()),
        recipient_name: format!("Mottaker {n}"),
        recipient_address: address.into(),
        subject: format!("Emne nummer {n}"),
        payload: "{}".into(),
    }
}

async fn outbox_lists_messages_and_puts_dead_letters_back(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kari", Role::Kemner, None);
    app.add_user("per", Role::Innkjoper, None);
    let (dead, sent, waiting) = {
        let mut c = app.pool.get().unwrap();
        let t = spotcheck::db::models::now();
        outbox::enqueue(
            &mut c,
            &[message(1, "finnes.ikke@nav.test"), message(2, "god@nav.test")],
            t,
        )
        .unwrap();
        let claimed = outbox::claim_due(&mut c, t, t, t + chrono::Duration::minutes(5), 10).unwrap();
        assert_eq!(claimed.len(), 2);
        let (dead, sent) = (claimed[0].id, claimed[1].id);
        outbox::mark_failed(
            &mut c,
            dead,
            "permanent error (550): Mailbox unavailable: no such user here",
            None,
        )
        .unwrap();
        outbox::mark_sent(&mut c, sent, t).unwrap();
        outbox::enqueue(
            &mut c,
            &[message(3, "ny@nav.test")],
            t + chrono::Duration::hours(1),
        )
        .unwrap();
        let waiting = outbox::list(
            &mut c,
            Some("pending"),
            &spotcheck::domain::paging::Paging::new(1, 10).unwrap(),
        )
        .unwrap()
        .1[0]
            .id;
        (dead, sent, waiting)
    };
    let kari = Browser::sign_in(&app, "kari", PASSWORD).await;

    let (status, page) = kari.get("/outbox").await;
    assert_eq!(status, 200);
    assert!(page.contains("feilet permanent"));
    assert!(page.contains("venter"));
    assert!(page.contains("sendt"));
    assert!(
        page.contains("E-postserveren avviste meldingen for godt."),
        "the error in words"
    );
    assert!(page.contains("no such user here"), "and as the server said it");
    assert!(page.contains("Mottaker 1"));
    assert!(page.contains("finnes.ikke@nav.test"));
    assert!(page.contains("Emne nummer 1"));
    assert_eq!(
        page.matches(">Send på nytt</button>").count(),
        1,
        "only on the dead letter"
    );
    assert!(page.contains(&format!("/outbox/{dead}/retry")));
    assert_no_codes(&page, "the outbox");

    // Filter and paging.
    let (_, only_dead) = kari.get("/outbox?status=dead").await;
    assert!(only_dead.contains("Emne nummer 1"));
    assert!(!only_dead.contains("Emne nummer 2"));
    assert!(!only_dead.contains("Emne nummer 3"));
    assert!(only_dead.contains("<option value=\"dead\" selected>feilet permanent</option>"));
    let (_, first) = kari.get("/outbox?per_page=2").await;
    assert!(first.contains("side 1 av 2"));
    assert!(first.contains("page=2\" rel=\"next\""));
    let (_, second) = kari.get("/outbox?per_page=2&page=2").await;
    assert!(second.contains("side 2 av 2"));
    assert_eq!(
        [&first, &second]
            .iter()
            .map(|p| p.matches("Emne nummer").count())
            .sum::<usize>(),
        3
    );
    assert_eq!(kari.get("/outbox?status=lost").await.0, 400);

    // Per may not; a forged token changes nothing; only a dead letter goes back.
    let per = Browser::sign_in(&app, "per", PASSWORD).await;
    assert_eq!(
        per.post(&format!("/outbox/{dead}/retry"), &[]).await.status(),
        403
    );
    let r = kari
        .post_raw(&format!("/outbox/{dead}/retry"), &[("csrf_token", "forfalsket")])
        .await;
    assert_eq!(r.status(), 403);
    let r = kari.post(&format!("/outbox/{sent}/retry"), &[]).await;
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("bare e-post som har feilet permanent")
    );
    assert_eq!(
        kari.post(&format!("/outbox/{waiting}/retry"), &[]).await.status(),
        409
    );
    assert_eq!(kari.post("/outbox/999999/retry", &[]).await.status(), 404);
    let status_of = |id: i64| {
        outbox::find(&mut app.pool.get().unwrap(), id)
            .unwrap()
            .unwrap()
            .status
    };
    assert_eq!(status_of(dead), "dead");

    let r = kari.post(&format!("/outbox/{dead}/retry"), &[]).await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert_eq!(to, format!("/outbox?done=retried&id={dead}"));
    assert_eq!(status_of(dead), "pending");
    let (_, page) = kari.get(&to).await;
    assert!(page.contains(&format!("E-post nr. {dead} er lagt i kø igjen")));
    assert_eq!(page.matches(">Send på nytt</button>").count(), 0);
    let retried: Vec<(String, String)> = audit_log::table
        .filter(audit_log::action.eq("outbox.retry"))
        .select((audit_log::actor, audit_log::object_id))
        .load(&mut app.pool.get().unwrap())
        .unwrap();
    assert_eq!(retried, [("user:kari".to_owned(), dead.to_string())]);
    let admin = Browser::sign_in(&app, "admin", common::ADMIN_PASSWORD).await;
    let (_, audit) = admin.get("/admin/audit?object_type=outbox").await;
    assert!(audit.contains("E-post lagt i kø på nytt"));
    assert!(
        audit.contains("Etter 1 mislykkede forsøk; siste feil: E-postserveren avviste meldingen for godt.")
    );
    assert!(!audit.contains("outbox.retry"));
}

backend_tests!(
    pages_refuse_roles_without_permission_and_forms_without_token,
    role_change_and_disable_take_effect,
    passwords_are_never_echoed,
    tokens_are_shown_once_work_and_can_be_revoked,
    audit_log_filters_pages_and_reads_in_norwegian,
    liaisons_are_added_edited_and_removed_with_errors_beside_fields,
    outbox_lists_messages_and_puts_dead_letters_back,
);

/// Every action code the services write has a Norwegian event name: the literals after
/// `action:` in `src/`, and the `case.*` actions of `service::cases` (passed to a helper).
#[test]
fn every_audit_action_has_a_norwegian_name() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    fn literals(s: &str) -> Vec<String> {
        s.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .filter(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'))
            .collect()
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root.join("service"), &mut files);
    walk(&root.join("db"), &mut files);
    let mut codes = std::collections::BTreeSet::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("action:") {
                codes.extend(literals(rest));
            } else if f.ends_with("service/cases.rs") {
                codes.extend(literals(line).into_iter().filter(|l| l.starts_with("case.")));
            }
        }
    }
    for expected in [
        "user.create",
        "user.disable",
        "user.enable",
        "case.close_confirmed",
        "draw.publish",
    ] {
        assert!(codes.contains(expected), "the scan finds {expected}: {codes:?}");
    }
    let unnamed: Vec<&String> = codes
        .iter()
        .filter(|c| spotcheck::web::pages::labels::audit_action(c) == c.as_str())
        .collect();
    assert!(
        unnamed.is_empty(),
        "audit actions without a Norwegian name: {unnamed:?}"
    );
    assert_eq!(
        spotcheck::web::pages::labels::audit_action("ukjent.kode"),
        "ukjent.kode"
    );
}

/// The code check above reads what a person reads: codes in attributes pass, a code in
/// the text is caught.
#[test]
fn the_code_check_reads_only_the_visible_text() {
    assert_no_codes(
        "<option value=\"innkjoper\" selected>Innkjøper</option><td>x@nav.no, NAV</td>",
        "a clean page",
    );
    for bad in [
        "<td>dead</td>",
        "<p>Rolle: innkjoper.</p>",
        "<td>renhold, bygg_anlegg</td>",
    ] {
        let caught = std::panic::catch_unwind(|| assert_no_codes(bad, "a page with a code"));
        assert!(caught.is_err(), "{bad} is caught");
    }
}
