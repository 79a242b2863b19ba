//! The case pages in the browser (issue 14), on SQLite and PostgreSQL, driven over HTTP with
//! a real session cookie and the form token: the whole workflow from a published draw to a
//! confirmed four-eyes closing through the forms; the proposer cannot confirm (409, and the
//! page says why); a refused form keeps what was typed and shows the error beside the field;
//! a partner of another agency gets 404 for the case on every route; forms without the
//! token are refused; hostile file names are escaped; no internal codes reach the page; the
//! queue filters, sorts, pages and exports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::{Backend, TestApp};
use diesel::prelude::*;
use spotcheck::db::models::{Actor, users};
use spotcheck::domain::liaison::LiaisonDraft;
use spotcheck::domain::roles::{Agency, Role};
use spotcheck::service::cases::{CaseListItem, CaseQuery};
use spotcheck::service::draws::{self, DrawSpec};

/// Per's register (an innkjøper): R-1 has four levels of subcontractors, so
/// `for_mange_ledd` fires; the formula-like title must come out neutralised.
const REGISTER: &str = "Avtalenr;Tittel;Leverandør;Org.nr;CPV;Verdi;Antall ledd;Startdato;Sluttdato;Enhet;Kontraktsansvarlig
R-1;Renhold skoler;Rent & Pent AS;923609016;90910000;3000000;4;01.01.2025;31.12.2027;Bergenhus;Kari Kontrakt
R-2;=HYPERLINK(\"http://x.test\",\"klikk\");Vask AS;991825827;90910000;80000;1;01.01.2025;31.12.2027;Fana;Ola Innkjøp
B-1;Rehabilitering bad;Bygg og Bolt AS;974760673;45000000;900000;1;01.01.2025;31.12.2027;Årstad;Per Prosjekt
";

/// Internal codes that must never be read on a page (checked on the visible text).
const CODES: [&str; 12] = [
    "case.",
    "not_approved",
    "bygg_anlegg",
    "under_vurdering",
    "ingen_funn",
    "ikke_bekreftet",
    "close_proposed",
    "close_confirmed",
    "document_requested",
    "evidence_added",
    "for_mange_ledd",
    "weighted",
];

fn user(app: &TestApp, name: &str) -> users::User {
    users::find_by_username(&mut app.pool.get().unwrap(), name)
        .unwrap()
        .unwrap()
}

/// kari (Kemneren), ola and oda (Arbeidstilsynet), nina (NAV), per (innkjøper, who owns the
/// contracts); liaisons so renhold is shared with Arbeidstilsynet and bygg og anlegg with
/// NAV; a draw of every contract, published. Returns the app and the draw id.
async fn setup(backend: Backend) -> (TestApp, i64) {
    let app = TestApp::start(backend).await;
    app.add_user("kari", Role::Kemner, None);
    app.add_user("ola", Role::Akrim, Some(Agency::Arbeidstilsynet));
    app.add_user("oda", Role::Akrim, Some(Agency::Arbeidstilsynet));
    app.add_user("nina", Role::Akrim, Some(Agency::Nav));
    app.add_user("per", Role::Innkjoper, None);
    let rules = common::rules::shipped_rules();
    let report = spotcheck::service::imports::import_and_score(
        &app.pool,
        &rules,
        &user(&app, "per"),
        "register.csv",
        spotcheck::import::RegisterFile::Bytes(REGISTER.as_bytes()),
        &spotcheck::import::ImportOptions::default(),
        false,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.rows_rejected, 0, "{:?}", report.errors);
    for (name, agency, industry) in [
        ("Ada", "arbeidstilsynet", "renhold"),
        ("Nils", "nav", "bygg_anlegg"),
    ] {
        let draft = LiaisonDraft {
            name: name.into(),
            agency: agency.into(),
            email: format!("{}@{agency}.test", name.to_lowercase()),
            industries: vec![industry.into()],
            notices: vec!["draw_published".into()],
            user: None,
        };
        spotcheck::service::liaisons::create(&mut app.pool.get().unwrap(), &Actor::system(), &rules, &draft)
            .unwrap();
    }
    let spec = DrawSpec {
        seed: Some("2026-12-06 saksside".into()),
        size: Some(3),
        ..DrawSpec::default()
    };
    let d = draws::publish(&mut app.pool.get().unwrap(), &user(&app, "kari"), &spec, &rules).unwrap();
    assert_eq!(d.cases_opened, 3);
    (app, d.draw.id)
}

/// Case id by contract number (read as Kemneren, through the service).
fn case_id(app: &TestApp, contract_no: &str) -> i64 {
    let q = CaseQuery {
        page: 1,
        per_page: 100,
        ..CaseQuery::default()
    };
    let page = spotcheck::service::cases::list(&mut app.pool.get().unwrap(), &user(app, "kari"), &q).unwrap();
    page.items
        .iter()
        .find_map(|i| match i {
            CaseListItem::Summary(s) if s.contract_no == contract_no => Some(s.id),
            _ => None,
        })
        .unwrap()
}

/// Asserts a 303 back to the case page; returns the page it leads to.
async fn done(b: &Browser<'_>, r: reqwest::Response, id: i64) -> String {
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    assert_eq!(status, 303, "{}", common::visible_text(&text));
    assert!(location.starts_with(&format!("/cases/{id}?done=")), "{location}");
    let (status, page) = b.get(&location).await;
    assert_eq!(status, 200);
    assert!(page.contains("role=\"status\""), "a confirmation is shown");
    page
}

async fn upload(
    app: &TestApp,
    b: &Browser<'_>,
    id: i64,
    name: &str,
    bytes: Vec<u8>,
    token: Option<&str>,
) -> reqwest::Response {
    // Names go as they are (no percent-encoding), as a browser sends them.
    let mut form = reqwest::multipart::Form::new().percent_encode_noop();
    if let Some(t) = token {
        form = form.text("csrf_token", t.to_owned());
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    app.client
        .post(app.url(&format!("/cases/{id}/evidence")))
        .header("Cookie", format!("spotcheck_session={}", b.session))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

fn no_codes(page: &str) {
    let text = common::visible_text(page);
    for code in CODES {
        assert!(!text.contains(code), "internal code «{code}» on the page: {text}");
    }
}

/// The value of the first `<option>` of the select with id `select_id`.
fn first_option(page: &str, select_id: &str) -> String {
    let at = page.find(&format!("id=\"{select_id}\"")).unwrap();
    let rest = &page[at..];
    let start = rest.find("<option value=\"").unwrap() + "<option value=\"".len();
    let end = rest[start..].find('"').unwrap() + start;
    rest[start..end].to_owned()
}

fn count_events(app: &TestApp, id: i64, kind: &str) -> i64 {
    use spotcheck::db::schema::case_events;
    case_events::table
        .filter(case_events::case_id.eq(id))
        .filter(case_events::kind.eq(kind))
        .count()
        .get_result(&mut app.pool.get().unwrap())
        .unwrap()
}

fn in_days(n: i64) -> String {
    let today = spotcheck::domain::oslo::local(chrono::Utc::now().naive_utc()).date();
    (today + chrono::Duration::days(n)).format("%Y-%m-%d").to_string()
}

async fn the_whole_workflow_through_the_pages(backend: Backend) {
    let (app, draw_id) = setup(backend).await;
    let id = case_id(&app, "R-1");
    let ola = Browser::sign_in(&app, "ola", common::PASSWORD).await;
    let base = format!("/cases/{id}");

    // The queue: Arbeidstilsynet sees the renhold cases, not NAV's.
    let (status, queue) = ola.get("/cases").await;
    assert_eq!(status, 200);
    assert!(queue.contains(&format!("href=\"/cases/{id}\"")), "{queue}");
    assert!(!queue.contains("B-1"), "bygg og anlegg is NAV's");
    no_codes(&queue);

    // The case page: contract, supplier, the draw it came from, the frozen explanation.
    let (status, page) = ola.get(&base).await;
    assert_eq!(status, 200);
    for want in [
        "R-1",
        "Rent &#38; Pent AS",
        &format!("href=\"/draws/{draw_id}\""),
        "Da saken ble opprettet",
        "Flere enn to ledd underleverandører",
        "Ikke hentet fra Enhetsregisteret ennå",
    ] {
        assert!(
            page.contains(want),
            "«{want}» missing: {}",
            common::visible_text(&page)
        );
    }
    no_codes(&page);
    assert!(page.contains("(fortsatt gjeldende)") && !page.contains("id=\"h-current\""));

    // A fresh assessment after the case was opened: the frozen one and the current one side by side.
    spotcheck::service::scoring::rescore_today(
        &mut app.pool.get().unwrap(),
        &common::rules::shipped_rules(),
        spotcheck::service::scoring::Scope::All,
        true,
        "manual",
        &Actor::system(),
    )
    .unwrap();
    let (_, page) = ola.get(&base).await;
    assert!(page.contains("id=\"h-frozen\"") && page.contains("id=\"h-current\""));
    assert!(!page.contains("(fortsatt gjeldende)"));

    // Status forward, a note (escaped), assignment.
    done(
        &ola,
        ola.post(&format!("{base}/status"), &[("status", "under_vurdering")])
            .await,
        id,
    )
    .await;
    let page = done(
        &ola,
        ola.post(
            &format!("{base}/notes"),
            &[("text", "Sjekket <b>lønn</b> & timer")],
        )
        .await,
        id,
    )
    .await;
    assert!(
        page.contains("Sjekket &#60;b&#62;lønn&#60;/b&#62; &#38; timer"),
        "the note, escaped"
    );
    done(
        &ola,
        ola.post(&format!("{base}/assign"), &[("user", "oda")]).await,
        id,
    )
    .await;

    // A note too long: 422, the text kept, the error beside the field.
    let long = "x".repeat(4001);
    let r = ola.post(&format!("{base}/notes"), &[("text", &long)]).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(&format!(">{long}</textarea>")),
        "what was typed is kept"
    );
    assert!(
        page.contains("<span class=\"field-error\">Kan være høyst 4000 tegn</span>"),
        "{}",
        common::visible_text(&page)
    );
    // Assigning to someone of another agency: 422 naming the field.
    let r = ola.post(&format!("{base}/assign"), &[("user", "nina")]).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("«nina» kan ikke få saken"),
        "the assignee's error is shown"
    );
    assert!(
        !common::visible_text(&page).contains("akrim"),
        "no role codes in the message"
    );
    // A value not on the list (a hand-made request): told so, without the API's codes.
    let r = ola
        .post(
            &format!("{base}/findings"),
            &[("indicator", "for_mange_ledd"), ("result", "kanskje")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("<span class=\"field-error\">Velg et av alternativene i listen.</span>"));
    no_codes(&page);

    // A finding for the indicator that fired.
    let (_, page) = ola.get(&base).await;
    assert!(first_option(&page, "finding-indicator").len() > 1);
    assert!(
        page.contains("<option value=\"for_mange_ledd\""),
        "the fired indicator is offered"
    );
    let indicator = "for_mange_ledd";
    let page = done(
        &ola,
        ola.post(
            &format!("{base}/findings"),
            &[("indicator", indicator), ("result", "bekreftet")],
        )
        .await,
        id,
    )
    .await;
    assert!(page.contains("Funn registrert for «Flere enn to ledd underleverandører»: bekreftet"));

    // Documents: a deadline in the past is refused beside the field with the boxes kept.
    let yesterday = in_days(-1);
    let r = ola
        .post(
            &format!("{base}/document-requests"),
            &[
                ("documents", "lonnsslipper"),
                ("documents", "hms_kort"),
                ("deadline", &yesterday),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("value=\"lonnsslipper\" checked") && page.contains("value=\"hms_kort\" checked"));
    assert!(!page.contains("value=\"timelister\" checked"));
    assert!(
        page.contains("er passert: velg i dag eller en senere dato"),
        "{}",
        common::visible_text(&page)
    );
    let next_week = in_days(7);
    let page = done(
        &ola,
        ola.post(
            &format!("{base}/document-requests"),
            &[
                ("documents", "lonnsslipper"),
                ("documents", "hms_kort"),
                ("deadline", &next_week),
            ],
        )
        .await,
        id,
    )
    .await;
    assert!(page.contains("Lønnsslipper, Oversikt over HMS-kort") && page.contains("venter"));
    let request: i64 = {
        use spotcheck::db::schema::case_document_requests as r;
        r::table
            .filter(r::case_id.eq(id))
            .select(r::id)
            .first(&mut app.pool.get().unwrap())
            .unwrap()
    };
    let page = done(
        &ola,
        ola.post(&format!("{base}/document-requests/{request}/received"), &[])
            .await,
        id,
    )
    .await;
    assert!(page.contains("mottatt"), "{}", common::visible_text(&page));

    // Evidence: a hostile name is shown escaped; a program is refused beside the field.
    let hostile = "lønn' onmouseover='alert(1)' & <script>.txt";
    let page = done(
        &ola,
        upload(
            &app,
            &ola,
            id,
            hostile,
            b"Timeliste uke 49\n".to_vec(),
            Some(&ola.csrf),
        )
        .await,
        id,
    )
    .await;
    assert!(
        page.contains("lønn&#39; onmouseover=&#39;alert(1)&#39; &#38; script.txt"),
        "{}",
        common::visible_text(&page)
    );
    assert!(!page.contains("' onmouseover='") && !page.contains("<script>"));
    let sha = spotcheck::sampling::sha256_hex_bytes(b"Timeliste uke 49\n");
    assert!(page.contains(&sha[..12]), "the SHA-256, short");
    let evidence_id: i64 = {
        use spotcheck::db::schema::case_evidence as e;
        e::table
            .filter(e::case_id.eq(id))
            .select(e::id)
            .first(&mut app.pool.get().unwrap())
            .unwrap()
    };
    assert!(page.contains(&format!("href=\"/cases/{id}/evidence/{evidence_id}\"")));
    let r = app
        .get_with_session(&format!("/cases/{id}/evidence/{evidence_id}"), &ola.session)
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"Timeliste uke 49\n");
    let r = upload(
        &app,
        &ola,
        id,
        "program.exe",
        b"MZ\x90\x00\x03".to_vec(),
        Some(&ola.csrf),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<span class=\"field-error\">Bare PDF, PNG, JPEG")
    );

    // One byte over the limit: 413, said beside the field, nothing stored.
    let big = vec![b'a'; spotcheck::domain::case::EVIDENCE_MAX_BYTES + 1];
    let r = upload(&app, &ola, id, "stor.txt", big, Some(&ola.csrf)).await;
    assert_eq!(r.status(), 413);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<span class=\"field-error\">Filen er større enn 20 MB.</span>")
    );
    assert_eq!(app.count("case_evidence"), 1);

    // Propose closing before the case is reviewed: 409 beside the form.
    let r = ola
        .post(&format!("{base}/close"), &[("outcome", "ingen_funn")])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("må ha status «kontrollert»"));
    done(
        &ola,
        ola.post(&format!("{base}/status"), &[("status", "kontrollert")])
            .await,
        id,
    )
    .await;
    let page = done(
        &ola,
        ola.post(&format!("{base}/close"), &[("outcome", "ingen_funn")])
            .await,
        id,
    )
    .await;
    assert!(
        page.contains("Du foreslo lukkingen selv"),
        "the proposer is told why there is no button"
    );
    assert!(!page.contains(&format!("action=\"/cases/{id}/close/confirm\"")));

    // Four eyes: the proposer cannot confirm, even by posting.
    let r = ola.post(&format!("{base}/close/confirm"), &[]).await;
    assert_eq!(r.status(), 409);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Du foreslo selv lukkingen; en annen person må bekrefte den"),
        "{}",
        common::visible_text(&page)
    );
    assert_eq!(count_events(&app, id, "close_confirmed"), 0);

    // Oda confirms.
    let oda = Browser::sign_in(&app, "oda", common::PASSWORD).await;
    let (_, page) = oda.get(&base).await;
    assert!(page.contains(&format!("action=\"/cases/{id}/close/confirm\"")));
    let page = done(&oda, oda.post(&format!("{base}/close/confirm"), &[]).await, id).await;
    assert!(page.contains("<span class=\"status\">lukket</span>"));
    assert!(page.contains("Lukking bekreftet med utfall «ingen funn»"));
    assert_eq!(count_events(&app, id, "close_confirmed"), 1);
    no_codes(&page);

    // Reopening needs a reason.
    let r = oda.post(&format!("{base}/reopen"), &[("reason", "  ")]).await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<span class=\"field-error\">Kan ikke være tomt</span>")
    );
    let page = done(
        &oda,
        oda.post(
            &format!("{base}/reopen"),
            &[("reason", "Nye opplysninger fra NAV")],
        )
        .await,
        id,
    )
    .await;
    assert!(page.contains("Gjenåpnet: Nye opplysninger fra NAV"));
    assert!(page.contains("<span class=\"status\">under vurdering</span>"));

    // The history reads as sentences.
    for want in [
        "Status endret til «under vurdering»",
        "Saken er tildelt oda",
        "Notat skrevet",
        "Foreslått lukket med utfall «ingen funn»",
        "Vedlegg lastet opp",
        "Delt med Arbeidstilsynet",
    ] {
        assert!(page.contains(want), "history lacks «{want}»");
    }
    no_codes(&page);

    // Sharing is Kemneren's: a partner is refused, Kemneren shares and withdraws.
    let r = ola.post(&format!("{base}/shares"), &[("agency", "nav")]).await;
    assert_eq!(r.status(), 403);
    let kari = Browser::sign_in(&app, "kari", common::PASSWORD).await;
    let nina = Browser::sign_in(&app, "nina", common::PASSWORD).await;
    assert_eq!(nina.get(&base).await.0, 404);
    done(
        &kari,
        kari.post(&format!("{base}/shares"), &[("agency", "nav")]).await,
        id,
    )
    .await;
    assert_eq!(nina.get(&base).await.0, 200, "shared with NAV now");
    let r = kari.post(&format!("{base}/shares"), &[("agency", "nav")]).await;
    assert_eq!(r.status(), 409, "shared already");
    done(&kari, kari.post(&format!("{base}/shares/nav"), &[]).await, id).await;
    assert_eq!(nina.get(&base).await.0, 404, "withdrawn");

    // The innkjøper who owns the contract: status and outcome only.
    let per = Browser::sign_in(&app, "per", common::PASSWORD).await;
    let (status, page) = per.get(&base).await;
    assert_eq!(status, 200);
    assert!(page.contains("R-1") && page.contains("under vurdering"));
    assert!(
        !page.contains("Sjekket")
            && !page.contains("oda")
            && !page.contains("<form method=\"post\" action=\"/cases")
    );
    let (status, queue) = per.get("/cases").await;
    assert_eq!(status, 200);
    assert!(
        queue.contains("R-1") && !queue.contains("Rent &#38; Pent"),
        "no supplier for the innkjøper"
    );
    assert_eq!(per.get("/cases?agency=nav").await.0, 403);
    let (status, csv) = per.get("/cases?format=csv").await;
    assert_eq!(status, 200);
    assert!(
        csv.contains("Sak;Avtalenr.;Status;Utfall") && csv.contains("R-1"),
        "{csv}"
    );
    assert!(
        !csv.contains("Rent") && !csv.contains("oda"),
        "the outcome only: {csv}"
    );
    assert_eq!(
        per.post(&format!("{base}/notes"), &[("text", "hei")])
            .await
            .status(),
        403
    );

    let mut conn = app.pool.get().unwrap();
    assert!(matches!(
        spotcheck::service::users::verify_audit(&mut conn).unwrap(),
        spotcheck::service::users::ChainStatus::Intact { .. }
    ));
    app.stop();
}

async fn another_agency_gets_404_on_every_route(backend: Backend) {
    let (app, _) = setup(backend).await;
    let id = case_id(&app, "R-1");
    let ola = Browser::sign_in(&app, "ola", common::PASSWORD).await;
    // Something to act on: a proposal, a document request, a file.
    for (path, fields) in [
        ("status", vec![("status", "under_vurdering")]),
        ("status", vec![("status", "kontrollert")]),
        ("close", vec![("outcome", "avvik_rettet")]),
    ] {
        let r = ola.post(&format!("/cases/{id}/{path}"), &fields).await;
        assert_eq!(r.status(), 303);
    }
    let next_week = in_days(3);
    let r = ola
        .post(
            &format!("/cases/{id}/document-requests"),
            &[("documents", "timelister"), ("deadline", &next_week)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = upload(&app, &ola, id, "bevis.txt", b"bevis".to_vec(), Some(&ola.csrf)).await;
    assert_eq!(r.status(), 303);
    let events_before = app.count("case_events");

    let nina = Browser::sign_in(&app, "nina", common::PASSWORD).await;
    let (status, page) = nina.get(&format!("/cases/{id}")).await;
    assert_eq!(status, 404);
    assert!(
        !page.contains("R-1") && !page.contains("Rent"),
        "nothing of the case"
    );
    let (_, queue) = nina.get("/cases").await;
    assert!(!queue.contains(&format!("/cases/{id}\"")), "not in NAV's queue");
    for (path, fields) in [
        ("status", vec![("status", "ny")]),
        ("assign", vec![("user", "nina")]),
        ("notes", vec![("text", "hei")]),
        (
            "findings",
            vec![("indicator", "for_mange_ledd"), ("result", "bekreftet")],
        ),
        ("close", vec![("outcome", "ingen_funn")]),
        ("close/confirm", vec![]),
        ("reopen", vec![("reason", "fordi")]),
        (
            "document-requests",
            vec![("documents", "timelister"), ("deadline", next_week.as_str())],
        ),
        ("document-requests/1/received", vec![]),
    ] {
        let r = nina.post(&format!("/cases/{id}/{path}"), &fields).await;
        assert_eq!(r.status(), 404, "{path}");
        assert!(!r.text().await.unwrap().contains("R-1"), "{path}");
    }
    let r = upload(&app, &nina, id, "x.txt", b"x".to_vec(), Some(&nina.csrf)).await;
    assert_eq!(r.status(), 404);
    let r = app
        .get_with_session(&format!("/cases/{id}/evidence/1"), &nina.session)
        .await;
    assert_eq!(r.status(), 404);
    // Sharing is not a partner's to do at all.
    for path in ["shares", "shares/arbeidstilsynet"] {
        let r = nina
            .post(&format!("/cases/{id}/{path}"), &[("agency", "nav")])
            .await;
        assert_eq!(r.status(), 403, "{path}");
    }
    assert_eq!(app.count("case_events"), events_before, "nothing changed");
    app.stop();
}

async fn forms_without_the_token_are_refused(backend: Backend) {
    let (app, _) = setup(backend).await;
    let id = case_id(&app, "R-1");
    let ola = Browser::sign_in(&app, "ola", common::PASSWORD).await;
    let r = ola
        .post_raw(&format!("/cases/{id}/notes"), &[("text", "uten token")])
        .await;
    assert_eq!(r.status(), 403);
    let r = ola
        .post_raw(
            &format!("/cases/{id}/notes"),
            &[("csrf_token", "feil"), ("text", "feil token")],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Skjemaet er utløpt"));
    let r = ola
        .post_raw(&format!("/cases/{id}/status"), &[("status", "under_vurdering")])
        .await;
    assert_eq!(r.status(), 403);
    let r = upload(&app, &ola, id, "bevis.txt", b"bevis".to_vec(), None).await;
    assert_eq!(r.status(), 403);
    let r = upload(&app, &ola, id, "bevis.txt", b"bevis".to_vec(), Some("feil")).await;
    assert_eq!(r.status(), 403);
    assert_eq!(count_events(&app, id, "note"), 0);
    assert_eq!(count_events(&app, id, "status"), 0);
    assert_eq!(app.count("case_evidence"), 0);
    // Without a session: to the login page, nothing stored.
    let r = app
        .client
        .post(app.url(&format!("/cases/{id}/notes")))
        .form(&[("csrf_token", ola.csrf.as_str()), ("text", "anonym")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    assert_eq!(count_events(&app, id, "note"), 0);
    app.stop();
}

async fn the_queue_filters_sorts_pages_and_exports(backend: Backend) {
    let (app, _) = setup(backend).await;
    let (r1, r2, b1) = (case_id(&app, "R-1"), case_id(&app, "R-2"), case_id(&app, "B-1"));
    let kari = Browser::sign_in(&app, "kari", common::PASSWORD).await;
    // R-2 gets a document request, made overdue in the database (the service accepts only
    // today or later); R-1 one due next week.
    for (id, days) in [(r2, 1), (r1, 7)] {
        let deadline = in_days(days);
        let r = kari
            .post(
                &format!("/cases/{id}/document-requests"),
                &[("documents", "skatteattest"), ("deadline", &deadline)],
            )
            .await;
        assert_eq!(r.status(), 303);
    }
    {
        use spotcheck::db::schema::case_document_requests as r;
        let past = chrono::NaiveDate::parse_from_str(&in_days(-2), "%Y-%m-%d").unwrap();
        diesel::update(r::table.filter(r::case_id.eq(r2)))
            .set(r::deadline.eq(past))
            .execute(&mut app.pool.get().unwrap())
            .unwrap();
    }
    let pos = |page: &str, id: i64| page.find(&format!("href=\"/cases/{id}\"")).unwrap();

    // Open cases by nearest deadline: R-2 (overdue), R-1, then B-1 (no deadline).
    let (status, page) = kari.get("/cases").await;
    assert_eq!(status, 200);
    assert!(
        pos(&page, r2) < pos(&page, r1) && pos(&page, r1) < pos(&page, b1),
        "{}",
        common::visible_text(&page)
    );
    assert!(page.contains("(passert)"), "the overdue deadline is marked");
    no_codes(&page);

    let (_, page) = kari.get("/cases?deadline=overdue").await;
    assert!(page.contains(&format!("href=\"/cases/{r2}\"")));
    assert!(
        !page.contains(&format!("href=\"/cases/{r1}\"")) && !page.contains(&format!("href=\"/cases/{b1}\""))
    );
    let before = in_days(10);
    let (_, page) = kari.get(&format!("/cases?before={before}")).await;
    assert!(
        page.contains(&format!("href=\"/cases/{r1}\"")) && !page.contains(&format!("href=\"/cases/{b1}\""))
    );
    let (_, page) = kari.get("/cases?agency=nav").await;
    assert!(
        page.contains(&format!("href=\"/cases/{b1}\"")) && !page.contains(&format!("href=\"/cases/{r1}\""))
    );

    // A closed case goes to the end of the queue, and out of the deadline filters.
    for (who, path, fields) in [
        (&kari, "status", vec![("status", "under_vurdering")]),
        (&kari, "status", vec![("status", "kontrollert")]),
        (&kari, "close", vec![("outcome", "avvik_rettet")]),
    ] {
        let r = who.post(&format!("/cases/{r2}/{path}"), &fields).await;
        assert_eq!(r.status(), 303, "{path}");
    }
    let ola = Browser::sign_in(&app, "ola", common::PASSWORD).await;
    let r = ola.post(&format!("/cases/{r2}/close/confirm"), &[]).await;
    assert_eq!(r.status(), 303);
    let (_, page) = kari.get("/cases").await;
    assert!(
        pos(&page, r1) < pos(&page, b1) && pos(&page, b1) < pos(&page, r2),
        "{}",
        common::visible_text(&page)
    );
    let (_, page) = kari.get("/cases?deadline=overdue").await;
    assert!(page.contains("Ingen saker passer filtrene"));
    let (_, page) = kari.get("/cases?status=lukket").await;
    assert!(page.contains(&format!("href=\"/cases/{r2}\"")) && page.contains("avvik rettet"));

    // Assigned to me: none yet, and the page says what to do.
    let (_, page) = kari.get("/cases?mine=1").await;
    assert!(
        page.contains("Ingen saker passer filtrene"),
        "{}",
        common::visible_text(&page)
    );
    let r = kari
        .post(&format!("/cases/{b1}/assign"), &[("user", "kari")])
        .await;
    assert_eq!(r.status(), 303);
    let (_, page) = kari.get("/cases?mine=1").await;
    assert!(
        page.contains(&format!("href=\"/cases/{b1}\"")) && !page.contains(&format!("href=\"/cases/{r1}\""))
    );

    // Paging with a chosen page size.
    let (_, page) = kari.get("/cases?per_page=25&page=1").await;
    assert!(page.contains("3 saker (side 1 av 1)"));
    let (status, page) = kari.get("/cases?per_page=1&page=2").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("3 saker (side 2 av 3)"),
        "{}",
        common::visible_text(&page)
    );
    assert!(pos(&page, b1) > 0 && page.contains("Forrige side") && page.contains("Neste side"));

    // A refused filter is shown beside its field, with what was chosen kept.
    let (status, page) = kari.get("/cases?before=igår&status=ny").await;
    assert_eq!(status, 422);
    assert!(page.contains("ugyldig dato") && page.contains("value=\"igår\""));
    let (status, page) = kari.get("/cases?status=ukjent").await;
    assert_eq!(status, 422);
    assert!(page.contains(
        "<span id=\"f-status-error\" class=\"field-error\">ukjent status: velg en i listen</span>"
    ));

    // Export: the filtered list, every value neutralised.
    let r = app
        .get_with_session("/cases?agency=arbeidstilsynet&format=csv", &kari.session)
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    assert!(csv.contains("Sak;Avtalenr.;Leverandør") && csv.contains("R-1") && csv.contains("R-2"));
    assert!(!csv.contains("B-1"), "only the filtered cases");
    assert!(
        csv.contains("under vurdering") || csv.contains(";ny;"),
        "statuses in words: {csv}"
    );
    let r = app.get_with_session("/cases?format=xlsx", &kari.session).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    assert_eq!(
        app.get_with_session("/cases?format=pdf", &kari.session)
            .await
            .status(),
        400
    );

    // The admin has no cases at all.
    let admin = app.login("admin", common::ADMIN_PASSWORD).await.ok().unwrap();
    assert_eq!(app.get_with_session("/cases", &admin).await.status(), 403);
    app.stop();
}

backend_tests!(
    the_whole_workflow_through_the_pages,
    another_agency_gets_404_on_every_route,
    forms_without_the_token_are_refused,
    the_queue_filters_sorts_pages_and_exports,
);
