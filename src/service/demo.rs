//! `spotcheck serve --demo`: a demo register a newcomer can open, seeded on an empty
//! database from the fixtures under `fixtures/demo/` (embedded in the binary).
//!
//! The demo is made the way people would make it: every step is a service call by the demo
//! user whose work it is (the innkjøper imports, Kemneren draws, the Arbeidstilsynet partners
//! work and close cases), so the audit log, the outbox and every page look like real use.
//! It never mixes into a real register: [`state`] tells an empty database, one holding the
//! demo (marked by the audit action [`MARKER`]) and one holding anything else apart.
//! Demo mode never contacts the network: [`demo_settings`] writes mail as `.eml` files and
//! points the register client at a closed loopback port with the enrichment worker off.

use crate::auth::{self, AuthError};
use crate::brreg::approvals::{self, ApprovalError, Register};
use crate::config::Settings;
use crate::db::models::audit::{self, Event};
use crate::db::models::users::{self as user_rows, User};
use crate::db::models::{Actor, cases as case_rows, contracts, draws as draw_rows, now};
use crate::db::{DbConn, DbError, Pool, write_tx};
use crate::domain::liaison::LiaisonDraft;
use crate::domain::roles::{Agency, Role};
use crate::import::ImportOptions;
use crate::mail::transport::TransportError;
use crate::risk::RuleSet;
use crate::service::cases::{CaseError, CaseListItem, CaseQuery};
use crate::service::draws::{DrawError, DrawFilter, DrawSpec, StrataMode};
use crate::service::imports::ImportFailure;
use crate::service::liaisons::LiaisonError;
use crate::service::scoring::{self, ScoreError};
use crate::service::users::AccountError;
use crate::service::{self as svc};

/// The audit action that marks a database as holding the demo.
pub const MARKER: &str = "demo.seed";

/// The ceremony seed of the demo draw, so every demo has the same picks.
pub const DRAW_SEED: &str = "demo-2026";

const REGISTER: &[u8] = include_bytes!("../../fixtures/demo/register.csv");
const REGISTER_NAME: &str = "demo-kontraktsregister.csv";
const ENHETER: &[u8] = include_bytes!("../../fixtures/demo/enheter.json");
const RENHOLD: &[u8] = include_bytes!("../../fixtures/demo/renholdsregisteret.csv");
const BILPLEIE: &[u8] = include_bytes!("../../fixtures/demo/bilpleieregisteret.csv");
const BEMANNING: &[u8] = include_bytes!("../../fixtures/demo/bemanningsregisteret.csv");

/// The demo users: name, role, agency, address. `admin` is the bootstrap admin.
pub const USERS: [(&str, Role, Option<Agency>, Option<&str>); 6] = [
    (
        "innkjoper",
        Role::Innkjoper,
        None,
        Some("innkjoper@bergen.example.org"),
    ),
    ("kemner", Role::Kemner, None, Some("kemner@bergen.example.org")),
    (
        "arbeidstilsynet",
        Role::Akrim,
        Some(Agency::Arbeidstilsynet),
        Some("partner1@arbeidstilsynet.example.org"),
    ),
    (
        "arbeidstilsynet2",
        Role::Akrim,
        Some(Agency::Arbeidstilsynet),
        Some("partner2@arbeidstilsynet.example.org"),
    ),
    (
        "nav",
        Role::Akrim,
        Some(Agency::Nav),
        Some("partner@nav.example.org"),
    ),
    ("admin", Role::Admin, None, None),
];

/// Risk industries the demo draw covers (ids of the shipped rule set).
const DRAW_INDUSTRIES: [&str; 6] = [
    "renhold",
    "bygg_anlegg",
    "bilpleie",
    "bemanning",
    "servering",
    "hage_park",
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Import(#[from] ImportFailure),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Liaison(#[from] LiaisonError),
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error(transparent)]
    Draw(#[from] DrawError),
    #[error(transparent)]
    Score(#[from] ScoreError),
    #[error(transparent)]
    Approvals(#[from] ApprovalError),
    #[error(transparent)]
    Mail(#[from] TransportError),
    /// The database holds real data: the demo is never mixed into it.
    #[error("the database holds data that is not the demo")]
    RealData,
    /// The draw opened too few cases to show every state.
    #[error("the demo draw opened {0} cases; the demo needs at least 5")]
    TooFewCases(usize),
}

/// What the database holds, as far as the demo is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoState {
    /// No contracts, no draws and no users but the bootstrap admin (and the operations user).
    Empty,
    /// The demo was seeded here before.
    Seeded,
    /// Real data: the demo refuses to run here.
    Real,
}

/// Tells an empty database, the demo and real data apart.
pub fn state(conn: &mut DbConn) -> Result<DemoState, DbError> {
    if audit::has_action(conn, MARKER)? {
        return Ok(DemoState::Seeded);
    }
    let others = user_rows::list(conn)?
        .into_iter()
        .filter(|u| u.username != "admin" && u.username != svc::users::OPERATOR)
        .count();
    if others == 0 && contracts::count_all(conn)? == 0 && draw_rows::count(conn)? == 0 {
        Ok(DemoState::Empty)
    } else {
        Ok(DemoState::Real)
    }
}

/// `settings` for a demo run: mail as `.eml` files under `<data_dir>/outbox/` whatever SMTP
/// is configured, the register client at a closed loopback port and its worker off, so the
/// demo never contacts the network.
pub fn demo_settings(mut settings: Settings) -> Settings {
    settings.smtp_url = None;
    settings.brreg_url = "http://127.0.0.1:9/enhetsregisteret/api".to_owned();
    settings.enrich_poll_seconds = 0;
    settings
}

/// One demo user and the password just set for them.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub username: String,
    pub role: Role,
    pub agency: Option<Agency>,
    pub password: String,
}

/// What [`run`] did.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// True when the demo was seeded now; false when it was there and only the passwords
    /// were reset.
    pub seeded: bool,
    pub users: Vec<DemoUser>,
}

/// Seeds the demo on an empty database, or resets the demo users' passwords on one that
/// holds it; refuses ([`DemoError::RealData`]) anything else. `settings` should come from
/// [`demo_settings`]. The passwords are new and random every time.
pub fn run(pool: &Pool, settings: &Settings, rules: &RuleSet) -> Result<DemoReport, DemoError> {
    let mut conn = pool.get().map_err(DbError::from)?;
    match state(&mut conn)? {
        DemoState::Real => Err(DemoError::RealData),
        DemoState::Seeded => Ok(DemoReport {
            seeded: false,
            users: reset_passwords(&mut conn)?,
        }),
        DemoState::Empty => {
            drop(conn);
            let users = seed(pool, settings, rules)?;
            Ok(DemoReport { seeded: true, users })
        }
    }
}

fn new_password() -> Result<String, AuthError> {
    auth::new_readable_password()
}

/// New random passwords for the demo users that exist (audited as `user.set_password`).
fn reset_passwords(conn: &mut DbConn) -> Result<Vec<DemoUser>, DemoError> {
    let actor = Actor::system();
    let mut out = Vec::new();
    for (name, _, _, _) in USERS {
        let Some(user) = user_rows::find_by_username(conn, name)? else {
            continue;
        };
        let password = new_password()?;
        svc::users::set_password(conn, &actor, name, &password)?;
        out.push(DemoUser {
            username: user.username,
            role: user.role,
            agency: user.agency,
            password,
        });
    }
    Ok(out)
}

fn mark(conn: &mut DbConn) -> Result<(), DbError> {
    write_tx(conn, |c| {
        audit::append(
            c,
            &Actor::system(),
            Event {
                action: MARKER,
                object_type: "demo",
                object_id: "demo",
                detail: serde_json::json!({"fixtures": "fixtures/demo", "draw_seed": DRAW_SEED}),
            },
        )
    })
}

fn user(conn: &mut DbConn, name: &str) -> Result<User, DbError> {
    user_rows::require(conn, name)
}

/// Seeds the demo on an empty database and returns the demo users with their passwords.
/// The marker comes first, so a seeding that stops half-way is still recognised as the
/// demo (and never taken for real data) the next time.
pub fn seed(pool: &Pool, settings: &Settings, rules: &RuleSet) -> Result<Vec<DemoUser>, DemoError> {
    let mut conn = pool.get().map_err(DbError::from)?;
    let c = &mut conn;
    mark(c)?;
    let system = Actor::system();

    // Users: one per role; the bootstrap admin is there already (or made here).
    let mut users = Vec::new();
    for (name, role, agency, email) in USERS {
        let password = new_password()?;
        if user_rows::find_by_username(c, name)?.is_some() {
            svc::users::set_password(c, &system, name, &password)?;
        } else {
            svc::users::create(c, &system, name, role, agency, email, Some(&password))?;
        }
        users.push(DemoUser {
            username: name.to_owned(),
            role,
            agency,
            password,
        });
    }
    let kemner = user(c, "kemner")?;
    let kemner_actor = Actor::user(&kemner.username);

    // Liaisons first, so the draw and the high-risk digest have someone to tell.
    let liaisons = [
        LiaisonDraft {
            name: "Liv Demo (Arbeidstilsynet)".into(),
            agency: "arbeidstilsynet".into(),
            email: "partner1@arbeidstilsynet.example.org".into(),
            industries: Vec::new(),
            notices: vec![
                "draw_published".into(),
                "high_risk".into(),
                "weekly_summary".into(),
            ],
            user: Some("arbeidstilsynet".into()),
        },
        LiaisonDraft {
            name: "Sander Demo (Skatteetaten)".into(),
            agency: "skatteetaten".into(),
            email: "kontakt@skatteetaten.example.org".into(),
            industries: vec!["bygg_anlegg".into(), "renhold".into(), "servering".into()],
            notices: vec!["draw_published".into(), "high_risk".into()],
            user: None,
        },
        LiaisonDraft {
            name: "Nora Demo (NAV)".into(),
            agency: "nav".into(),
            email: "partner@nav.example.org".into(),
            industries: vec!["bemanning".into(), "renhold".into()],
            notices: vec!["draw_published".into()],
            user: Some("nav".into()),
        },
    ];
    for l in &liaisons {
        svc::liaisons::create(c, &kemner_actor, rules, l)?;
    }

    // The register, imported by the innkjøper (rows with errors included on purpose).
    let innkjoper = user(c, "innkjoper")?;
    drop(conn);
    svc::imports::import_and_score(
        pool,
        rules,
        &innkjoper,
        REGISTER_NAME,
        crate::import::RegisterFile::Bytes(REGISTER),
        &ImportOptions::default(),
        false,
        &mut |_| {},
    )?;
    let mut conn = pool.get().map_err(DbError::from)?;
    let c = &mut conn;

    // Register facts from a bulk file and the approval registers, loaded by Kemneren.
    svc::suppliers::load_bulk(
        c,
        std::io::Cursor::new(ENHETER),
        false,
        false,
        &kemner_actor,
        "demo-enheter.json",
    )?;
    for (register, name, bytes) in [
        (Register::Renhold, "demo-renholdsregisteret.csv", RENHOLD),
        (Register::Bilpleie, "demo-bilpleieregisteret.csv", BILPLEIE),
        (Register::Bemanning, "demo-bemanningsregisteret.csv", BEMANNING),
    ] {
        let parsed = approvals::read_csv(register, std::io::Cursor::new(bytes))?;
        svc::suppliers::load_approvals(c, &kemner_actor, name, bytes, &parsed)?;
    }
    scoring::rescore_today(c, rules, scoring::Scope::All, false, "demo", &kemner_actor)?;

    // The published draw: cases for the picks, mail to the liaisons.
    let spec = DrawSpec {
        filter: DrawFilter {
            industries: DRAW_INDUSTRIES.iter().map(|s| (*s).to_owned()).collect(),
            active_from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1),
            active_to: chrono::NaiveDate::from_ymd_opt(2026, 12, 31),
            ..DrawFilter::default()
        },
        strata: StrataMode::Industry,
        seed: Some(DRAW_SEED.to_owned()),
        size: Some(12),
        ..DrawSpec::default()
    };
    let published = svc::draws::publish(c, &kemner, &spec, rules)?;
    let draw_id = published.draw.id;

    // Cases in several states, worked by the two Arbeidstilsynet partners.
    let at1 = user(c, "arbeidstilsynet")?;
    let at2 = user(c, "arbeidstilsynet2")?;
    let page = svc::cases::list(
        c,
        &kemner,
        &CaseQuery {
            status: None,
            agency: Some("arbeidstilsynet".into()),
            assigned_to_me: false,
            page: 1,
            per_page: 500,
            after: None,
        },
    )?;
    let mut ids: Vec<i64> = page
        .items
        .iter()
        .filter_map(|i| match i {
            CaseListItem::Summary(s) if s.draw_id == Some(draw_id) => Some(s.id),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    let [reviewing, documents, checked, closed, ..] = ids[..] else {
        return Err(DemoError::TooFewCases(ids.len()));
    };

    // Under review, with a note and a finding.
    svc::cases::assign(c, &kemner, reviewing, &at1.username)?;
    svc::cases::set_status(c, &at1, reviewing, "under_vurdering")?;
    svc::cases::add_note(
        c,
        &at1,
        reviewing,
        "Leverandøren står ikke i Renholdsregisteret som godkjent. Tilsyn planlagt neste uke.",
    )?;
    svc::cases::add_finding(c, &at1, rules, reviewing, "godkjenning_mangler", "bekreftet")?;

    // Documents asked for, deadline passed, nothing received.
    svc::cases::assign(c, &kemner, documents, &at1.username)?;
    svc::cases::set_status(c, &at1, documents, "under_vurdering")?;
    let today = crate::domain::oslo::local(now()).date();
    svc::cases::request_documents(
        c,
        &at1,
        documents,
        &["lonnsslipper".to_owned(), "timelister".to_owned()],
        today,
        Some("Lønnsslipper og timelister for mars–mai"),
    )?;
    backdate_request(c, documents, today - chrono::Days::new(10))?;

    // Checked, closing proposed by one partner, waiting for the other.
    svc::cases::set_status(c, &at1, checked, "under_vurdering")?;
    svc::cases::add_note(c, &at1, checked, "Timelister og lønnsslipper er gjennomgått.")?;
    svc::cases::set_status(c, &at1, checked, "kontrollert")?;
    svc::cases::propose_close(c, &at1, checked, "ingen_funn")?;

    // Closed with four eyes: referred to Arbeidstilsynet.
    svc::cases::set_status(c, &at1, closed, "under_vurdering")?;
    svc::cases::add_finding(c, &at1, rules, closed, "for_mange_ledd", "bekreftet")?;
    svc::cases::set_status(c, &at1, closed, "kontrollert")?;
    svc::cases::propose_close(c, &at1, closed, "henvist_arbeidstilsynet")?;
    svc::cases::confirm_close(c, &at2, closed)?;

    // The reminder for the overdue request, then the outbox delivered once as files.
    svc::outbox::queue_scheduled(c, rules, now())?;
    let mailer = svc::outbox::Mailer::from_settings(settings)?;
    svc::outbox::deliver_due(c, &mailer, 1_000)?;
    Ok(users)
}

/// Moves the deadline of the case's open document request to `deadline` (in the past, so
/// the demo shows an overdue request), audited as `demo.backdate_document_request`.
fn backdate_request(c: &mut DbConn, case_id: i64, deadline: chrono::NaiveDate) -> Result<(), DbError> {
    write_tx(c, |c| {
        for request in case_rows::open_document_requests(c, case_id)? {
            case_rows::set_document_deadline(c, request, deadline)?;
            audit::append(
                c,
                &Actor::system(),
                Event {
                    action: "demo.backdate_document_request",
                    object_type: "case",
                    object_id: &case_id.to_string(),
                    detail: serde_json::json!({"request": request, "deadline": deadline}),
                },
            )?;
        }
        Ok(())
    })
}
