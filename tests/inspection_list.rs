//! Each agency's inspection list for a draw (issue 13, item 4), on SQLite and PostgreSQL:
//! the drawn contracts shared with the agency, as xlsx and csv that open cleanly (no formula
//! cells, csv values neutralised); a partner gets their own agency's list only; every
//! download is audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use common::{Backend, TestApp};
use diesel::prelude::*;
use spotcheck::db::models::Actor;
use spotcheck::domain::liaison::LiaisonDraft;
use spotcheck::domain::roles::{Agency, Role};
use spotcheck::service::draws::{self, DrawSpec};

const REGISTER: &str = "Avtalenr;Tittel;Leverandør;Org.nr;CPV;Verdi;Antall ledd;Startdato;Sluttdato;Enhet;Kontraktsansvarlig
R-1;Renhold skoler;Rent & Pent AS;923609016;90910000;3000000;4;01.01.2025;31.12.2027;Bergenhus;Kari Kontrakt
R-2;=HYPERLINK(\"http://x.test\",\"klikk\");Vask AS;991825827;90910000;80000;1;01.01.2025;31.12.2027;Fana;Ola Innkjøp
B-1;Rehabilitering bad;Bygg og Bolt AS;974760673;45000000;900000;1;01.01.2025;31.12.2027;Årstad;Per Prosjekt
B-2;Asfalt;Bygg og Bolt AS;974760673;45000000;700000;2;01.01.2025;31.12.2027;Fana;Per Prosjekt
";

async fn get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.api_get(path, token).await
}

fn rows_of_xlsx(bytes: &[u8]) -> (Vec<Vec<String>>, usize) {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    let rows = range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    let formulas = book.worksheet_formula(&name).unwrap();
    let n = formulas.cells().filter(|(_, _, v)| !v.is_empty()).count();
    (rows, n)
}

async fn each_agency_downloads_its_own_list(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kari", Role::Kemner, None);
    app.add_user("ada", Role::Akrim, Some(Agency::Arbeidstilsynet));
    app.add_user("nils", Role::Akrim, Some(Agency::Nav));
    app.add_user("per", Role::Innkjoper, None);
    let rules = common::rules::shipped_rules();
    let kari = spotcheck::db::models::users::find_by_username(&mut app.pool.get().unwrap(), "kari")
        .unwrap()
        .unwrap();
    let report = spotcheck::service::imports::import_and_score(
        &app.pool,
        &rules,
        &kari,
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
        seed: Some("2026-12-07 inspeksjon".into()),
        size: Some(4),
        ..DrawSpec::default()
    };
    let d = draws::publish(&mut app.pool.get().unwrap(), &kari, &spec, &rules).unwrap();
    let id = d.draw.id;
    let path = |q: &str| format!("/api/v1/draws/{id}/inspection-list{q}");

    // Arbeidstilsynet: the renhold contracts, as xlsx.
    let ada = app.token_for("ada");
    let r = get(&app, &path(""), &ada).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers().get("content-disposition").unwrap().to_str().unwrap(),
        format!("attachment; filename=\"inspeksjonsliste-trekning-{id}-arbeidstilsynet.xlsx\"")
    );
    let (rows, formulas) = rows_of_xlsx(&r.bytes().await.unwrap());
    assert_eq!(formulas, 0, "no cell is a formula");
    assert_eq!(rows[0][2], "Kontraktnr.");
    let mut nos: Vec<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
    nos.sort_unstable();
    assert_eq!(
        nos,
        ["R-1", "R-2"],
        "only the contracts shared with Arbeidstilsynet"
    );
    let r1 = rows.iter().find(|r| r[2] == "R-1").unwrap();
    assert_eq!(
        (r1[4].as_str(), r1[5].as_str(), r1[7].as_str(), r1[8].as_str()),
        ("Rent & Pent AS", "923609016", "Kari Kontrakt", "Bergenhus")
    );
    assert!(r1[13].contains("Flere enn to ledd"), "fired indicators: {r1:?}");
    assert!(!r1[14].is_empty(), "what to look at");
    assert!(
        rows.iter()
            .any(|r| r[3] == "=HYPERLINK(\"http://x.test\",\"klikk\")"),
        "a hostile title stays text"
    );
    // Not another agency's list.
    assert_eq!(get(&app, &path("?agency=nav"), &ada).await.status(), 403);

    // NAV: the building contracts, as csv.
    let nils = app.token_for("nils");
    let r = get(&app, &path("?format=csv"), &nils).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = r.text().await.unwrap();
    assert!(
        text.contains("B-1") && text.contains("B-2") && !text.contains("R-1"),
        "{text}"
    );

    // Kemneren names the agency; the csv neutralises the hostile title.
    let kt = app.token_for("kari");
    assert_eq!(get(&app, &path(""), &kt).await.status(), 400, "which agency?");
    let text = get(&app, &path("?agency=arbeidstilsynet&format=csv"), &kt)
        .await
        .text()
        .await
        .unwrap();
    assert!(text.contains("'=HYPERLINK"), "{text}");
    assert_eq!(
        get(&app, &path("?agency=nav&format=pdf"), &kt).await.status(),
        400
    );
    assert_eq!(
        get(&app, "/api/v1/draws/999/inspection-list?agency=nav", &kt)
            .await
            .status(),
        404
    );
    // Neither the innkjøper nor the admin.
    assert_eq!(
        get(&app, &path("?agency=nav"), &app.token_for("per"))
            .await
            .status(),
        403
    );

    let audited: i64 = spotcheck::db::schema::audit_log::table
        .filter(spotcheck::db::schema::audit_log::action.eq("draw.inspection_list"))
        .count()
        .get_result(&mut app.pool.get().unwrap())
        .unwrap();
    assert_eq!(audited, 3, "every download is audited");
    app.stop();
}

backend_tests!(each_agency_downloads_its_own_list);
