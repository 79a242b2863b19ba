//! The register client against a real HTTP server on loopback (wiremock) replaying the
//! recorded and synthetic answers in `fixtures/brreg/`. Nothing here reaches data.brreg.no.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::dates::date;
use spotcheck::brreg::{BrregClient, BrregConfig, BrregError, ChangeType, Employees, Lookup, Outcome};
use spotcheck::domain::orgnr::OrgNr;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

macro_rules! fixture {
    ($name:literal) => {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/brreg/", $name))
            .expect(concat!("fixture ", $name))
    };
}

const ACCEPT_ENHET: &str = "application/vnd.brreg.enhetsregisteret.enhet.v2+json";
const ACCEPT_UNDERENHET: &str = "application/vnd.brreg.enhetsregisteret.underenhet.v2+json";

fn config(base_url: String) -> BrregConfig {
    BrregConfig {
        base_url,
        timeout: Duration::from_secs(2),
        max_in_flight: 4,
        max_attempts: 3,
        backoff_base: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        ..BrregConfig::default()
    }
    .with_contact("innkjop@kommune.example")
}

fn client(server: &MockServer) -> BrregClient {
    BrregClient::new(config(server.uri())).unwrap()
}

fn orgnr(s: &str) -> OrgNr {
    OrgNr::parse_canonical(s).unwrap()
}

fn json(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "application/json")
}

async fn mount_main(server: &MockServer, orgnr: &str, body: String) {
    Mock::given(method("GET"))
        .and(path(format!("/enheter/{orgnr}")))
        .respond_with(json(body))
        .mount(server)
        .await;
}

async fn lookup_fixture(orgnr_s: &str, body: String) -> Lookup {
    let server = MockServer::start().await;
    mount_main(&server, orgnr_s, body).await;
    client(&server).lookup(&orgnr(orgnr_s)).await.unwrap()
}

#[tokio::test]
async fn active_unit_maps_every_field_and_sends_polite_headers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/enheter/991825827"))
        .and(header("accept", ACCEPT_ENHET))
        .and(header(
            "user-agent",
            format!(
                "spotcheck/{} (+innkjop@kommune.example)",
                env!("CARGO_PKG_VERSION")
            )
            .as_str(),
        ))
        .respond_with(json(fixture!("enhet_aktiv_991825827.json")))
        .expect(1)
        .mount(&server)
        .await;

    let before = chrono::Utc::now();
    let l = client(&server).lookup(&orgnr("991825827")).await.unwrap();
    assert_eq!(l.outcome, Outcome::Active);
    assert!(l.fetched_at >= before);
    assert!(
        l.raw_json
            .as_deref()
            .unwrap()
            .contains("DIGITALISERINGSDIREKTORATET")
    );
    // A main unit's overordnetEnhet (public-sector parent) is not fetched.
    assert_eq!(l.parent, None);
    assert_eq!(l.parent_outcome, None);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    let f = l.facts.unwrap();
    assert_eq!(f.orgnr, "991825827");
    assert_eq!(f.name, "DIGITALISERINGSDIREKTORATET");
    assert!(!f.is_subunit);
    assert_eq!(f.org_form.as_deref(), Some("ORGL"));
    assert_eq!(f.industry_codes, vec!["84.110"]);
    assert_eq!(f.employees, Employees::Known(433));
    assert_eq!(f.registered_date, Some(date("2007-10-15")));
    assert_eq!(f.founded_date, None);
    assert_eq!(f.vat_registered, Some(false));
    assert!(!f.bankrupt && !f.under_liquidation && !f.forced_dissolution);
    assert!(f.status_flags_reported);
    assert_eq!(f.deleted_date, None);
    assert_eq!(f.last_accounts_year, None);
    assert_eq!(f.parent_orgnr.as_deref(), Some("932384469"));
    assert_eq!(f.sector_code.as_deref(), Some("6100"));
    assert_eq!(f.in_business_register, Some(false));
    let business = f.business_address.unwrap();
    assert_eq!(business.lines, vec!["Lørenfaret 1C"]);
    assert_eq!(business.postal_code.as_deref(), Some("0585"));
    assert_eq!(business.municipality_number.as_deref(), Some("0301"));
    assert_eq!(f.postal_address.unwrap().lines, vec!["Postboks 1382 Vika"]);
}

#[tokio::test]
async fn deleted_unit_is_200_with_slettedato() {
    let l = lookup_fixture("821227062", fixture!("enhet_slettet_821227062.json")).await;
    assert_eq!(l.outcome, Outcome::Deleted);
    let f = l.facts.unwrap();
    assert_eq!(f.deleted_date, Some(date("2024-11-26")));
    assert_eq!(f.org_form.as_deref(), Some("FYLK"));
    // The reduced body says nothing about flags: they are not reported, not "false".
    assert!(!f.status_flags_reported);
    assert_eq!(f.vat_registered, None);
    assert_eq!(f.employees, Employees::NotRegistered);
    assert!(l.raw_json.is_some());
}

#[tokio::test]
async fn removed_410_on_main_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/enheter/433695968"))
        .respond_with(ResponseTemplate::new(410).set_body_raw(
            fixture!("underenhet_fjernet_410_433695968.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    let l = client(&server).lookup(&orgnr("433695968")).await.unwrap();
    assert_eq!(l.outcome, Outcome::Removed);
    assert_eq!(l.facts, None);
    // The register asks copies to be purged: nothing of the unit is handed on.
    assert_eq!(l.raw_json, None);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn removed_410_on_subunit_endpoint_after_404() {
    let server = MockServer::start().await;
    Mock::given(path("/enheter/433695968"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/underenheter/433695968"))
        .and(header("accept", ACCEPT_UNDERENHET))
        .respond_with(ResponseTemplate::new(410).set_body_raw(
            fixture!("underenhet_fjernet_410_433695968.json"),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let l = client(&server).lookup(&orgnr("433695968")).await.unwrap();
    assert_eq!(l.outcome, Outcome::Removed);
    assert_eq!(l.facts, None);
}

#[tokio::test]
async fn unknown_is_404_on_both_endpoints() {
    let server = MockServer::start().await;
    Mock::given(path("/enheter/123456785"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/underenheter/123456785"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let l = client(&server).lookup(&orgnr("123456785")).await.unwrap();
    assert_eq!(l.outcome, Outcome::Unknown);
    assert_eq!(l.facts, None);
    assert_eq!(l.raw_json, None);
}

#[tokio::test]
async fn bad_request_400_is_a_non_retryable_error_with_the_registers_message() {
    let server = MockServer::start().await;
    Mock::given(path("/enheter/123456785"))
        .respond_with(
            ResponseTemplate::new(400).set_body_raw(fixture!("bad_request_400.json"), "application/json"),
        )
        .expect(1) // never retried
        .mount(&server)
        .await;
    let err = client(&server).lookup(&orgnr("123456785")).await.unwrap_err();
    match &err {
        BrregError::InvalidRequest { status, message } => {
            assert_eq!(*status, 400);
            assert!(message.contains("Ugyldig organisasjonsnummer"), "{message}");
            assert!(message.contains("12345"), "{message}");
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(err.to_string().starts_with("registeret avviste forespørselen"));
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/enheter/991825827"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_main(&server, "991825827", fixture!("enhet_aktiv_991825827.json")).await;
    let l = client(&server).lookup(&orgnr("991825827")).await.unwrap();
    assert_eq!(l.outcome, Outcome::Active);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn server_error_forever_gives_up_after_max_attempts() {
    let server = MockServer::start().await;
    Mock::given(path("/enheter/991825827"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let err = client(&server).lookup(&orgnr("991825827")).await.unwrap_err();
    match &err {
        BrregError::Unavailable { attempts, reason } => {
            assert_eq!(*attempts, 3);
            assert!(reason.contains("HTTP 500"), "{reason}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn too_many_requests_429_is_retried_and_then_reported() {
    let server = MockServer::start().await;
    Mock::given(path("/enheter/991825827"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_main(&server, "991825827", fixture!("enhet_aktiv_991825827.json")).await;
    let l = client(&server).lookup(&orgnr("991825827")).await.unwrap();
    assert_eq!(l.outcome, Outcome::Active);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    let busy = MockServer::start().await;
    Mock::given(path("/enheter/991825827"))
        .respond_with(ResponseTemplate::new(429))
        .mount(&busy)
        .await;
    let err = client(&busy).lookup(&orgnr("991825827")).await.unwrap_err();
    assert!(err.is_retryable());
    assert!(err.to_string().contains("429"), "{err}");
    assert_eq!(busy.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn slow_response_beyond_the_timeout_is_retried_then_unavailable() {
    let server = MockServer::start().await;
    Mock::given(path("/enheter/991825827"))
        .respond_with(json(fixture!("enhet_aktiv_991825827.json")).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let cfg = BrregConfig {
        timeout: Duration::from_millis(200),
        max_attempts: 2,
        ..config(server.uri())
    };
    let started = Instant::now();
    let err = BrregClient::new(cfg)
        .unwrap()
        .lookup(&orgnr("991825827"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    match &err {
        BrregError::Unavailable { attempts, reason } => {
            assert_eq!(*attempts, 2);
            assert!(reason.contains("tidsavbrudd"), "{reason}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(err.is_retryable());
}

#[tokio::test]
async fn connection_refused_is_retryable_unavailable() {
    // Bind a port, then drop the listener: nothing listens there any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = BrregClient::new(config(format!("http://127.0.0.1:{port}"))).unwrap();
    let err = c.lookup(&orgnr("991825827")).await.unwrap_err();
    match &err {
        BrregError::Unavailable { attempts, reason } => {
            assert_eq!(*attempts, 3);
            assert!(reason.contains("fikk ikke kontakt"), "{reason}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(err.is_retryable());
}

#[tokio::test]
async fn subunit_leads_to_its_parent() {
    let server = MockServer::start().await;
    Mock::given(path("/enheter/924203617"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(path("/underenheter/924203617"))
        .respond_with(json(fixture!("underenhet_aktiv_924203617.json")))
        .mount(&server)
        .await;
    Mock::given(path("/enheter/991825827"))
        .and(header("accept", ACCEPT_ENHET))
        .respond_with(json(fixture!("enhet_aktiv_991825827.json")))
        .expect(1)
        .mount(&server)
        .await;
    let l = client(&server).lookup(&orgnr("924203617")).await.unwrap();
    assert_eq!(l.outcome, Outcome::Active);
    let f = l.facts.unwrap();
    assert!(f.is_subunit);
    assert_eq!(f.org_form.as_deref(), Some("BEDR"));
    assert_eq!(f.parent_orgnr.as_deref(), Some("991825827"));
    assert_eq!(f.employees, Employees::Known(94));
    assert_eq!(f.founded_date, Some(date("2020-01-01"))); // oppstartsdato
    assert_eq!(
        f.business_address.unwrap().city.as_deref(),
        Some("BRØNNØYSUND") // beliggenhetsadresse
    );
    assert_eq!(l.parent_outcome, Some(Outcome::Active));
    assert_eq!(l.parent.unwrap().orgnr, "991825827");
    assert!(l.parent_raw_json.is_some());
}

#[tokio::test]
async fn subunit_of_a_bankrupt_parent_carries_the_parents_flags() {
    let server = MockServer::start().await;
    Mock::given(path("/enheter/310000078"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(path("/underenheter/310000078"))
        .respond_with(json(fixture!("underenhet_med_konkurs_forelder_310000078.json")))
        .mount(&server)
        .await;
    mount_main(
        &server,
        "310000043",
        fixture!("enhet_konkurs_avvikling_310000043.json"),
    )
    .await;
    let l = client(&server).lookup(&orgnr("310000078")).await.unwrap();
    let f = l.facts.unwrap();
    assert!(f.is_subunit);
    assert_eq!(f.employees, Employees::Hidden1To4);
    let p = l.parent.unwrap();
    assert!(p.bankrupt);
    assert_eq!(p.bankruptcy_date, Some(date("2025-09-01")));
}

#[tokio::test]
async fn subunit_whose_parent_is_gone_reports_the_parent_outcome() {
    let server = MockServer::start().await;
    Mock::given(path("/enheter/310000078"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(path("/underenheter/310000078"))
        .respond_with(json(fixture!("underenhet_med_konkurs_forelder_310000078.json")))
        .mount(&server)
        .await;
    Mock::given(path("/enheter/310000043"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&server)
        .await;
    let l = client(&server).lookup(&orgnr("310000078")).await.unwrap();
    assert_eq!(l.outcome, Outcome::Active);
    assert_eq!(l.parent, None);
    assert_eq!(l.parent_outcome, Some(Outcome::Removed));
}

#[tokio::test]
async fn deleted_subunit() {
    let server = MockServer::start().await;
    Mock::given(path("/enheter/974567989"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(path("/underenheter/974567989"))
        .respond_with(json(fixture!("underenhet_slettet_974567989.json")))
        .mount(&server)
        .await;
    let l = client(&server).lookup(&orgnr("974567989")).await.unwrap();
    assert_eq!(l.outcome, Outcome::Deleted);
    let f = l.facts.unwrap();
    assert!(f.is_subunit);
    assert_eq!(f.deleted_date, Some(date("2023-12-30")));
    assert_eq!(f.closed_date, Some(date("2023-12-30")));
    assert_eq!(l.parent_outcome, None);
}

#[tokio::test]
async fn employees_hidden_missing_and_zero_are_distinct() {
    let hidden = lookup_fixture("310000019", fixture!("enhet_ansatte_skjult_310000019.json")).await;
    let hidden = hidden.facts.unwrap();
    assert_eq!(hidden.employees, Employees::Hidden1To4);
    assert_eq!(hidden.industry_codes, vec!["81.210", "81.220", "96.910"]);
    assert_eq!(hidden.founded_date, Some(date("2024-02-20")));
    assert_eq!(hidden.vat_registered_date, Some(date("2024-04-02")));
    assert_eq!(hidden.last_accounts_year, Some(2024));

    let missing = lookup_fixture(
        "310000027",
        fixture!("enhet_ansatte_mangler_tomme_felt_310000027.json"),
    )
    .await;
    assert_eq!(missing.facts.unwrap().employees, Employees::NotRegistered);

    let zero = lookup_fixture("310000035", fixture!("enhet_ansatte_null_310000035.json")).await;
    assert_eq!(zero.facts.unwrap().employees, Employees::Known(0));
}

#[tokio::test]
async fn empty_strings_are_null_and_null_address_lines_are_dropped() {
    let l = lookup_fixture(
        "310000027",
        fixture!("enhet_ansatte_mangler_tomme_felt_310000027.json"),
    )
    .await;
    let f = l.facts.unwrap();
    assert_eq!(f.org_form.as_deref(), Some("ENK"));
    assert_eq!(f.founded_date, None); // "stiftelsesdato": ""
    assert_eq!(f.bankruptcy_date, None); // "konkursdato": ""
    assert_eq!(f.liquidation_date, None);
    assert_eq!(f.last_accounts_year, None); // "sisteInnsendteAarsregnskap": ""
    assert_eq!(f.in_business_register, Some(false));
    let postal = f.postal_address.unwrap();
    assert_eq!(postal.lines, vec!["Tyvholmen 1"]); // ["Tyvholmen 1", null, null, ""]
    assert_eq!(postal.postal_code, None);
    assert_eq!(postal.city, None);
    assert_eq!(f.business_address.unwrap().lines, vec!["Tyvholmen 1"]); // [null, "Tyvholmen 1", ""]
}

#[tokio::test]
async fn bankruptcy_liquidation_and_forced_dissolution_flags() {
    let l = lookup_fixture("310000043", fixture!("enhet_konkurs_avvikling_310000043.json")).await;
    assert_eq!(l.outcome, Outcome::Active); // bankrupt units still answer 200 without slettedato
    let f = l.facts.unwrap();
    assert!(f.bankrupt);
    assert_eq!(f.bankruptcy_date, Some(date("2025-09-01")));
    assert!(f.under_liquidation);
    assert_eq!(f.liquidation_date, Some(date("2025-09-01")));
    assert!(!f.forced_dissolution);
    assert_eq!(f.employees, Employees::Known(12));
    assert_eq!(
        f.business_address.unwrap().lines,
        vec!["c/o Advokat Bostyrer", "Kirkegata 2"]
    );

    let l = lookup_fixture("310000051", fixture!("enhet_tvangsopplost_310000051.json")).await;
    let f = l.facts.unwrap();
    assert!(f.forced_dissolution);
    assert_eq!(
        f.forced_dissolution_reasons,
        vec!["manglende_daglig_leder", "manglende_revisor"]
    );
    assert_eq!(f.forced_dissolution_date, Some(date("2025-02-01")));
    assert_eq!(f.org_form.as_deref(), Some("NUF"));
    assert_eq!(f.home_country_registration.as_deref(), Some("LT-304512345"));
    assert_eq!(f.last_accounts_year, Some(2021));
    assert_eq!(f.employees, Employees::Hidden1To4);
    let a = f.business_address.unwrap();
    assert_eq!(a.country_code.as_deref(), Some("LT"));
    assert_eq!(a.postal_code, None);
}

#[tokio::test]
async fn unreadable_200_body_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(path("/enheter/991825827"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>proxy</html>"))
        .mount(&server)
        .await;
    let err = client(&server).lookup(&orgnr("991825827")).await.unwrap_err();
    assert!(matches!(err, BrregError::Decode(_)), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn unexpected_status_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/enheter/991825827"))
        .respond_with(ResponseTemplate::new(415))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).lookup(&orgnr("991825827")).await.unwrap_err();
    assert!(
        matches!(err, BrregError::UnexpectedStatus { status: 415, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn change_feed_pages_by_update_id() {
    let server = MockServer::start().await;
    for (from, file) in [
        ("21000101", fixture!("oppdateringer_side1.json")),
        ("21000106", fixture!("oppdateringer_side2.json")),
        ("21000111", fixture!("oppdateringer_tom.json")),
    ] {
        Mock::given(method("GET"))
            .and(path("/oppdateringer/enheter"))
            .and(query_param("oppdateringsid", from))
            .and(query_param("size", "3"))
            .and(query_param("sort", "id,ASC"))
            .respond_with(json(file))
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client(&server);

    let p1 = c.updates(21000100, 3).await.unwrap();
    assert_eq!(p1.updates.len(), 3);
    assert!(p1.has_more);
    assert_eq!(p1.next_after_id, 21000105);
    assert_eq!(p1.updates[0].update_id, 21000101);
    assert_eq!(p1.updates[0].orgnr, "991825827");
    assert_eq!(p1.updates[0].change, ChangeType::Changed);
    assert_eq!(
        p1.updates[0].time.unwrap().to_rfc3339(),
        "2025-11-20T05:01:12.345+00:00"
    );
    assert_eq!(p1.updates[2].change, ChangeType::Deleted);

    let p2 = c.updates(p1.next_after_id, 3).await.unwrap();
    assert!(!p2.has_more);
    assert_eq!(p2.next_after_id, 21000110);
    assert_eq!(p2.updates[0].change, ChangeType::Removed);
    assert_eq!(p2.updates[1].change, ChangeType::New);

    // Nothing new: the page has no `_embedded`, and the position stays put.
    let p3 = c.updates(p2.next_after_id, 3).await.unwrap();
    assert!(p3.updates.is_empty());
    assert!(!p3.has_more);
    assert_eq!(p3.next_after_id, 21000110);
}

#[tokio::test]
async fn change_feed_first_run_starts_from_a_date() {
    let server = MockServer::start().await;
    Mock::given(path("/oppdateringer/enheter"))
        .and(query_param("dato", "2025-11-20T00:00:00.000Z"))
        .and(query_param("size", "3"))
        .respond_with(json(fixture!("oppdateringer_side1.json")))
        .expect(1)
        .mount(&server)
        .await;
    let since = "2025-11-20T00:00:00Z".parse().unwrap();
    let page = client(&server).updates_since(since, 3).await.unwrap();
    assert_eq!(page.updates.len(), 3);
    assert_eq!(page.next_after_id, 21000105);
}

#[tokio::test]
async fn change_feed_400_is_invalid_request() {
    let server = MockServer::start().await;
    Mock::given(path("/oppdateringer/enheter"))
        .respond_with(
            ResponseTemplate::new(400).set_body_raw(fixture!("bad_request_400.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let err = client(&server).updates(0, 20_000).await.unwrap_err();
    assert!(matches!(err, BrregError::InvalidRequest { .. }), "{err:?}");
    // The page size was clamped to the register's maximum before asking.
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(
        reqs[0].url.query(),
        Some("oppdateringsid=1&size=10000&sort=id,ASC")
    );
}

/// Records when each request reached the server; every answer is delayed by `delay`, so
/// request i is in flight during [start_i, start_i + delay).
struct Recorder {
    starts: Arc<Mutex<Vec<Instant>>>,
    body: String,
    delay: Duration,
}

impl Respond for Recorder {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.starts.lock().unwrap().push(Instant::now());
        json(self.body.clone()).set_delay(self.delay)
    }
}

async fn max_in_flight_observed(cap: usize) -> usize {
    let server = MockServer::start().await;
    let starts = Arc::new(Mutex::new(Vec::new()));
    let delay = Duration::from_millis(150);
    Mock::given(path("/enheter/991825827"))
        .respond_with(Recorder {
            starts: starts.clone(),
            body: fixture!("enhet_aktiv_991825827.json"),
            delay,
        })
        .mount(&server)
        .await;
    let c = BrregClient::new(BrregConfig {
        max_in_flight: cap,
        ..config(server.uri())
    })
    .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let c = c.clone();
        tasks.spawn(async move { c.lookup(&orgnr("991825827")).await });
    }
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap().unwrap().outcome, Outcome::Active);
    }
    let starts = starts.lock().unwrap().clone();
    assert_eq!(starts.len(), 20);
    starts
        .iter()
        .map(|s| starts.iter().filter(|o| *o <= s && *s < **o + delay).count())
        .max()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_max_in_flight_requests_reach_the_register() {
    let observed = max_in_flight_observed(4).await;
    eprintln!("max in flight observed with cap 4: {observed}");
    assert!(observed <= 4, "observed {observed} in flight");
    assert!(
        observed >= 2,
        "the cap should still allow parallel requests ({observed})"
    );
    let observed = max_in_flight_observed(2).await;
    assert!(observed <= 2, "observed {observed} in flight");
}

#[test]
fn invalid_configuration_is_rejected() {
    let bad = |cfg: BrregConfig| matches!(BrregClient::new(cfg), Err(BrregError::Config(_)));
    assert!(bad(BrregConfig {
        max_in_flight: 0,
        ..BrregConfig::default()
    }));
    assert!(bad(BrregConfig {
        max_attempts: 0,
        ..BrregConfig::default()
    }));
    assert!(bad(BrregConfig {
        base_url: "ikke en adresse".into(),
        ..BrregConfig::default()
    }));
    assert!(bad(BrregConfig {
        user_agent: "spotcheck\n".into(),
        ..BrregConfig::default()
    }));
    let ok = BrregClient::new(BrregConfig::default()).unwrap();
    assert_eq!(ok.config().base_url, "https://data.brreg.no/enhetsregisteret/api");
    assert_eq!(
        BrregConfig::user_agent_with_contact("it@kommune.no"),
        format!("spotcheck/{} (+it@kommune.no)", env!("CARGO_PKG_VERSION"))
    );
}
