//! The draw pages over HTTP with a real session and CSRF token, on SQLite and PostgreSQL:
//! the wizard keeps every value through its steps and its refusals; its preview shows the
//! fingerprint the API's preview gives; publishing draws what the API draws with the same
//! seed; a population changed since the preview is refused; the ceremony views; the draw
//! page (verification, manifest, extension, inspection lists); roles and CSRF; and no
//! internal codes in what people read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::{Backend, PASSWORD, TestApp, hidden_field};
use serde_json::{Value, json};
use spotcheck::db::models::Actor;
use spotcheck::db::models::users::{self, User};
use spotcheck::domain::liaison::LiaisonDraft;
use spotcheck::domain::roles::{Agency, Role};
use spotcheck::service::draws::{self, DrawFilter, DrawSpec};

const SEED: &str = "2026-12-07 rådhuset: 3 8 1 5 0 6 2 2 7 9";

/// Eight contracts: five in cleaning (CPV 9091…), three in construction (CPV 45…).
const REGISTER: &str = "Avtalenr;Tittel;Leverandør;Org.nr;CPV;Verdi;Antall ledd;Startdato;Sluttdato;Enhet
R-1;Renhold skoler;Rent & Pent AS;923609016;90910000;3000000;4;01.01.2025;31.12.2027;Bergenhus
R-2;Renhold barnehager;Vask AS;991825827;90910000;80000;1;01.01.2025;31.12.2027;Fana
R-3;Vindusvask;Rent & Pent AS;923609016;90911300;120000;2;01.01.2025;31.12.2027;Årstad
R-4;Renhold rådhus;Vask AS;991825827;90910000;950000;3;01.01.2025;31.12.2027;Bergenhus
R-5;Renhold idrettshaller;Rent & Pent AS;923609016;90910000;410000;1;01.01.2025;31.12.2027;Fana
B-1;Rehabilitering bad;Bygg og Bolt AS;974760673;45000000;900000;1;01.01.2025;31.12.2027;Årstad
B-2;Asfalt;Bygg og Bolt AS;974760673;45000000;700000;2;01.01.2025;31.12.2027;Fana
B-3;Tak skole;Bygg og Bolt AS;974760673;45000000;2500000;3;01.01.2025;31.12.2027;Bergenhus
";

fn user(app: &TestApp, name: &str) -> User {
    users::find_by_username(&mut app.pool.get().unwrap(), name)
        .unwrap()
        .unwrap()
}

fn import(app: &TestApp, file: &str, text: &str) {
    let rules = common::rules::shipped_rules();
    let report = spotcheck::service::imports::import_and_score(
        &app.pool,
        &rules,
        &user(app, "kari"),
        file,
        spotcheck::import::RegisterFile::Bytes(text.as_bytes()),
        &spotcheck::import::ImportOptions::default(),
        false,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.rows_rejected, 0, "{:?}", report.errors);
}

/// Kemneren `kari`, A-krim `ola` (Arbeidstilsynet), innkjøper `per`, the register imported
/// and scored, and a liaison who covers every industry.
async fn setup(backend: Backend) -> TestApp {
    let app = TestApp::start(backend).await;
    app.add_user("kari", Role::Kemner, None);
    app.add_user("ola", Role::Akrim, Some(Agency::Arbeidstilsynet));
    app.add_user("per", Role::Innkjoper, None);
    import(&app, "register.csv", REGISTER);
    let draft = LiaisonDraft {
        name: "Ola".into(),
        agency: "arbeidstilsynet".into(),
        email: "ola@arbeidstilsynet.test".into(),
        industries: Vec::new(),
        notices: vec!["draw_published".into()],
        user: None,
    };
    spotcheck::service::liaisons::create(
        &mut app.pool.get().unwrap(),
        &Actor::system(),
        &common::rules::shipped_rules(),
        &draft,
    )
    .unwrap();
    app
}

/// The wizard's fields for a draw of 4 from cleaning and construction in 2025–2027.
fn wizard_fields(size: &str) -> Vec<(&'static str, String)> {
    vec![
        ("industry", "renhold".into()),
        ("industry", "bygg_anlegg".into()),
        ("min_tier", String::new()),
        ("units", String::new()),
        ("active_from", "01.01.2025".into()),
        ("active_to", "2027-12-31".into()),
        ("exclude_checked_months", String::new()),
        ("include", String::new()),
        ("exclude", String::new()),
        ("strata", "industry".into()),
        ("size", size.into()),
        ("tolerable_rate", String::new()),
        ("confidence", "95".into()),
        ("uniform_share", "50".into()),
        ("allocation", "size".into()),
        ("min_per_stratum", "0".into()),
    ]
}

fn with_token(b: &Browser<'_>, mut fields: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    fields.push(("csrf_token", b.csrf.clone()));
    fields
}

/// The same draw as the API body.
fn api_spec(seed: Option<&str>) -> Value {
    let mut v = json!({
        "filter": {
            "industries": ["renhold", "bygg_anlegg"],
            "active_from": "2025-01-01",
            "active_to": "2027-12-31"
        },
        "strata": "industry",
        "size": 4,
        "uniform_share": "50%",
        "allocation": "size"
    });
    match seed {
        Some(s) => v["seed"] = json!(s),
        None => v["preview"] = json!(true),
    }
    v
}

async fn api_post(app: &TestApp, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let r = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Every `href` in `html` that starts with `prefix`, unescaped.
fn hrefs(html: &str, prefix: &str) -> Vec<String> {
    let marker = format!("href=\"{prefix}");
    html.match_indices(&marker)
        .map(|(i, _)| {
            let start = i + "href=\"".len();
            let end = html[start..].find('"').unwrap() + start;
            unescape(&html[start..end])
        })
        .collect()
}

/// HTML character references back to text (the few askama writes).
fn unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
}

/// The text of the element that starts with `open` (escaped as on the page).
fn element_text<'a>(html: &'a str, open: &str) -> &'a str {
    let start = html
        .find(open)
        .unwrap_or_else(|| panic!("{open} not on the page"))
        + open.len();
    let end = html[start..].find('<').unwrap() + start;
    &html[start..end]
}

/// Codes that must never be read on a page.
const CODES: [&str; 8] = [
    "bygg_anlegg",
    "weighted",
    "uniform",
    "os_rng",
    "by_size",
    "by_risk_mass",
    "manifest_sha256",
    "seed_source",
];

fn assert_no_codes(page: &str, what: &str) {
    let text = common::visible_text(page);
    for code in CODES {
        assert!(
            !text.contains(code),
            "{what} shows the internal code {code:?}:\n{text}"
        );
    }
}

async fn wizard_keeps_values_and_previews_the_api_fingerprint(backend: Backend) {
    let app = setup(backend).await;
    let kari = Browser::sign_in(&app, "kari", PASSWORD).await;

    // Step 1 pre-filled from a query (coming back from a later step).
    let (status, page) = kari
        .get("/draws/new?industry=renhold&size=3&units=Fana&strata=none")
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("value=\"renhold\" checked"), "industry kept");
    assert!(!page.contains("value=\"bygg_anlegg\" checked"));
    assert!(page.contains("id=\"size\" name=\"size\" value=\"3\""));
    assert!(page.contains("id=\"units\" name=\"units\" value=\"Fana\""));
    assert!(page.contains("value=\"none\" checked"));
    assert_no_codes(&page, "step 1");

    // Step 2: the preview carries every value as hidden fields.
    let r = kari
        .post_raw("/draws/new/preview", &with_token(&kari, wizard_fields("4")))
        .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    for (name, value) in [
        ("active_from", "01.01.2025"),
        ("active_to", "2027-12-31"),
        ("size", "4"),
        ("uniform_share", "50"),
        ("strata", "industry"),
    ] {
        assert_eq!(hidden_field(&page, name).as_deref(), Some(value), "hidden {name}");
    }
    assert!(page.contains("name=\"industry\" value=\"renhold\""));
    assert!(page.contains("name=\"industry\" value=\"bygg_anlegg\""));
    let sha = hidden_field(&page, "expected_sha256").expect("the fingerprint goes along");
    assert_eq!(sha.len(), 64);
    assert!(
        page.contains(&format!("id=\"fingerprint\">{sha}</code>")),
        "shown in full"
    );
    assert!(page.contains("8 kontrakter"), "population size");
    assert!(
        page.contains("Renhold") && page.contains("Bygg og anlegg"),
        "strata by name"
    );
    assert_no_codes(&page, "the preview");

    // The API's preview of the same draw has the same fingerprint.
    let token = app.token_for("kari");
    let (status, api) = api_post(&app, "/api/v1/draws", &token, &api_spec(None)).await;
    assert_eq!(status, 200, "{api}");
    assert_eq!(api["manifest_sha256"], json!(sha));
    assert_eq!(api["population_size"], json!(8));

    // The ceremony link keeps the filter and shows the same fingerprint, large.
    let links = hrefs(&page, "/draws/new/ceremony?");
    assert_eq!(links.len(), 1, "one link to the presentation mode");
    let (status, ceremony) = kari.get(&links[0]).await;
    assert_eq!(status, 200, "{}: {ceremony}", links[0]);
    assert!(ceremony.contains(&format!("aria-label=\"{sha}\"")));
    assert!(ceremony.contains("class=\"big\" id=\"population\">8 kontrakter"));
    assert!(!ceremony.contains("Hovedmeny"), "little chrome: no menu");
    assert_eq!(
        hidden_field(&ceremony, "expected_sha256").as_deref(),
        Some(sha.as_str())
    );
    assert_eq!(hidden_field(&ceremony, "view").as_deref(), Some("ceremony"));
    assert_no_codes(&ceremony, "the ceremony view");
    // «Endre filteret» goes back to step 1 with the values.
    let back = hrefs(&page, "/draws/new?");
    let (_, step1) = kari.get(&back[0]).await;
    assert!(step1.contains("value=\"bygg_anlegg\" checked"));
    assert!(step1.contains("id=\"active_from\" name=\"active_from\" value=\"01.01.2025\""));

    // A bad value: step 1 again, 422, the message beside the field, the rest as typed.
    let mut bad = wizard_fields("tre");
    bad.retain(|(k, _)| *k != "units");
    bad.push(("units", "Fana, Årstad".into()));
    let r = kari.post_raw("/draws/new/preview", &with_token(&kari, bad)).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("<p class=\"field-error\" id=\"size-error\">Skriv et helt tall fra 1 til 1000000.</p>")
    );
    assert!(page.contains("id=\"size\" name=\"size\" value=\"tre\""));
    assert!(page.contains("name=\"units\" value=\"Fana, Årstad\""));
    assert!(page.contains("value=\"renhold\" checked"));

    // A refusal of the service (nothing passes the filter) is shown above the form, 409.
    let mut empty = wizard_fields("4");
    empty.retain(|(k, _)| *k != "units");
    empty.push(("units", "Ingen slik enhet".into()));
    let r = kari
        .post_raw("/draws/new/preview", &with_token(&kari, empty))
        .await;
    assert_eq!(r.status(), 409);
    let page = r.text().await.unwrap();
    assert!(page.contains("Ingen kontrakter passer filteret"), "{page}");
    assert!(page.contains("value=\"Ingen slik enhet\""));
    assert_eq!(app.count("draws"), 0, "previews store nothing");
    app.stop();
}

async fn publish_draws_what_the_api_draws(backend: Backend) {
    let app = setup(backend).await;
    let kari = Browser::sign_in(&app, "kari", PASSWORD).await;
    let r = kari
        .post_raw("/draws/new/preview", &with_token(&kari, wizard_fields("4")))
        .await;
    let page = r.text().await.unwrap();
    let sha = hidden_field(&page, "expected_sha256").unwrap();

    let mut fields = with_token(&kari, wizard_fields("4"));
    fields.push(("expected_sha256", sha.clone()));
    fields.push(("seed", format!("  {SEED} ")));
    let r = kari.post_raw("/draws", &fields).await;
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/draws/") && location.ends_with("?publisert=1"),
        "{location}"
    );
    let id: i64 = location["/draws/".len()..location.find('?').unwrap()]
        .parse()
        .unwrap();

    // The same spec and seed through the API gives the same picks.
    let token = app.token_for("kari");
    let (status, api) = api_post(&app, "/api/v1/draws", &token, &api_spec(Some(SEED))).await;
    assert_eq!(status, 201, "{api}");
    let page_draw: Value = app
        .api_get(&format!("/api/v1/draws/{id}"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page_draw["seed"],
        json!(SEED),
        "the seed without the blanks around it"
    );
    assert_eq!(page_draw["seed_source"], json!("ceremony"));
    assert_eq!(page_draw["manifest_sha256"], json!(sha));
    let picks = |d: &Value| -> Vec<(String, String, String)> {
        d["picks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["id"].as_str().unwrap().to_owned(),
                    p["stratum"].as_str().unwrap().to_owned(),
                    p["part"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(picks(&page_draw).len(), 4);
    assert_eq!(picks(&page_draw), picks(&api));
    assert_eq!(page_draw["plans"], api["plans"]);

    // The draw page: picks in order with their cases, the verification, no codes.
    let (status, page) = kari.get(&location).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("Trekning {id} er publisert")));
    assert!(
        page.contains("Trekningen er kontrollert: alle 4 trekkene"),
        "{page}"
    );
    let first = &picks(&page_draw)[0].0;
    let last = &picks(&page_draw)[3].0;
    let (a, b) = (
        page.find(first.as_str()).unwrap(),
        page.rfind(last.as_str()).unwrap(),
    );
    assert!(a < b, "picks in order");
    assert!(page.contains(&format!("<code id=\"seed\">{SEED}</code>")));
    assert!(
        page.contains(&format!("title=\"{sha}\">{}…", &sha[..12])),
        "short, full on hover"
    );
    assert!(page.contains("href=\"/cases/"), "case links");
    assert!(page.contains("vektet etter risiko") && page.contains("likt tilfeldig"));
    assert!(page.contains("class=\"tier tier-"), "tier with its colour");
    assert_no_codes(&page, "the draw page");

    // The manifest download is the hashed text.
    let r = app
        .get_with_session(&format!("/draws/{id}/manifest"), &kari.session)
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    assert_eq!(spotcheck::sampling::sha256_hex(&text), sha);
    let r = app
        .get_with_session(&format!("/draws/{id}/record"), &kari.session)
        .await;
    let record: Value = r.json().await.unwrap();
    assert_eq!(record["picks"], page_draw["picks"]);

    // The ceremony's result view: the seed and the picks in order.
    let (status, ceremony) = kari.get(&format!("/draws/{id}/ceremony")).await;
    assert_eq!(status, 200);
    assert!(ceremony.contains(&format!("id=\"seed\">{SEED}</p>")));
    assert!(ceremony.find(first.as_str()).unwrap() < ceremony.rfind(last.as_str()).unwrap());
    assert_no_codes(&ceremony, "the ceremony's result");

    // The list, and its exports.
    let (status, list) = kari.get("/draws").await;
    assert_eq!(status, 200);
    assert!(list.contains(&format!("href=\"/draws/{id}\">Trekning {id}</a>")));
    assert!(list.contains(&format!("<code title=\"{sha}\">{}…</code>", &sha[..12])));
    let weighted = picks(&page_draw).iter().filter(|p| p.2 == "weighted").count();
    assert!(
        list.contains(&format!(
            "{weighted} vektet etter risiko, {} likt tilfeldig",
            4 - weighted
        )),
        "the parts of each draw: {list}"
    );
    assert_no_codes(&list, "the list");
    let r = app.get_with_session("/draws?format=csv", &kari.session).await;
    assert_eq!(r.status(), 200);
    let csv = r.text().await.unwrap();
    let csv = csv.trim_start_matches('\u{feff}');
    assert!(csv.starts_with("Nr.;") || csv.starts_with("Nr.,"), "{csv}");
    assert!(csv.contains(&sha), "full fingerprint in the export");
    let r = app.get_with_session("/draws?format=xlsx", &kari.session).await;
    assert_eq!(r.status(), 200);
    assert_eq!(&r.bytes().await.unwrap()[..2], b"PK");
    assert_eq!(
        app.get_with_session("/draws?format=pdf", &kari.session)
            .await
            .status(),
        400
    );

    // Extension: a bad size is shown beside the field; a good one adds round 2.
    let r = kari
        .post_raw(
            &format!("/draws/{id}/extend"),
            &[
                ("csrf_token", kari.csrf.clone()),
                ("size", "0".into()),
                ("uniform_share", "".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"extend-size-error\""));
    assert!(page.contains("id=\"extend-size\" name=\"size\" value=\"0\""));
    let r = kari
        .post_raw(
            &format!("/draws/{id}/extend"),
            &[
                ("csrf_token", kari.csrf.clone()),
                ("size", "2".into()),
                ("uniform_share", "".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/draws/{id}?utvidet=2").as_str());
    let extended: Value = app
        .api_get(&format!("/api/v1/draws/{id}"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(extended["picks"].as_array().unwrap().len(), 6);
    assert_eq!(
        extended["picks"].as_array().unwrap()[..4],
        page_draw["picks"].as_array().unwrap()[..],
        "earlier picks stay"
    );
    app.stop();
}

async fn a_changed_population_is_refused(backend: Backend) {
    let app = setup(backend).await;
    let kari = Browser::sign_in(&app, "kari", PASSWORD).await;
    let r = kari
        .post_raw("/draws/new/preview", &with_token(&kari, wizard_fields("4")))
        .await;
    let sha = hidden_field(&r.text().await.unwrap(), "expected_sha256").unwrap();

    // A new cleaning contract arrives between the preview and the ceremony.
    import(
        &app,
        "more.csv",
        "Avtalenr;Tittel;Leverandør;Org.nr;CPV;Verdi;Antall ledd;Startdato;Sluttdato;Enhet\n\
         R-6;Renhold bibliotek;Vask AS;991825827;90910000;60000;1;01.01.2026;31.12.2027;Fana\n",
    );
    let mut fields = with_token(&kari, wizard_fields("4"));
    fields.push(("expected_sha256", sha.clone()));
    fields.push(("seed", SEED.into()));
    let r = kari.post_raw("/draws", &fields).await;
    assert_eq!(r.status(), 409);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Populasjonen er endret siden fingeravtrykket ble vist"),
        "{page}"
    );
    assert!(page.contains(&sha), "names the fingerprint that was shown");
    assert!(
        page.contains("id=\"size\" name=\"size\" value=\"4\""),
        "the filter is kept"
    );
    assert!(page.contains("value=\"bygg_anlegg\" checked"));
    assert_eq!(app.count("draws"), 0, "nothing published");

    // Publishing without a previewed fingerprint is refused too.
    let mut fields = with_token(&kari, wizard_fields("4"));
    fields.push(("seed", SEED.into()));
    let r = kari.post_raw("/draws", &fields).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Forhåndsvis populasjonen først"));

    // A seed with a control character: the preview again with the message at the seed.
    let r = kari
        .post_raw("/draws/new/preview", &with_token(&kari, wizard_fields("4")))
        .await;
    let sha = hidden_field(&r.text().await.unwrap(), "expected_sha256").unwrap();
    let mut fields = with_token(&kari, wizard_fields("4"));
    fields.push(("expected_sha256", sha));
    fields.push(("seed", "3 8\t1".into()));
    let r = kari.post_raw("/draws", &fields).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"seed-error\""));
    assert!(page.contains("Steg 3: Seed og publisering"));
    assert_eq!(app.count("draws"), 0);
    app.stop();
}

async fn roles_and_form_tokens(backend: Backend) {
    let app = setup(backend).await;
    // A draw to read, with a seed that would be markup if it were not escaped.
    let spec = DrawSpec {
        filter: DrawFilter::default(),
        seed: Some("<script>alert(1)</script> 4 4".into()),
        size: Some(3),
        ..DrawSpec::default()
    };
    let d = draws::publish(
        &mut app.pool.get().unwrap(),
        &user(&app, "kari"),
        &spec,
        &common::rules::shipped_rules(),
    )
    .unwrap();
    let id = d.draw.id;

    let ola = Browser::sign_in(&app, "ola", PASSWORD).await;
    for path in [
        "/draws/new",
        "/draws/new/ceremony?size=3&strata=none&allocation=size",
    ] {
        let (status, page) = ola.get(path).await;
        assert_eq!(status, 403, "{path}");
        assert!(page.contains("Ingen tilgang"));
    }
    let mut publish = with_token(&ola, wizard_fields("3"));
    publish.push(("expected_sha256", d.draw.manifest_sha256.clone()));
    for path in ["/draws/new/preview".to_owned(), "/draws".to_owned()] {
        assert_eq!(ola.post_raw(&path, &publish).await.status(), 403, "{path}");
    }
    let extend = [("csrf_token", ola.csrf.clone()), ("size", "1".into())];
    assert_eq!(
        ola.post_raw(&format!("/draws/{id}/extend"), &extend)
            .await
            .status(),
        403
    );
    assert_eq!(app.count("draws"), 1);

    // … but reads the draw, its list, its manifest and its own agency's inspection list.
    let (status, page) = ola.get(&format!("/draws/{id}")).await;
    assert_eq!(status, 200);
    let seed = element_text(&page, "<code id=\"seed\">");
    assert_eq!(
        unescape(seed),
        "<script>alert(1)</script> 4 4",
        "the seed, escaped"
    );
    assert!(!page.contains("<script>"));
    assert!(page.contains("Trekningen er kontrollert"));
    assert!(!page.contains("Utvid trekningen"), "no extension form for A-krim");
    assert!(
        !page.contains("href=\"/contracts/"),
        "no links to contract pages A-krim cannot open"
    );
    let lists = hrefs(&page, &format!("/draws/{id}/inspection-list?"));
    assert_eq!(lists.len(), 2, "xlsx and csv of their own agency only: {lists:?}");
    assert!(lists.iter().all(|l| l.contains("agency=arbeidstilsynet")));
    let r = app.get_with_session(&lists[1], &ola.session).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let other = format!("/draws/{id}/inspection-list?agency=nav&format=csv");
    assert_eq!(app.get_with_session(&other, &ola.session).await.status(), 403);
    let (status, list) = ola.get("/draws").await;
    assert_eq!(status, 200);
    assert!(!list.contains("href=\"/draws/new\""), "no wizard link for A-krim");
    assert_eq!(ola.get(&format!("/draws/{id}/manifest")).await.0, 200);
    assert_eq!(ola.get(&format!("/draws/{id}/ceremony")).await.0, 200);

    // Kemneren sees every agency's list; the innkjøper no draws at all.
    let kari = Browser::sign_in(&app, "kari", PASSWORD).await;
    let (_, page) = kari.get(&format!("/draws/{id}")).await;
    assert_eq!(hrefs(&page, &format!("/draws/{id}/inspection-list?")).len(), 10);
    assert!(page.contains("Utvid trekningen"));
    let per = Browser::sign_in(&app, "per", PASSWORD).await;
    assert_eq!(per.get("/draws").await.0, 403);
    assert_eq!(per.get(&format!("/draws/{id}")).await.0, 403);

    // Forms without the session's token are refused and store nothing.
    let mut no_token = wizard_fields("3");
    let r = kari.post_raw("/draws/new/preview", &no_token).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Skjemaet er utløpt"));
    no_token.push(("expected_sha256", d.draw.manifest_sha256.clone()));
    no_token.push(("csrf_token", "feil".into()));
    assert_eq!(kari.post_raw("/draws", &no_token).await.status(), 403);
    let extend = [("csrf_token", String::new()), ("size", "1".into())];
    assert_eq!(
        kari.post_raw(&format!("/draws/{id}/extend"), &extend)
            .await
            .status(),
        403
    );
    assert_eq!(app.count("draws"), 1);
    assert_eq!(app.count("draw_rounds"), 1);

    // An empty list says so, and offers Kemneren the wizard (a fresh service).
    app.stop();
    let fresh = TestApp::start(backend).await;
    fresh.add_user("kari", Role::Kemner, None);
    let kari = Browser::sign_in(&fresh, "kari", PASSWORD).await;
    let (status, list) = kari.get("/draws").await;
    assert_eq!(status, 200);
    assert!(list.contains("Ingen trekninger er publisert ennå."));
    assert!(list.contains("href=\"/draws/new\">Start en ny trekning"));
    fresh.stop();
}

backend_tests!(
    wizard_keeps_values_and_previews_the_api_fingerprint,
    publish_draws_what_the_api_draws,
    a_changed_population_is_refused,
    roles_and_form_tokens,
);
