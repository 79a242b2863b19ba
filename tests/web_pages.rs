//! Issue 14: the overview, the contract list and error pages as people use them, over the
//! real HTTP stack with a signed-in session, on SQLite and PostgreSQL:
//! - the overview per role: Kemneren and innkjøpere see their contracts by industry and tier
//!   as an SVG chart with the numbers as a table, recent imports; an A-krim partner sees no
//!   contracts; no internal code reaches the text;
//! - the contract list: search by contract number, several tiers at once, value bounds,
//!   sorting and page size; a bad value is shown beside its field with what was typed kept;
//!   the selection downloads as csv (formulas neutralised) and xlsx (every row);
//! - error pages keep the signed-in user's menu.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::workbook::xlsx;
use common::{Backend, PASSWORD, TestApp};
use spotcheck::domain::roles::{Agency, Role};

/// Codes that must never reach what people read.
const CODES: [&str; 6] = [
    "bygg_anlegg",
    "not_approved",
    "supplier.",
    "contract.",
    "renhold,",
    "høy,",
];

fn assert_no_codes(html: &str, page: &str) {
    let text = common::visible_text(html);
    for code in CODES {
        assert!(
            !text.contains(code),
            "{page} shows the internal code {code:?}:\n{text}"
        );
    }
}

/// A register with cleaning and construction contracts, one title a spreadsheet would run.
fn register() -> Vec<u8> {
    xlsx(
        &[
            "Avtalenr",
            "Avtalenavn",
            "Leverandør",
            "Org.nr",
            "Kontraktsverdi",
            "Startdato",
            "Sluttdato",
            "CPV",
            "Enhet",
        ],
        [
            (
                "R-100",
                "Renhold av skoler",
                "Rent og Pent AS",
                "923609016",
                "1 200 000",
                "90910000",
                "Skoleetaten",
            ),
            (
                "R-101",
                "Vindusvask",
                "Rent og Pent AS",
                "923609016",
                "80 000",
                "90911300",
                "Skoleetaten",
            ),
            (
                "B-200",
                "=HYPERLINK(\"http://x\")",
                "Bygg og Betong AS",
                "914873681",
                "5 000 000",
                "45210000",
                "Etat for bygg",
            ),
            (
                "B-201",
                "Tømrerarbeid",
                "Bygg og Betong AS",
                "914873681",
                "450 000",
                "45420000",
                "Etat for bygg",
            ),
            (
                "K-300",
                "Kontorrekvisita",
                "Papir AS",
                "974760673",
                "30 000",
                "30192000",
                "Innkjøp",
            ),
        ]
        .iter()
        .map(|&(no, title, name, orgnr, value, cpv, unit)| {
            vec![
                no.into(),
                title.into(),
                name.into(),
                orgnr.into(),
                value.into(),
                "01.01.2026".into(),
                "31.12.2027".into(),
                cpv.into(),
                unit.into(),
            ]
        }),
    )
}

async fn app_with_register(backend: Backend) -> TestApp {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    app.add_user("anne", Role::Innkjoper, None);
    app.add_user("ola", Role::Akrim, Some(Agency::Nav));
    let r = app
        .upload(&app.token_for("kem"), "register.xlsx", register(), &[])
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["rows_rejected"], 0, "{body:#}");
    app
}

async fn page(app: &TestApp, session: &str, path: &str) -> (u16, String) {
    let r = app.get_with_session(path, session).await;
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

async fn overview_per_role(backend: Backend) {
    let app = app_with_register(backend).await;
    let kem = app.login("kem", PASSWORD).await.unwrap();
    let (status, html) = page(&app, &kem, "/").await;
    assert_eq!(status, 200);
    assert!(html.contains("<svg"), "a chart is drawn");
    assert!(html.contains("Kontrakter per bransje og risikonivå"));
    let text = common::visible_text(&html);
    assert!(
        text.contains("Bygg og anlegg") && text.contains("Renhold"),
        "{text}"
    );
    assert!(text.contains("register.xlsx"), "recent imports listed: {text}");
    assert!(text.contains("Åpne saker"), "{text}");
    // The table beside the chart: Renhold's row counts its two contracts.
    let renhold_row = html
        .split("<tr>")
        .find(|r| r.contains("<th scope=\"row\">Renhold</th>"))
        .expect("a table row for Renhold");
    let counts: i64 = renhold_row
        .split("<td class=\"num\">")
        .skip(1)
        .filter_map(|c| c.split('<').next()?.trim().parse::<i64>().ok())
        .sum();
    assert_eq!(counts, 2, "{renhold_row}");
    assert_no_codes(&html, "overview (kemner)");

    // The A-krim partner: no contracts, no imports, but cases.
    let ola = app.login("ola", PASSWORD).await.unwrap();
    let (status, html) = page(&app, &ola, "/").await;
    assert_eq!(status, 200);
    let text = common::visible_text(&html);
    assert!(
        !text.contains("register.xlsx") && !text.contains("Kontrakter per bransje"),
        "{text}"
    );
    assert!(text.contains("Åpne saker"), "{text}");

    // An innkjøper with no imports of their own sees an empty overview that says what to do.
    let anne = app.login("anne", PASSWORD).await.unwrap();
    let (_, html) = page(&app, &anne, "/").await;
    let text = common::visible_text(&html);
    assert!(text.contains("Ingen kontrakter ennå"), "{text}");
    assert!(!text.contains("Bygg og Betong"), "{text}");
    app.stop();
}

async fn contract_list_filters_sorts_and_keeps_input(backend: Backend) {
    let app = app_with_register(backend).await;
    let kem = app.login("kem", PASSWORD).await.unwrap();
    let rows = |html: &str| html.matches("<a href=\"/contracts/").count();

    // A contract number finds its contract.
    let (status, html) = page(&app, &kem, "/contracts?q=B-20").await;
    assert_eq!(status, 200);
    assert_eq!(rows(&html), 2, "B-200 and B-201");
    assert!(common::visible_text(&html).contains("2 kontrakter"));

    // Value bounds and sorting by value: highest first.
    let (_, html) = page(&app, &kem, "/contracts?min_kr=100+000&sort=value").await;
    assert_eq!(rows(&html), 3);
    let first = html.find(">B-200<").unwrap();
    let second = html.find(">R-100<").unwrap();
    let third = html.find(">B-201<").unwrap();
    assert!(first < second && second < third, "sorted by value");

    // Page size: one per page, with a way on.
    let (_, html) = page(&app, &kem, "/contracts?per_page=50").await;
    assert_eq!(rows(&html), 5);
    assert_no_codes(&html, "contract list");

    // Several tiers at once: every tier selected is every scored contract.
    let (_, html) = page(
        &app,
        &kem,
        "/contracts?tier=lav&tier=middels&tier=h%C3%B8y&tier=kritisk",
    )
    .await;
    assert_eq!(rows(&html), 5);
    let (_, html) = page(&app, &kem, "/contracts?tier=kritisk").await;
    assert!(rows(&html) < 5);

    // A bad amount: 422, the error beside the field, the typed text kept.
    let (status, html) = page(&app, &kem, "/contracts?min_kr=mange&q=R-1").await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"min_kr-error\""), "{html}");
    assert!(html.contains("«mange» er ikke et beløp i kroner"));
    assert!(html.contains("value=\"mange\""));
    assert!(html.contains("value=\"R-1\""));
    assert!(html.contains("aria-label=\"Hovedmeny\""), "the menu stays");

    // An innkjøper sees only their own contracts (none).
    let anne = app.login("anne", PASSWORD).await.unwrap();
    let (_, html) = page(&app, &anne, "/contracts?q=B-200").await;
    assert_eq!(rows(&html), 0);
    app.stop();
}

async fn contract_list_downloads(backend: Backend) {
    let app = app_with_register(backend).await;
    let kem = app.login("kem", PASSWORD).await.unwrap();
    let r = app
        .get_with_session("/contracts?format=csv&sort=contract_no", &kem)
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("kontrakter.csv")
    );
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 6, "header and five contracts:\n{csv}");
    assert!(lines[0].contains("Avtalenr.") && lines[0].contains("Risikonivå"));
    assert!(lines[1].starts_with("B-200"), "{csv}");
    assert!(csv.contains("'=HYPERLINK"), "the formula is neutralised: {csv}");
    assert!(!csv.contains("bygg_anlegg"), "industries in words: {csv}");

    let r = app.get_with_session("/contracts?format=xlsx&q=R-", &kem).await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    use calamine::Reader;
    let range = book.worksheet_range("Kontrakter").unwrap();
    assert_eq!(range.height(), 3, "header and the two R- contracts");
    let formulas = book.worksheet_formula("Kontrakter").unwrap();
    assert!(formulas.used_cells().next().is_none(), "no formula cells");

    let (status, html) = page(&app, &kem, "/contracts?format=pdf").await;
    assert_eq!(status, 422);
    assert!(html.contains("Ukjent filformat «pdf»"));
    app.stop();
}

async fn error_pages_keep_the_menu(backend: Backend) {
    let app = app_with_register(backend).await;
    let ola = app.login("ola", PASSWORD).await.unwrap();
    let (status, html) = page(&app, &ola, "/imports").await;
    assert_eq!(status, 403);
    assert!(html.contains("Ingen tilgang"));
    assert!(html.contains("aria-label=\"Hovedmeny\""), "{html}");
    assert!(html.contains("Logg ut"));
    let (status, html) = page(&app, &ola, "/finnes-ikke").await;
    assert_eq!(status, 404);
    assert!(html.contains("aria-label=\"Hovedmeny\""));
    // Not signed in: no menu, and the page still answers.
    let r = app.client.get(app.url("/finnes-ikke")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(!r.text().await.unwrap().contains("Hovedmeny"));
    app.stop();
}

async fn supplier_pages(backend: Backend) {
    let app = app_with_register(backend).await;
    let kem = Browser::sign_in(&app, "kem", PASSWORD).await;
    let (status, html) = kem.get("/suppliers").await;
    assert_eq!(status, 200);
    assert!(html.contains("href=\"/suppliers/923609016\""), "{html}");
    let (status, html) = kem.get("/suppliers/923 609 016").await;
    assert_eq!(status, 200);
    assert!(common::visible_text(&html).contains("Rent og Pent AS"));
    let (status, _) = kem.get("/suppliers/123").await;
    assert_eq!(status, 400);
    // A fresh look-up: refused without the form token, audited with it.
    let r = kem
        .post_raw("/suppliers/923609016/refresh", &[("csrf_token", "feil")])
        .await;
    assert_eq!(r.status(), 403);
    let before = app.count("audit_log");
    let r = kem.post("/suppliers/923609016/refresh", &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/suppliers/923609016?sendt=1");
    assert_eq!(app.count("audit_log"), before + 1);
    let (_, html) = kem.get("/suppliers/923609016?sendt=1").await;
    assert!(html.contains("Nytt oppslag i Enhetsregisteret er bestilt"));
    assert!(
        common::visible_text(&html).contains("venter på oppslag"),
        "the job in words"
    );
    // Not for innkjøpere.
    let anne = app.login("anne", PASSWORD).await.unwrap();
    assert_eq!(page(&app, &anne, "/suppliers").await.0, 403);
    assert_eq!(page(&app, &anne, "/suppliers/923609016").await.0, 403);
    app.stop();
}

async fn rule_pages(backend: Backend) {
    let app = app_with_register(backend).await;
    let anne = app.login("anne", PASSWORD).await.unwrap();
    let (status, html) = page(&app, &anne, "/rules").await;
    assert_eq!(status, 200);
    let text = common::visible_text(&html);
    assert!(
        text.contains("Bygg og anlegg") && text.contains("Renholdsregisteret"),
        "{text}"
    );
    assert!(
        !text.contains("indicators.toml"),
        "sources are titles, not file names"
    );
    assert!(!html.contains("href=\"/rules/edit\""), "innkjøpere do not edit");
    assert_eq!(page(&app, &anne, "/rules/edit").await.0, 403);

    let kem = app.login("kem", PASSWORD).await.unwrap();
    let (status, html) = page(&app, &kem, "/rules/edit").await;
    assert_eq!(status, 200);
    let csrf = common::hidden_field(&html, "csrf_token").unwrap();
    let files = spotcheck::service::rules::default_files();
    let form_with = |edit: &dyn Fn(&str, &str) -> String, action: &str| {
        let mut form: Vec<(String, String)> = vec![
            ("csrf_token".into(), csrf.clone()),
            ("action".into(), action.into()),
        ];
        for (name, text) in &files {
            form.push(("name".into(), name.clone()));
            form.push(("text".into(), edit(name, text)));
        }
        form
    };
    // A broken tiers file: 422, the error beside tiers.toml with its line, the text kept.
    let broken = form_with(
        &|name, text| {
            if name == "tiers.toml" {
                format!("{text}\n[[tier]]\nid = \"x\"\nmin_score = \"mye\"\n")
            } else {
                text.to_owned()
            }
        },
        "activate",
    );
    let r = app
        .client
        .post(app.url("/rules/edit"))
        .header("Cookie", format!("spotcheck_session={kem}"))
        .form(&broken)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Regelsettet har feil og er ikke tatt i bruk"),
        "{html}"
    );
    assert!(html.contains("Linje "), "errors name their line");
    assert!(
        html.contains("min_score = &quot;mye&quot;") || html.contains("min_score = &#34;mye&#34;"),
        "typed text kept"
    );
    let version_before = app
        .api_get("/api/v1/rules", &app.token_for("kem"))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["version"]
        .clone();
    // Checking a valid set changes nothing; activating it with a new weight does.
    let valid = form_with(&|_, text| text.to_owned(), "validate");
    let r = app
        .client
        .post(app.url("/rules/edit"))
        .header("Cookie", format!("spotcheck_session={kem}"))
        .form(&valid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Regelsettet er gyldig"));
    let heavier = form_with(
        &|name, text| {
            if name == "indicators.toml" {
                text.replacen("weight = ", "weight = 1", 1)
            } else {
                text.to_owned()
            }
        },
        "activate",
    );
    let r = app
        .client
        .post(app.url("/rules/edit"))
        .header("Cookie", format!("spotcheck_session={kem}"))
        .form(&heavier)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let version_after = app
        .api_get("/api/v1/rules", &app.token_for("kem"))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["version"]
        .clone();
    assert_ne!(version_before, version_after);
    let (_, html) = page(&app, &kem, "/rules?aktivert=x").await;
    assert!(html.contains(&format!("title=\"{}\"", version_after.as_str().unwrap())));
    app.stop();
}

async fn reports_page(backend: Backend) {
    let app = app_with_register(backend).await;
    let kem = app.login("kem", PASSWORD).await.unwrap();
    let (status, html) = page(&app, &kem, "/reports?from=2026-01-01&to=2026-12-31&year=2026").await;
    assert_eq!(status, 200);
    let text = common::visible_text(&html);
    assert!(
        text.contains("Treffrate") && text.contains("Status for bystyret 2026"),
        "{text}"
    );
    assert!(
        text.contains("1. kvartal 2026") && text.contains("Henvist til Arbeidstilsynet"),
        "{text}"
    );
    let (status, html) = page(&app, &kem, "/reports?from=i+går&to=2026-12-31&year=2026").await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"from-error\"") && html.contains("value=\"i går\""));
    let r = app
        .get_with_session(
            "/reports?from=2026-01-01&to=2026-12-31&year=2026&report=bystyre&format=csv",
            &kem,
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("bystyrestatus-2026.csv")
    );
    assert!(r.text().await.unwrap().contains("Kvartal"));
    let anne = app.login("anne", PASSWORD).await.unwrap();
    assert_eq!(page(&app, &anne, "/reports").await.0, 403);
    app.stop();
}

async fn import_errors_download(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("anne", Role::Innkjoper, None);
    app.add_user("per", Role::Innkjoper, None);
    let r = app
        .upload(
            &app.token_for("anne"),
            "register_nb.xlsx",
            common::fixture("import/register_nb.xlsx"),
            &[],
        )
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    let id = body["batch_id"].as_i64().unwrap();
    let anne = app.login("anne", PASSWORD).await.unwrap();
    let (status, html) = page(&app, &anne, &format!("/imports/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("href=\"/imports/{id}?format=csv\"")));
    let r = app
        .get_with_session(&format!("/imports/{id}?format=csv"), &anne)
        .await;
    assert_eq!(r.status(), 200);
    let csv = r.text().await.unwrap();
    // 13 rejected rows carry 14 errors (fixtures/import/README.md).
    assert_eq!(csv.lines().count(), 15, "{csv}");
    assert!(csv.lines().next().unwrap().contains("Hva må rettes"));
    let r = app
        .get_with_session(&format!("/imports/{id}?format=xlsx"), &anne)
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], spotcheck::export::XLSX_CONTENT_TYPE);
    // Someone else's import is not theirs to download.
    let per = app.login("per", PASSWORD).await.unwrap();
    assert_eq!(
        app.get_with_session(&format!("/imports/{id}?format=csv"), &per)
            .await
            .status(),
        404
    );
    app.stop();
}

async fn a_refused_upload_keeps_the_form(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("anne", Role::Innkjoper, None);
    let anne = Browser::sign_in(&app, "anne", PASSWORD).await;
    let r = app
        .client
        .post(app.url("/imports"))
        .header("Cookie", format!("spotcheck_session={}", anne.session))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf_token", anne.csrf.clone())
                .text("sheet", "Kontrakter 2026")
                .text("dry_run", "on")
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(common::fixture("import/empty.xlsx"))
                        .file_name("tom.xlsx"),
                ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"file-error\""),
        "the reason beside the file field: {html}"
    );
    assert!(html.contains("Filen ble ikke importert"));
    assert!(html.contains("value=\"Kontrakter 2026\""), "the sheet as typed");
    assert!(
        html.contains("name=\"dry_run\" value=\"on\" checked"),
        "the dry run as ticked"
    );
    assert!(html.contains("aria-label=\"Hovedmeny\""), "the menu stays");
    assert_eq!(app.count("import_batches"), 0, "nothing stored");
    app.stop();
}

backend_tests!(
    a_refused_upload_keeps_the_form,
    import_errors_download,
    supplier_pages,
    rule_pages,
    reports_page,
    overview_per_role,
    contract_list_filters_sorts_and_keeps_input,
    contract_list_downloads,
    error_pages_keep_the_menu,
);
