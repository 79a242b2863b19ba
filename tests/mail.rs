//! Mail to the liaisons, end to end on SQLite and PostgreSQL, against a real SMTP server on
//! loopback (tests/common/smtp.rs) and the `.eml` file transport: what arrives (recipients,
//! subject, text and HTML parts, the xlsx attachment read back with calamine), the server
//! down while a draw is published, a refused recipient, two senders on one database, the
//! high-risk digest, the weekly summary, the outbox API and CLI, and `serve` delivering
//! once the server comes back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::io::Cursor;
use std::time::Duration;

use calamine::{Data, Reader, Xlsx};
use common::smtp::SmtpServer;
use common::{Backend, TestApp, TestDb, run_cli};
use diesel::prelude::*;
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Value, json};
use spotcheck::db::models::users::User;
use spotcheck::db::models::{Actor, outbox};
use spotcheck::db::schema::outbox as outbox_t;
use spotcheck::db::{DbConn, Pool};
use spotcheck::domain::liaison::LiaisonDraft;
use spotcheck::domain::roles::{Agency, Role};
use spotcheck::mail::{MailTransport, RetryPolicy, Sender};
use spotcheck::risk::RuleSet;
use spotcheck::service::draws::{self, DrawSpec};
use spotcheck::service::outbox::{DeliveryReport, Mailer};

const SEED: &str = "2026-12-07 rådhuset: 4 1 9 9 2 7";

/// The shipped rule set with «Høy» from 22 and the highest tier («Kritisk») from 25 points, so that one indicator
/// that needs no register facts (more than two subcontractor levels) puts a contract there.
fn rules() -> RuleSet {
    let mut files = spotcheck::service::rules::default_files();
    for (name, text) in files.iter_mut() {
        if name == "tiers.toml" {
            *text = text
                .replace("min_score = 40", "min_score = 22")
                .replace("min_score = 70", "min_score = 25");
        }
    }
    RuleSet::from_files(&files).unwrap()
}

/// 8 contracts: 4 renhold (two of them with four subcontractor levels: «Kritisk»), 3 bygg og
/// anlegg, 1 in no risk industry. One supplier's name and one title are hostile.
const REGISTER: &str = "Avtalenr;Tittel;Leverandør;Org.nr;CPV;Verdi;Antall ledd;Startdato;Sluttdato;Enhet
R-1;Renhold skoler;Rent & Pent <AS>;923609016;90910000;3000000;4;01.01.2025;31.12.2027;Bergenhus
R-2;Renhold sykehjem;Vask AS;991825827;90910000;2500000;4;01.01.2025;31.12.2027;Årstad
R-3;Vinduspuss;Vask AS;991825827;90911300;50000;1;01.01.2025;31.12.2027;Fana
R-4;=HYPERLINK(\"http://x.test\",\"klikk\");Rent & Pent <AS>;923609016;90910000;80000;1;01.01.2025;31.12.2027;Fana
B-1;Rehabilitering bad;Bygg og Bolt AS;974760673;45000000;900000;1;01.01.2025;31.12.2027;Bergenhus
B-2;Tømrerarbeid;Bygg og Bolt AS;974760673;45000000;400000;1;01.01.2025;31.12.2027;Årstad
B-3;Asfalt;Bygg og Bolt AS;974760673;45000000;700000;2;01.01.2025;31.12.2027;Fana
K-1;Kontorrekvisita;Papir AS;937052766;30190000;100000;1;01.01.2025;31.12.2027;Fana
";

struct World {
    db: TestDb,
    pool: Pool,
    rules: RuleSet,
    kari: User,
}

fn user(pool: &Pool, name: &str, role: Role, agency: Option<Agency>) -> User {
    spotcheck::service::users::create_hashed(
        &mut pool.get().unwrap(),
        &Actor::system(),
        name,
        role,
        agency,
        None,
    )
    .unwrap()
}

fn liaison(
    pool: &Pool,
    rules: &RuleSet,
    name: &str,
    agency: &str,
    email: &str,
    industries: &[&str],
    notices: &[&str],
) -> i64 {
    let draft = LiaisonDraft {
        name: name.into(),
        agency: agency.into(),
        email: email.into(),
        industries: industries.iter().map(|s| s.to_string()).collect(),
        notices: notices.iter().map(|s| s.to_string()).collect(),
        user: None,
    };
    spotcheck::service::liaisons::create(&mut pool.get().unwrap(), &Actor::system(), rules, &draft)
        .unwrap()
        .id
}

/// A database with the register imported and scored, and a Kemneren user.
fn world(backend: Backend) -> World {
    let db = TestDb::new(backend);
    let pool = spotcheck::app::open_database(&db.settings()).unwrap();
    let rules = rules();
    let kari = user(&pool, "kari", Role::Kemner, None);
    let report = spotcheck::service::imports::import_and_score(
        &pool,
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
    World {
        db,
        pool,
        rules,
        kari,
    }
}

fn mailer(url: Option<&str>, outbox_dir: &std::path::Path) -> Mailer {
    Mailer {
        transport: MailTransport::new(url, outbox_dir, Duration::from_secs(5)).unwrap(),
        sender: Sender::new("spotcheck@bergen.test").unwrap(),
        policy: RetryPolicy {
            base_seconds: 0,
            max_attempts: 5,
        },
        base_url: "https://spotcheck.bergen.test".into(),
    }
}

fn publish(w: &World, size: u64) -> draws::Published {
    let spec = DrawSpec {
        seed: Some(SEED.into()),
        size: Some(size),
        ..DrawSpec::default()
    };
    draws::publish(&mut w.pool.get().unwrap(), &w.kari, &spec, &w.rules).unwrap()
}

fn deliver(pool: &Pool, m: &Mailer) -> DeliveryReport {
    spotcheck::service::outbox::deliver_due(&mut pool.get().unwrap(), m, 10_000).unwrap()
}

fn rows(conn: &mut DbConn) -> Vec<(i64, String, String, i32, Option<String>, String)> {
    outbox_t::table
        .order(outbox_t::id.asc())
        .select((
            outbox_t::id,
            outbox_t::status,
            outbox_t::recipient_address.assume_not_null(),
            outbox_t::attempts,
            outbox_t::last_error,
            outbox_t::kind,
        ))
        .load(conn)
        .unwrap()
}

/// The picks of `draw` as (contract number → supplier, score, tier label) from storage.
fn picks_of(w: &World, draw: &draws::Published) -> BTreeMap<String, (String, i32, String)> {
    use spotcheck::db::schema::{contract_risk, contracts};
    let stored: Vec<(String, String, i32, String)> = contracts::table
        .inner_join(contract_risk::table)
        .select((
            contracts::contract_no,
            contracts::supplier_name,
            contract_risk::score,
            contract_risk::tier,
        ))
        .load(&mut w.pool.get().unwrap())
        .unwrap();
    let label = |id: &str| w.rules.tiers().iter().find(|t| t.id == id).unwrap().label.clone();
    draw.draw
        .picks
        .iter()
        .map(|p| {
            let c = stored.iter().find(|c| c.0 == p.pick.id).unwrap();
            (p.pick.id.clone(), (c.1.clone(), c.2, label(&c.3)))
        })
        .collect()
}

/// The attachment's rows (header first), as text.
fn xlsx_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

fn xlsx_formulas(bytes: &[u8]) -> usize {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let name = book.sheet_names()[0].clone();
    let f = book.worksheet_formula(&name).unwrap();
    f.cells().filter(|(_, _, v)| !v.is_empty()).count()
}

/// Checks one delivered message against the draw: envelope, headers, both parts, the
/// attachment's rows.
fn check_draw_mail(
    raw: &[u8],
    to: &str,
    draw: &draws::Published,
    expected: &BTreeMap<String, (String, i32, String)>,
) {
    let msg = MessageParser::default().parse(raw).expect("a parsable message");
    assert_eq!(msg.to().unwrap().first().unwrap().address().unwrap(), to);
    assert_eq!(
        msg.from().unwrap().first().unwrap().address().unwrap(),
        "spotcheck@bergen.test"
    );
    let subject = msg.subject().unwrap();
    assert!(
        subject.starts_with(&format!("Stikkprøvetrekning {} er publisert", draw.draw.id)),
        "{subject}"
    );
    let id = msg.message_id().unwrap();
    assert!(
        id.starts_with("spotcheck.") && id.ends_with("@bergen.test"),
        "{id}"
    );
    let text = msg.body_text(0).unwrap();
    let html = msg.body_html(0).unwrap();
    for (no, (supplier, score, tier)) in expected {
        assert!(text.contains(no.as_str()), "{no} in the text part:\n{text}");
        assert!(
            text.contains(&format!("{score} poeng, {tier}")),
            "score of {no}:\n{text}"
        );
        assert!(html.contains(no.as_str()));
        if supplier.contains('<') {
            assert!(
                text.contains(supplier.as_str()),
                "names as they are in the text part"
            );
            assert!(
                html.contains("Rent &#38; Pent &#60;AS&#62;"),
                "names escaped in HTML:\n{html}"
            );
            assert!(!html.contains("<AS>"));
        }
    }
    assert!(text.contains(&format!("https://spotcheck.bergen.test/draws/{}", draw.draw.id)));
    assert!(
        text.contains("https://spotcheck.bergen.test/cases/"),
        "a link to each case"
    );
    let attachments: Vec<_> = msg.attachments().collect();
    assert_eq!(attachments.len(), 1);
    let a = attachments[0];
    assert_eq!(
        a.attachment_name().unwrap(),
        format!("trekning-{}-runde-1.xlsx", draw.draw.id)
    );
    let table = xlsx_rows(a.contents());
    assert_eq!(table[0][1], "Kontraktnr.");
    let got: BTreeMap<String, (String, i32, String)> = table[1..]
        .iter()
        .map(|r| (r[1].clone(), (r[3].clone(), r[7].parse().unwrap(), r[8].clone())))
        .collect();
    assert_eq!(
        &got, expected,
        "the attachment lists the picks with supplier, score and tier"
    );
    assert_eq!(xlsx_formulas(a.contents()), 0, "no cell is a formula");
}

async fn file_transport_writes_eml_files(backend: Backend) {
    let w = world(backend);
    liaison(
        &w.pool,
        &w.rules,
        "Kari Renhold",
        "arbeidstilsynet",
        "kari@arbeidstilsynet.test",
        &[],
        &["draw_published"],
    );
    let d = publish(&w, 8);
    assert_eq!(d.notifications_queued, 1);
    let dir = w.db.dir.path().join("data/outbox");
    let r = deliver(&w.pool, &mailer(None, &dir));
    assert_eq!(
        r,
        DeliveryReport {
            sent: 1,
            deferred: 0,
            dead: 0
        }
    );
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().unwrap(), "eml");
    let raw = std::fs::read(&files[0]).unwrap();
    check_draw_mail(&raw, "kari@arbeidstilsynet.test", &d, &picks_of(&w, &d));
    // Sent once: the next run sends nothing.
    assert_eq!(deliver(&w.pool, &mailer(None, &dir)), DeliveryReport::default());
}

async fn smtp_delivers_to_the_liaisons_concerned(backend: Backend) {
    let w = world(backend);
    let server = SmtpServer::start();
    // Everything; renhold only; bilpleie only (no picks there: no mail); draws not wanted.
    liaison(
        &w.pool,
        &w.rules,
        "Alle",
        "kemneren",
        "alle@kemneren.test",
        &[],
        &["draw_published"],
    );
    liaison(
        &w.pool,
        &w.rules,
        "Rita",
        "skatteetaten",
        "rita@skatteetaten.test",
        &["renhold"],
        &["draw_published"],
    );
    liaison(
        &w.pool,
        &w.rules,
        "Bil",
        "nav",
        "bil@nav.test",
        &["bilpleie"],
        &["draw_published"],
    );
    liaison(
        &w.pool,
        &w.rules,
        "Ukentlig",
        "politiet",
        "uke@politiet.test",
        &[],
        &["weekly_summary"],
    );
    let d = publish(&w, 8);
    assert_eq!(d.notifications_queued, 2, "{:?}", d.warnings);
    let r = deliver(
        &w.pool,
        &mailer(Some(&server.url()), &w.db.dir.path().join("unused")),
    );
    assert_eq!(r.sent, 2);
    let got = server.wait_for(2, Duration::from_secs(5));
    assert_eq!(got.len(), 2);
    let all = picks_of(&w, &d);
    let renhold: BTreeMap<_, _> = all
        .iter()
        .filter(|(no, _)| no.starts_with("R-"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert!(
        !renhold.is_empty() && renhold.len() < all.len(),
        "the draw has picks in and out of renhold"
    );
    for m in &got {
        assert_eq!(m.from, "spotcheck@bergen.test");
        match m.to.as_slice() {
            [a] if a == "alle@kemneren.test" => check_draw_mail(&m.data, a, &d, &all),
            [a] if a == "rita@skatteetaten.test" => check_draw_mail(&m.data, a, &d, &renhold),
            other => panic!("unexpected recipients {other:?}"),
        }
    }
}

async fn smtp_down_then_back_delivers_once(backend: Backend) {
    let w = world(backend);
    liaison(
        &w.pool,
        &w.rules,
        "A",
        "arbeidstilsynet",
        "a@arbeidstilsynet.test",
        &[],
        &["draw_published"],
    );
    liaison(
        &w.pool,
        &w.rules,
        "B",
        "nav",
        "b@nav.test",
        &[],
        &["draw_published"],
    );
    let port = SmtpServer::free_port();
    let m = mailer(
        Some(&format!("smtp://127.0.0.1:{port}?tls=none")),
        w.db.dir.path(),
    );
    let d = publish(&w, 5);
    assert_eq!(d.notifications_queued, 2);
    let r = deliver(&w.pool, &m);
    assert_eq!(
        r,
        DeliveryReport {
            sent: 0,
            deferred: 2,
            dead: 0
        },
        "the server is down"
    );
    let stored = rows(&mut w.pool.get().unwrap());
    assert!(
        stored
            .iter()
            .all(|r| r.1 == "pending" && r.3 == 1 && r.4.is_some()),
        "{stored:?}"
    );
    let server = SmtpServer::start_at(port);
    assert_eq!(deliver(&w.pool, &m).sent, 2);
    assert_eq!(deliver(&w.pool, &m), DeliveryReport::default(), "nothing twice");
    let got = server.wait_for(2, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.received().len(), 2);
    let ids: HashSet<String> = got
        .iter()
        .map(|r| {
            MessageParser::default()
                .parse(&r.data)
                .unwrap()
                .message_id()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 2);
    let stored = rows(&mut w.pool.get().unwrap());
    assert!(stored.iter().all(|r| r.1 == "sent" && r.3 == 2), "{stored:?}");
}

async fn refused_recipient_is_a_dead_letter_kemneren_can_retry(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kari", Role::Kemner, None);
    app.add_user("per", Role::Innkjoper, None);
    let rules = rules();
    let kari = spotcheck::db::models::users::find_by_username(&mut app.pool.get().unwrap(), "kari")
        .unwrap()
        .unwrap();
    spotcheck::service::imports::import_and_score(
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
    liaison(
        &app.pool,
        &rules,
        "God",
        "nav",
        "god@nav.test",
        &[],
        &["draw_published"],
    );
    liaison(
        &app.pool,
        &rules,
        "Ukjent",
        "nav",
        "finnes.ikke@nav.test",
        &[],
        &["draw_published"],
    );
    let server = SmtpServer::start();
    server.refuse("finnes.ikke@nav.test", "Mailbox unavailable: no such user here");
    let spec = DrawSpec {
        seed: Some(SEED.into()),
        size: Some(4),
        ..DrawSpec::default()
    };
    draws::publish(&mut app.pool.get().unwrap(), &kari, &spec, &rules).unwrap();
    let m = mailer(Some(&server.url()), app.db.dir.path());
    let r = deliver(&app.pool, &m);
    assert_eq!(
        r,
        DeliveryReport {
            sent: 1,
            deferred: 0,
            dead: 1
        },
        "a 550 is final"
    );
    let stored = rows(&mut app.pool.get().unwrap());
    let dead = stored.iter().find(|r| r.1 == "dead").unwrap();
    assert_eq!(dead.2, "finnes.ikke@nav.test");
    assert!(
        dead.4.as_deref().unwrap().contains("no such user here"),
        "the server's reason is kept: {:?}",
        dead.4
    );

    // Kemneren sees the dead letter in the API and puts it back; the innkjøper may not.
    let token = app.token_for("kari");
    let r = app.api_get("/api/v1/outbox?status=dead", &token).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["total"], 1);
    assert_eq!(body["counts"]["dead"], 1);
    assert_eq!(body["counts"]["sent"], 1);
    assert!(
        body["items"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("no such user")
    );
    assert!(body["items"][0].get("payload").is_none(), "no bodies in the list");
    let per = app.token_for("per");
    assert_eq!(app.api_get("/api/v1/outbox", &per).await.status(), 403);
    let retry = |id: i64, t: String| {
        let app = &app;
        async move {
            app.client
                .post(app.url(&format!("/api/v1/outbox/{id}/retry")))
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(retry(dead.0, per.clone()).await.status(), 403);
    let sent_id = stored.iter().find(|r| r.1 == "sent").unwrap().0;
    assert_eq!(
        retry(sent_id, token.clone()).await.status(),
        409,
        "only dead letters"
    );
    assert_eq!(retry(999_999, token.clone()).await.status(), 404);
    assert_eq!(
        app.api_get("/api/v1/outbox?status=lost", &token).await.status(),
        400
    );
    let r = retry(dead.0, token.clone()).await;
    assert_eq!(r.status(), 200);
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["status"], "pending");
    assert_eq!(again["attempts"], 0);
    let audited: i64 = spotcheck::db::schema::audit_log::table
        .filter(spotcheck::db::schema::audit_log::action.eq("outbox.retry"))
        .count()
        .get_result(&mut app.pool.get().unwrap())
        .unwrap();
    assert_eq!(audited, 1);
    // The address is fixed on the server's side: now it goes through.
    let server2 = SmtpServer::start();
    let r = deliver(&app.pool, &mailer(Some(&server2.url()), app.db.dir.path()));
    assert_eq!(r.sent, 1);
    assert_eq!(server2.received()[0].to, ["finnes.ikke@nav.test"]);
}

async fn two_senders_deliver_each_message_once(backend: Backend) {
    let w = world(backend);
    for i in 0..24 {
        liaison(
            &w.pool,
            &w.rules,
            &format!("L{i}"),
            "nav",
            &format!("l{i}@nav.test"),
            &[],
            &["draw_published"],
        );
    }
    let d = publish(&w, 6);
    assert_eq!(d.notifications_queued, 24);
    let server = SmtpServer::start();
    let url = server.url();
    let senders: Vec<_> = (0..2)
        .map(|_| {
            let (pool, url, dir) = (w.pool.clone(), url.clone(), w.db.dir.path().to_path_buf());
            std::thread::spawn(move || deliver(&pool, &mailer(Some(&url), &dir)).sent)
        })
        .collect();
    let sent: u64 = senders.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sent, 24);
    let got = server.wait_for(24, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.received().len(), 24, "each message exactly once");
    let ids: HashSet<String> = got
        .iter()
        .map(|r| {
            MessageParser::default()
                .parse(&r.data)
                .unwrap()
                .message_id()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 24);
    let stored = rows(&mut w.pool.get().unwrap());
    assert!(stored.iter().all(|r| r.1 == "sent" && r.3 == 1), "{stored:?}");
}

async fn high_risk_digest_once_per_liaison_per_run(backend: Backend) {
    let w = world(backend);
    // The import scored before any liaison existed: entered «Kritisk» then.
    let tiers: Vec<(String, String)> = spotcheck::db::schema::contract_risk::table
        .inner_join(spotcheck::db::schema::contracts::table)
        .select((
            spotcheck::db::schema::contracts::contract_no,
            spotcheck::db::schema::contract_risk::tier,
        ))
        .order(spotcheck::db::schema::contracts::contract_no.asc())
        .load(&mut w.pool.get().unwrap())
        .unwrap();
    let kritisk: Vec<&str> = tiers
        .iter()
        .filter(|t| t.1 == "kritisk")
        .map(|t| t.0.as_str())
        .collect();
    assert_eq!(kritisk, ["R-1", "R-2"], "{tiers:?}");
    assert_eq!(
        w.db.raw_conn()
            .transaction(|c| Ok::<_, diesel::result::Error>(rows(c).len()))
            .unwrap(),
        0
    );

    liaison(
        &w.pool,
        &w.rules,
        "Rita",
        "skatteetaten",
        "rita@skatteetaten.test",
        &["renhold"],
        &["high_risk"],
    );
    liaison(
        &w.pool,
        &w.rules,
        "Bygg",
        "arbeidstilsynet",
        "bygg@at.test",
        &["bygg_anlegg"],
        &["high_risk"],
    );
    liaison(
        &w.pool,
        &w.rules,
        "Trekk",
        "nav",
        "trekk@nav.test",
        &[],
        &["draw_published"],
    );
    // A new upload puts two more contracts into the highest tier (B-1 gets four levels,
    // R-3 gets a value over the threshold and four levels).
    let update = "Avtalenr;Tittel;Leverandør;Org.nr;CPV;Verdi;Antall ledd;Startdato;Sluttdato;Enhet
R-3;Vinduspuss;Vask AS;991825827;90911300;2600000;4;01.01.2025;31.12.2027;Fana
B-1;Rehabilitering bad;Bygg og Bolt AS;974760673;45000000;2900000;4;01.01.2025;31.12.2027;Bergenhus
";
    let import = |bytes: &str, name: &str| {
        spotcheck::service::imports::import_and_score(
            &w.pool,
            &w.rules,
            &w.kari,
            name,
            spotcheck::import::RegisterFile::Bytes(bytes.as_bytes()),
            &spotcheck::import::ImportOptions::default(),
            false,
            &mut |_| {},
        )
        .unwrap()
    };
    let report = import(update, "endringer.csv");
    assert_eq!(
        (report.rows_rejected, report.already_imported),
        (0, false),
        "{:?}",
        report.errors
    );
    let tiers_after: Vec<(String, String)> = spotcheck::db::schema::contract_risk::table
        .inner_join(spotcheck::db::schema::contracts::table)
        .select((
            spotcheck::db::schema::contracts::contract_no,
            spotcheck::db::schema::contract_risk::tier,
        ))
        .order(spotcheck::db::schema::contracts::contract_no.asc())
        .load(&mut w.pool.get().unwrap())
        .unwrap();
    let kritisk: Vec<&str> = tiers_after
        .iter()
        .filter(|t| t.1 == "kritisk")
        .map(|t| t.0.as_str())
        .collect();
    assert_eq!(kritisk, ["B-1", "R-1", "R-2", "R-3"], "{tiers_after:?}");
    let stored = outbox::with_prefix(&mut w.pool.get().unwrap(), "risk.high:").unwrap();
    assert_eq!(stored.len(), 2, "one digest per liaison concerned: {stored:?}");
    let rita = stored
        .iter()
        .find(|m| m.recipient_address.as_deref() == Some("rita@skatteetaten.test"))
        .unwrap();
    let payload: Value = serde_json::from_str(&rita.payload).unwrap();
    let nos: Vec<&str> = payload["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["contract_no"].as_str().unwrap())
        .collect();
    assert_eq!(nos, ["R-3"], "Rita covers renhold only");
    assert_eq!(rita.subject, "1 kontrakt har fått risikonivå «Kritisk»");
    let bygg = stored
        .iter()
        .find(|m| m.recipient_address.as_deref() == Some("bygg@at.test"))
        .unwrap();
    assert!(bygg.payload.contains("\"B-1\"") && !bygg.payload.contains("\"R-3\""));
    // Each contract that entered the highest tier got one case (source flag), shared with
    // the agencies whose liaisons cover its industry.
    let flag_cases = |w: &World| -> Vec<(String, Vec<String>)> {
        use spotcheck::db::schema::{case_shares, cases, contracts};
        let rows: Vec<(i64, String)> = cases::table
            .inner_join(contracts::table)
            .filter(cases::source.eq("flag"))
            .order(contracts::contract_no.asc())
            .select((cases::id, contracts::contract_no))
            .load(&mut w.pool.get().unwrap())
            .unwrap();
        rows.into_iter()
            .map(|(id, no)| {
                let shares: Vec<String> = case_shares::table
                    .filter(case_shares::case_id.eq(id))
                    .order(case_shares::agency.asc())
                    .select(case_shares::agency)
                    .load(&mut w.pool.get().unwrap())
                    .unwrap();
                (no, shares)
            })
            .collect()
    };
    let flagged = flag_cases(&w);
    let nos: Vec<&str> = flagged.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        nos,
        ["B-1", "R-1", "R-2", "R-3"],
        "one case per contract in the highest tier"
    );
    let shares: std::collections::HashMap<&str, &Vec<String>> =
        flagged.iter().map(|(n, s)| (n.as_str(), s)).collect();
    // (NAV's liaison covers every industry.)
    assert_eq!(shares["R-3"], &vec!["nav".to_owned(), "skatteetaten".to_owned()]);
    assert_eq!(
        shares["B-1"],
        &vec!["arbeidstilsynet".to_owned(), "nav".to_owned()]
    );
    // Scoring again without changes queues nothing more.
    spotcheck::service::scoring::rescore_today(
        &mut w.pool.get().unwrap(),
        &w.rules,
        spotcheck::service::scoring::Scope::All,
        false,
        "manual",
        &Actor::system(),
    )
    .unwrap();
    assert_eq!(
        outbox::with_prefix(&mut w.pool.get().unwrap(), "risk.high:")
            .unwrap()
            .len(),
        2
    );
    // The digest renders and goes out.
    let server = SmtpServer::start();
    let r = deliver(&w.pool, &mailer(Some(&server.url()), w.db.dir.path()));
    assert_eq!(r.sent, 2);
    let got = server.wait_for(2, Duration::from_secs(5));
    let msg = got.iter().find(|m| m.to == ["rita@skatteetaten.test"]).unwrap();
    let parsed = MessageParser::default().parse(&msg.data).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(
        text.contains("R-3")
            && text.contains("Vask AS")
            && text.contains("Flere enn to ledd underleverandører"),
        "{text}"
    );
}

async fn weekly_summary_once_a_week(backend: Backend) {
    let w = world(backend);
    liaison(
        &w.pool,
        &w.rules,
        "Uke",
        "kemneren",
        "uke@kemneren.test",
        &["renhold"],
        &["weekly_summary"],
    );
    liaison(
        &w.pool,
        &w.rules,
        "Ikke",
        "nav",
        "ikke@nav.test",
        &[],
        &["draw_published"],
    );
    let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    let mut conn = w.pool.get().unwrap();
    // Monday 7 December 2026, 05:59 UTC = 06:59 in Oslo: not yet.
    let q = |conn: &mut DbConn, t| spotcheck::service::outbox::queue_scheduled(conn, &w.rules, t).unwrap();
    assert_eq!(q(&mut conn, at("2026-12-07 05:59")), 0);
    assert_eq!(q(&mut conn, at("2026-12-07 06:00")), 1, "07:00 in Oslo");
    assert_eq!(q(&mut conn, at("2026-12-09 12:00")), 0, "once a week");
    assert_eq!(q(&mut conn, at("2026-12-14 09:00")), 1, "the next week");
    let stored = outbox::with_prefix(&mut conn, "weekly:").unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored[0].dedupe_key,
        format!(
            "weekly:2026-W49:liaison:{}",
            stored[0].recipient_liaison_id.unwrap()
        )
    );
    assert_eq!(stored[0].subject, "Ukesoversikt fra spotcheck, uke 49");
    let p: Value = serde_json::from_str(&stored[0].payload).unwrap();
    assert_eq!(p["from"], "2026-11-30");
    assert_eq!(p["to"], "2026-12-06");
    // Renhold only: the four renhold contracts by tier (two «Kritisk»).
    let by_tier: BTreeMap<String, i64> = p["by_tier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t[0].as_str().unwrap().to_owned(), t[1].as_i64().unwrap()))
        .collect();
    assert_eq!(by_tier.values().sum::<i64>(), 4, "{by_tier:?}");
    assert_eq!(by_tier["Kritisk"], 2);
    drop(conn);
    let dir = w.db.dir.path().join("eml");
    assert_eq!(deliver(&w.pool, &mailer(None, &dir)).sent, 2);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let raw = std::fs::read(&files[0]).unwrap();
    let msg = MessageParser::default().parse(&raw).unwrap();
    let text = msg.body_text(0).unwrap();
    assert!(text.contains("30.11.2026–06.12.2026"), "{text}");
    assert!(text.contains("Kritisk: 2"), "{text}");
}

/// The "done when": with the SMTP server down, a draw is published by the CLI while
/// `serve` runs; when the server comes back, each liaison receives exactly one mail.
async fn serve_delivers_after_the_server_comes_back(backend: Backend) {
    let w = world(backend);
    liaison(
        &w.pool,
        &w.rules,
        "A",
        "arbeidstilsynet",
        "a@arbeidstilsynet.test",
        &[],
        &["draw_published"],
    );
    liaison(
        &w.pool,
        &w.rules,
        "S",
        "skatteetaten",
        "s@skatteetaten.test",
        &["renhold"],
        &["draw_published"],
    );
    let rules_dir = w.db.dir.path().join("test-rules");
    std::fs::create_dir_all(&rules_dir).unwrap();
    spotcheck::service::rules::export(&w.rules, &rules_dir).unwrap();
    let smtp_port = SmtpServer::free_port();
    let web_port = SmtpServer::free_port();
    let envs = [
        (
            "SPOTCHECK_SMTP_URL",
            format!("smtp://127.0.0.1:{smtp_port}?tls=none"),
        ),
        ("SPOTCHECK_MAIL_POLL_SECONDS", "1".into()),
        ("SPOTCHECK_MAIL_RETRY_BASE_SECONDS", "1".into()),
        ("SPOTCHECK_SMTP_TIMEOUT_SECONDS", "2".into()),
        ("SPOTCHECK_MAIL_FROM", "spotcheck@bergen.test".into()),
        ("SPOTCHECK_ENRICH_POLL_SECONDS", "0".into()),
        ("SPOTCHECK_BIND", format!("127.0.0.1:{web_port}")),
        ("SPOTCHECK_RULES_DIR", rules_dir.to_string_lossy().into_owned()),
        ("SPOTCHECK_ADMIN_PASSWORD", "admin-passord-123".into()),
    ];
    let mut serve = std::process::Command::new(common::bin())
        .arg("serve")
        .env_remove("SPOTCHECK_CONFIG")
        .env("SPOTCHECK_DATABASE_URL", &w.db.url)
        .env("SPOTCHECK_DATA_DIR", w.db.dir.path().join("data"))
        .env("RUST_LOG", "warn")
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let envs_ref: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (ok, out, err) = run_cli(
        &w.db,
        &[
            "draw", "--seed", SEED, "--size", "6", "--user", "kari", "--format", "json",
        ],
        &envs_ref,
    );
    assert!(ok, "{err}");
    let published: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(published["notifications_queued"], 2, "{out}");
    // The worker tries and fails while the server is down.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let tried = rows(&mut w.pool.get().unwrap())
            .iter()
            .filter(|r| r.3 >= 1 && r.1 == "pending")
            .count();
        if tried == 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the worker never tried");
        std::thread::sleep(Duration::from_millis(200));
    }
    let server = SmtpServer::start_at(smtp_port);
    let got = server.wait_for(2, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(3));
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(
        server.received().len(),
        2,
        "each liaison exactly once: {:?}",
        got.iter().map(|r| &r.to).collect::<Vec<_>>()
    );
    let to: HashSet<String> = got.iter().flat_map(|r| r.to.clone()).collect();
    assert_eq!(
        to,
        HashSet::from([
            "a@arbeidstilsynet.test".to_owned(),
            "s@skatteetaten.test".to_owned()
        ])
    );
    for r in &got {
        let msg = MessageParser::default().parse(&r.data).unwrap();
        assert_eq!(msg.attachments().count(), 1, "with the xlsx");
    }
    let stored = rows(&mut w.pool.get().unwrap());
    assert!(stored.iter().all(|r| r.1 == "sent"), "{stored:?}");
    let _ = json!({});
}

backend_tests!(
    file_transport_writes_eml_files,
    smtp_delivers_to_the_liaisons_concerned,
    smtp_down_then_back_delivers_once,
    refused_recipient_is_a_dead_letter_kemneren_can_retry,
    two_senders_deliver_each_message_once,
    high_risk_digest_once_per_liaison_per_run,
    weekly_summary_once_a_week,
    serve_delivers_after_the_server_comes_back,
);

/// The README's first command on its embedded defaults: with no SMTP server configured,
/// `serve` writes the mail of a draw published by the CLI as `.eml` files under
/// `./data/outbox/`.
#[test]
fn embedded_default_writes_eml_files_to_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let web_port = SmtpServer::free_port();
    let rules_dir = dir.path().join("regler");
    std::fs::create_dir_all(&rules_dir).unwrap();
    spotcheck::service::rules::export(&rules(), &rules_dir).unwrap();
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(common::bin())
            .args(args)
            .current_dir(dir.path())
            .env_remove("SPOTCHECK_CONFIG")
            .env_remove("SPOTCHECK_DATABASE_URL")
            .env_remove("SPOTCHECK_DATA_DIR")
            .env_remove("SPOTCHECK_SMTP_URL")
            .env("SPOTCHECK_RULES_DIR", &rules_dir)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    std::fs::write(dir.path().join("register.csv"), REGISTER).unwrap();
    cli(&["import", "register.csv"]);
    cli(&[
        "liaisons",
        "add",
        "Kari",
        "--agency",
        "nav",
        "--email",
        "kari@nav.test",
        "--notice",
        "draw_published",
    ]);
    let mut serve = std::process::Command::new(common::bin())
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("SPOTCHECK_CONFIG")
        .env_remove("SPOTCHECK_DATABASE_URL")
        .env_remove("SPOTCHECK_DATA_DIR")
        .env_remove("SPOTCHECK_SMTP_URL")
        .env("SPOTCHECK_RULES_DIR", &rules_dir)
        .env("SPOTCHECK_BIND", format!("127.0.0.1:{web_port}"))
        .env("SPOTCHECK_MAIL_POLL_SECONDS", "1")
        .env("SPOTCHECK_ENRICH_POLL_SECONDS", "0")
        .env("SPOTCHECK_ADMIN_PASSWORD", "admin-passord-123")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    cli(&["draw", "--seed", SEED, "--size", "3"]);
    let outbox = dir.path().join("data/outbox");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let files = loop {
        let files: Vec<_> = std::fs::read_dir(&outbox)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        if !files.is_empty() || std::time::Instant::now() > deadline {
            break files;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(
        files.len(),
        1,
        "one mail, written by serve's worker to ./data/outbox"
    );
    let raw = std::fs::read(&files[0]).unwrap();
    let msg = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        msg.to().unwrap().first().unwrap().address().unwrap(),
        "kari@nav.test"
    );
    assert_eq!(msg.attachments().count(), 1);
}
