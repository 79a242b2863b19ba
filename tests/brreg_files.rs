//! File loaders: the register's bulk downloads (JSON gzip, CSV) and the approval
//! registers (Renholdsregisteret XML in both schema versions, simple CSV).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Write};

use chrono::NaiveDate;
use common::dates::date;
use spotcheck::brreg::approvals::{self, Register, StatusClass};
use spotcheck::brreg::bulk::{self, BulkError};
use spotcheck::brreg::facts::parse_unit_json;
use spotcheck::brreg::{Employees, UnitFacts};

macro_rules! path {
    ($dir:literal, $name:literal) => {
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/", $dir, "/", $name)
    };
}

fn collect_json(only: Option<&HashSet<String>>) -> (bulk::BulkStats, Vec<UnitFacts>) {
    let f = File::open(path!("brreg", "enheter_lastned_lite.json.gz")).unwrap();
    let mut units = Vec::new();
    let stats = bulk::read_json_gz(f, only, &mut |u| {
        units.push(u);
        Ok::<(), String>(())
    })
    .unwrap();
    (stats, units)
}

fn by_orgnr<'a>(units: &'a [UnitFacts], orgnr: &str) -> &'a UnitFacts {
    units.iter().find(|u| u.orgnr == orgnr).unwrap()
}

#[test]
fn bulk_json_gz_streams_every_unit_and_rejects_bad_ones() {
    let (stats, units) = collect_json(None);
    assert_eq!(stats.read, 8);
    assert_eq!(stats.delivered, 6);
    assert_eq!(stats.rejected, 2);
    assert_eq!(stats.skipped, 0);
    assert!(stats.not_found.is_empty());
    assert_eq!(stats.rejects[0].position, 4);
    assert_eq!(stats.rejects[0].orgnr.as_deref(), Some("123456789"));
    assert!(
        stats.rejects[0].message.contains("kontrollsiffer"),
        "{}",
        stats.rejects[0].message
    );
    assert_eq!(stats.rejects[1].position, 8);
    assert_eq!(stats.rejects[1].message, "enheten mangler organisasjonsnummer");

    let digdir = by_orgnr(&units, "991825827");
    assert!(!digdir.is_subunit);
    assert_eq!(digdir.employees, Employees::Known(433));
    // Sub-units in a bulk file are recognised from their organisation form.
    let sub = by_orgnr(&units, "310000078");
    assert!(sub.is_subunit);
    assert_eq!(sub.parent_orgnr.as_deref(), Some("310000043"));
    assert_eq!(by_orgnr(&units, "310000019").employees, Employees::Hidden1To4);
    assert!(by_orgnr(&units, "310000043").bankrupt);
}

#[test]
fn bulk_json_gz_filters_to_the_requested_org_numbers() {
    let only: HashSet<String> = ["310000019", "310000078", "974760673"]
        .into_iter()
        .map(String::from)
        .collect();
    let (stats, units) = collect_json(Some(&only));
    let mut got: Vec<&str> = units.iter().map(|u| u.orgnr.as_str()).collect();
    got.sort();
    assert_eq!(got, vec!["310000019", "310000078"]);
    assert_eq!(stats.delivered, 2);
    assert_eq!(stats.not_found, vec!["974760673"]);
    // The unit without org number cannot be matched and is still reported.
    assert_eq!(stats.rejected, 1);
    assert_eq!(stats.skipped, 5);
}

#[test]
fn bulk_callback_error_stops_the_read() {
    let f = File::open(path!("brreg", "enheter_lastned_lite.json.gz")).unwrap();
    let mut n = 0;
    let err = bulk::read_json_gz(f, None, &mut |_u| {
        n += 1;
        if n == 2 { Err("disken er full") } else { Ok(()) }
    })
    .unwrap_err();
    match err {
        BulkError::Callback { orgnr, error } => {
            assert_eq!(orgnr, "310000019");
            assert_eq!(error, "disken er full");
        }
        other => panic!("expected Callback, got {other:?}"),
    }
    assert_eq!(n, 2);
}

#[test]
fn bulk_json_plain_and_broken() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("enheter.json");
    std::fs::write(
        &plain,
        format!(
            "[{}, {}]",
            std::fs::read_to_string(path!("brreg", "enhet_slettet_821227062.json")).unwrap(),
            r#"{"organisasjonsnummer": 923609016, "navn": "TALL SOM TEKST AS",
                "organisasjonsform": "AS", "antallAnsatte": "7",
                "harRegistrertAntallAnsatte": "true", "konkurs": "false",
                "sisteInnsendteAarsregnskap": 2023, "postadresse": {"adresse": "Eneste linje"}}"#
        ),
    )
    .unwrap();
    let mut units = Vec::new();
    let stats = bulk::read_json_gz(File::open(&plain).unwrap(), None, &mut |u| {
        units.push(u);
        Ok::<(), String>(())
    })
    .unwrap();
    assert_eq!(stats.delivered, 2);
    assert_eq!(units[0].deleted_date, Some(date("2024-11-26")));
    // Lenient scalars: numbers as strings and the other way round.
    let odd = &units[1];
    assert_eq!(odd.orgnr, "923609016");
    assert_eq!(odd.org_form.as_deref(), Some("AS"));
    assert_eq!(odd.employees, Employees::Known(7));
    assert_eq!(odd.last_accounts_year, Some(2023));
    assert!(odd.status_flags_reported && !odd.bankrupt);
    assert_eq!(odd.postal_address.as_ref().unwrap().lines, vec!["Eneste linje"]);

    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, r#"[{"organisasjonsnummer": "991825827", "navn": "#).unwrap();
    let err =
        bulk::read_json_gz(File::open(&broken).unwrap(), None, &mut |_| Ok::<(), String>(())).unwrap_err();
    assert!(matches!(err, BulkError::Json(_)), "{err:?}");
    assert!(err.to_string().starts_with("filen er ikke gyldig JSON"));

    let not_array = dir.path().join("object.json");
    std::fs::write(&not_array, r#"{"organisasjonsnummer": "991825827"}"#).unwrap();
    let err = bulk::read_json_gz(File::open(&not_array).unwrap(), None, &mut |_| {
        Ok::<(), String>(())
    })
    .unwrap_err();
    assert!(matches!(err, BulkError::Json(_)), "{err:?}");
}

fn collect_csv<R: std::io::Read>(r: R, only: Option<&HashSet<String>>) -> (bulk::BulkStats, Vec<UnitFacts>) {
    let mut units = Vec::new();
    let stats = bulk::read_csv(r, only, &mut |u| {
        units.push(u);
        Ok::<(), String>(())
    })
    .unwrap();
    (stats, units)
}

#[test]
fn bulk_csv_maps_the_same_facts() {
    let (stats, units) = collect_csv(
        File::open(path!("brreg", "enheter_lastned_lite.csv")).unwrap(),
        None,
    );
    assert_eq!(stats.read, 6);
    assert_eq!(stats.delivered, 5);
    assert_eq!(stats.rejected, 1);
    assert_eq!(stats.rejects[0].orgnr.as_deref(), Some("123456789"));
    assert_eq!(stats.rejects[0].position, 7); // header + 4 rows, one of them two lines long

    let hidden = by_orgnr(&units, "310000019");
    assert_eq!(hidden.employees, Employees::Hidden1To4);
    assert_eq!(hidden.industry_codes, vec!["81.210", "81.220"]);
    assert_eq!(hidden.registered_date, Some(date("2024-03-01"))); // registreringsdatoenhetsregisteret
    assert_eq!(hidden.vat_registered, Some(true)); // registrertIMvaRegisteret
    assert_eq!(
        hidden.business_address.as_ref().unwrap().lines,
        vec!["Storgata 1"]
    );
    assert_eq!(hidden.sector_code.as_deref(), Some("2100"));
    assert_eq!(by_orgnr(&units, "310000035").employees, Employees::Known(0));
    let bankrupt = by_orgnr(&units, "310000043");
    assert!(bankrupt.bankrupt && bankrupt.under_liquidation);
    assert_eq!(bankrupt.bankruptcy_date, Some(date("2025-09-01")));
    let nuf = by_orgnr(&units, "310000051");
    assert_eq!(
        nuf.forced_dissolution_reasons,
        vec!["manglende_daglig_leder", "manglende_revisor"]
    );
    assert_eq!(nuf.home_country_registration.as_deref(), Some("LT-304512345"));
    let digdir = by_orgnr(&units, "991825827");
    assert_eq!(
        digdir.postal_address.as_ref().unwrap().postal_code.as_deref(),
        Some("0114")
    );
    assert_eq!(digdir.business_address, None);

    // The same facts as the JSON body for a field set both carry.
    let json = parse_unit_json(
        &std::fs::read_to_string(path!("brreg", "enhet_tvangsopplost_310000051.json")).unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(json.forced_dissolution_reasons, nuf.forced_dissolution_reasons);
    assert_eq!(json.forced_dissolution_date, nuf.forced_dissolution_date);
    assert_eq!(json.employees, nuf.employees);
}

#[test]
fn bulk_csv_gzip_and_filter() {
    let raw = std::fs::read(path!("brreg", "enheter_lastned_lite.csv")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    let gz = gz.finish().unwrap();
    let only: HashSet<String> = ["310000043".to_owned(), "988077917".to_owned()].into();
    let (stats, units) = collect_csv(std::io::Cursor::new(gz), Some(&only));
    assert_eq!(units.len(), 1);
    assert_eq!(units[0].orgnr, "310000043");
    assert_eq!(stats.not_found, vec!["988077917"]);
}

#[test]
fn bulk_csv_without_orgnr_column_is_refused() {
    let err = bulk::read_csv("navn,konkurs\nX,false\n".as_bytes(), None, &mut |_| {
        Ok::<(), String>(())
    })
    .unwrap_err();
    assert!(err.to_string().contains("organisasjonsnummer"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Approval registers
// ---------------------------------------------------------------------------------------

fn open(p: &str) -> BufReader<File> {
    BufReader::new(File::open(p).unwrap())
}

#[test]
fn renhold_xml_old_schema() {
    let f = approvals::read_renhold_xml(open(path!("approvals", "renhold_v1.xml"))).unwrap();
    assert_eq!(f.register, Register::Renhold);
    assert_eq!(f.format, "renhold-xml-v1");
    assert_eq!(f.file_date, None);
    let orgnrs: Vec<&str> = f.entries.iter().map(|e| e.orgnr.as_str()).collect();
    assert_eq!(orgnrs, vec!["310000019", "310000027", "310000035", "310000043"]);

    let first = &f.entries[0];
    assert_eq!(first.status, "Godkjent med ansatte");
    assert_eq!(first.name.as_deref(), Some("SKJULT RENHOLD AS"));
    assert_eq!(first.subunits, vec!["924203617", "310000078"]);
    assert_eq!(first.line, 3);
    assert_eq!(first.status_date, None);
    assert_eq!(first.status_class(), StatusClass::Approved);
    assert_eq!(f.entries[1].name.as_deref(), Some("OLA NORDMANN RENHOLD & VASK"));
    assert_eq!(f.entries[2].status_class(), StatusClass::Pending);
    assert_eq!(f.entries[3].status, "Ikke godkjent");
    assert_eq!(f.entries[3].status_class(), StatusClass::NotApproved);

    assert_eq!(f.rejected.len(), 2, "{:?}", f.rejected);
    assert_eq!(f.rejected[0].line, 38);
    assert!(
        f.rejected[0].message.contains("988077918"),
        "{}",
        f.rejected[0].message
    );
    assert!(f.rejected[0].message.contains("kontrollsiffer"));
    assert_eq!(f.rejected[1].line, 48);
    assert_eq!(f.rejected[1].message, "310000051: status mangler");
}

#[test]
fn renhold_xml_new_schema() {
    let f = approvals::read_renhold_xml(open(path!("approvals", "renhold_v2.xml"))).unwrap();
    assert_eq!(f.format, "renhold-xml-v2");
    assert_eq!(f.file_date, Some(date("2025-11-28")));
    let orgnrs: Vec<&str> = f.entries.iter().map(|e| e.orgnr.as_str()).collect();
    assert_eq!(orgnrs, vec!["310000019", "310000035", "310000043"]);
    let first = &f.entries[0];
    assert_eq!(first.status, "Godkjent med ansatte");
    assert_eq!(first.status_date, Some(date("2024-05-02")));
    assert_eq!(first.subunits, vec!["924203617"]);
    // The organisation form, industry codes, contact and address children are not mixed in.
    assert_eq!(first.name.as_deref(), Some("SKJULT RENHOLD AS"));
    let pending = &f.entries[1];
    assert_eq!(pending.name.as_deref(), Some("NULL ANSATTE AS")); // CDATA
    assert_eq!(pending.status, "HMS-kortbestilling under behandling");
    assert_eq!(pending.status_class(), StatusClass::Pending);
    assert_eq!(pending.status_date, Some(date("2025-10-01")));
    assert_eq!(f.rejected.len(), 1, "{:?}", f.rejected);
    assert!(
        f.rejected[0].message.contains("ugyldig dato"),
        "{}",
        f.rejected[0].message
    );
    assert_eq!(f.rejected[0].line, 58);
}

#[test]
fn renhold_xml_broken_or_unknown() {
    let err = approvals::read_renhold_xml(
        "<ArrayOfRenholdsvirksomhet><Renholdsvirksomhet>\n<Status>x</Feil>".as_bytes(),
    )
    .unwrap_err();
    assert!(
        matches!(err, approvals::ApprovalError::Xml { line: 2, .. }),
        "{err:?}"
    );
    let err = approvals::read_renhold_xml("<Noe><Annet/></Noe>".as_bytes()).unwrap_err();
    assert!(
        matches!(err, approvals::ApprovalError::UnknownXmlFormat),
        "{err:?}"
    );
    let err = approvals::read_renhold_xml("".as_bytes()).unwrap_err();
    assert!(matches!(err, approvals::ApprovalError::Empty), "{err:?}");
}

#[test]
fn approvals_csv_with_header() {
    let f = approvals::read_csv(
        Register::Bilpleie,
        File::open(path!("approvals", "bilpleie_med_overskrift.csv")).unwrap(),
    )
    .unwrap();
    assert_eq!(f.register, Register::Bilpleie);
    assert_eq!(f.format, "csv");
    type Row<'a> = (&'a str, &'a str, Option<NaiveDate>, Option<&'a str>, u64);
    let got: Vec<Row> = f
        .entries
        .iter()
        .map(|e| {
            (
                e.orgnr.as_str(),
                e.status.as_str(),
                e.status_date,
                e.name.as_deref(),
                e.line,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "310000019",
                "Godkjent",
                Some(date("2024-05-02")),
                Some("SKJULT RENHOLD AS"),
                2
            ),
            (
                "923609016",
                "Søknad under behandling",
                Some(date("2025-10-01")),
                None,
                3
            ),
            ("974760673", "Godkjent", None, None, 9),
        ]
    );
    let rejected: Vec<(u64, &str)> = f.rejected.iter().map(|r| (r.line, r.message.as_str())).collect();
    assert_eq!(rejected.len(), 4, "{rejected:?}");
    assert_eq!(rejected[0].0, 5);
    assert!(rejected[0].1.contains("kontrollsiffer"));
    assert_eq!(rejected[1], (6, "310000035: status mangler"));
    assert_eq!(rejected[2].0, 7);
    assert!(rejected[2].1.contains("ugyldig dato «2024-13-45»"));
    assert_eq!(
        rejected[3],
        (8, "310000019: organisasjonsnummeret står allerede på linje 2")
    );
}

#[test]
fn approvals_csv_without_header_and_in_windows_1252() {
    let f = approvals::read_csv(
        Register::Bemanning,
        File::open(path!("approvals", "bemanning_uten_overskrift.csv")).unwrap(),
    )
    .unwrap();
    assert!(f.rejected.is_empty(), "{:?}", f.rejected);
    assert_eq!(f.entries.len(), 3);
    assert_eq!(f.entries[0].orgnr, "310000019");
    assert_eq!(f.entries[0].line, 1);
    assert_eq!(f.entries[1].status_class(), StatusClass::NotApproved);
    assert_eq!(f.entries[2].status, "Under behandling");
    assert_eq!(f.entries[2].status_date, None);

    let f = approvals::read_csv(
        Register::Renhold,
        File::open(path!("approvals", "renhold_cp1252.csv")).unwrap(),
    )
    .unwrap();
    assert_eq!(f.entries.len(), 1);
    assert_eq!(f.entries[0].status, "Søknad under behandling");

    let err = approvals::read_csv(Register::Renhold, "orgnr;navn\n310000019;X\n".as_bytes()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "fant ikke kolonnen for status i overskriftsraden"
    );
    let err = approvals::read_csv(Register::Renhold, "\n \n".as_bytes()).unwrap_err();
    assert!(matches!(err, approvals::ApprovalError::Empty));
}

#[test]
fn status_words_are_kept_and_classified() {
    for (text, class) in [
        ("Godkjent", StatusClass::Approved),
        ("Godkjent uten ansatte", StatusClass::Approved),
        ("lovlig – godkjent", StatusClass::Approved),
        ("Ikke godkjent", StatusClass::NotApproved),
        ("Søknad til behandling", StatusClass::Pending),
        ("Under behandling", StatusClass::Pending),
        ("Avslått", StatusClass::NotApproved),
        ("Ukjent ord", StatusClass::Other),
    ] {
        assert_eq!(StatusClass::of(text), class, "{text}");
    }
}

#[test]
fn garbage_input_is_an_error_never_a_panic() {
    let inputs: [&[u8]; 7] = [
        b"",
        b"\x1f\x8b\x08\x00garbage",
        b"[1, 2, 3]",
        b"[{\"organisasjonsnummer\": {\"x\": [1, 2]}, \"navn\": [null]}]",
        b"\xff\xfe\x00<",
        b"<a><b></a>",
        b"\"organisasjonsnummer\"\n\"\n",
    ];
    for input in inputs {
        let _ = bulk::read_json_gz(input, None, &mut |_| Ok::<(), String>(()));
        let _ = bulk::read_csv(input, None, &mut |_| Ok::<(), String>(()));
        let _ = approvals::read_renhold_xml(input);
        let _ = approvals::read_csv(Register::Renhold, input);
    }
}
