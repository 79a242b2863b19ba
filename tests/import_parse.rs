//! Fixture-driven tests of the spreadsheet import (fixtures/import/README.md lists them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use proptest::prelude::*;
use spotcheck::import::*;

macro_rules! fixture {
    ($name:literal) => {
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/import/", $name)
    };
}

fn read(path: &str) -> Result<ParsedRegister, ImportError> {
    read_with(path, &ImportOptions::default())
}

fn read_with(path: &str, opts: &ImportOptions) -> Result<ParsedRegister, ImportError> {
    read_register_path(std::path::Path::new(path), opts, &mut |_| {})
}

fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, day)
}

fn row<'a>(r: &'a ParsedRegister, id: &str) -> &'a ContractRow {
    r.rows
        .iter()
        .find(|c| c.contract_id == id)
        .unwrap_or_else(|| panic!("no row {id}"))
}

/// Each error's (row, column, value) must match and its message start with the expected text.
fn assert_errors(r: &ParsedRegister, want: &[(u32, &str, &str, &str)]) {
    let got: Vec<(u32, &str, &str)> = r
        .errors
        .iter()
        .map(|e| (e.row, e.column.as_str(), e.value.as_str()))
        .collect();
    let exp: Vec<(u32, &str, &str)> = want.iter().map(|w| (w.0, w.1, w.2)).collect();
    assert_eq!(got, exp);
    for (e, w) in r.errors.iter().zip(want) {
        assert!(
            e.message.starts_with(w.3),
            "row {}: {:?} should start with {:?}",
            e.row,
            e.message,
            w.3
        );
    }
}

const NB_ERRORS: &[(u32, &str, &str, &str)] = &[
    (15, "Org.nr", "988077918", "organisasjonsnummeret har feil "),
    (16, "Org.nr", "12345678", "organisasjonsnummeret må ha 9 s"),
    (17, "Leverandør", "", "leverandørnavnet mangler; fyll "),
    (
        18,
        "Kontraktsverdi",
        "ca. 2 mill",
        "dette er ikke et beløp; skriv ",
    ),
    (
        19,
        "Kontraktsverdi",
        "se vedlegg",
        "dette er ikke et beløp; skriv ",
    ),
    (19, "Startdato", "løpende", "dette er ikke en dato; skriv da"),
    (20, "Kontraktsverdi", "-5000", "beløpet er negativt; kontrakts"),
    (
        21,
        "Kontraktsverdi",
        "etter medgått tid",
        "dette er ikke et beløp; skriv ",
    ),
    (22, "Kontraktsverdi", "1,234", "beløpet er tvetydig: komma er "),
    (23, "Startdato", "31.02.2024", "datoen «31.02.2024» finnes ikke"),
    (24, "Startdato", "2024-13-01", "datoen «2024-13-01» finnes ikke"),
    (25, "Sluttdato", "2024-01-01", "sluttdatoen 01.01.2024 er før s"),
    (26, "Avtalenr", "A-001", "avtalenummeret finnes allerede "),
    (27, "Avtalenr", "", "avtalenummeret mangler; fyll in"),
];

/// What every producer of the Norwegian register must give us.
fn check_register_nb(r: &ParsedRegister) {
    assert_eq!(r.sheet, "Kontrakter", "notes sheet is skipped");
    assert_eq!(r.header_row, 4, "title rows above the header");
    assert_eq!(r.headers.len(), 15);
    assert_eq!(r.headers[12], "Leverandørnr");
    assert_eq!(
        r.rows_total, 21,
        "blank, whitespace-only and Sum rows are not data"
    );
    assert_eq!(r.rows_rejected, 13);
    assert_eq!(r.rows.len() as u64 + r.rows_rejected, r.rows_total);
    assert_errors(r, NB_ERRORS);
    assert!(r.errors.iter().all(|e| e.sheet == "Kontrakter"));
    let rows: Vec<u32> = r.rows.iter().map(|c| c.row).collect();
    assert_eq!(rows, [5, 6, 7, 8, 11, 12, 13, 14]);

    let m = &r.mapping;
    assert_eq!(m.get(Field::SupplierName), Some("Leverandør"));
    assert_eq!(m.get(Field::Category), Some("Bransje"));
    assert_eq!(m.get(Field::SubcontractorLevels), Some("Antall ledd"));
    assert_eq!(m.len(), 12);

    let a1 = row(r, "A-001");
    assert_eq!(a1.row, 5);
    assert_eq!(a1.title.as_deref(), Some("Renhold skoler"));
    assert_eq!(a1.supplier_name, "Rent & Pent AS");
    assert_eq!(a1.orgnr.as_str(), "923609016");
    assert_eq!(a1.orgnr_raw, "923 609 016");
    assert_eq!(a1.category.as_deref(), Some("Renhold"));
    assert_eq!(a1.cpv.as_deref(), Some("90910000"));
    assert_eq!(a1.value_ore, Some(123_456_750));
    assert_eq!((a1.start_date, a1.end_date), (d(2024, 1, 1), d(2026, 12, 31)));
    assert_eq!(a1.unit.as_deref(), Some("Skoleetaten"));
    assert_eq!(a1.contract_manager.as_deref(), Some("Kari Nordmann"));
    assert_eq!(a1.subcontractor_levels, Some(2));
    assert_eq!(
        a1.extras,
        [
            ("Leverandørnr".to_string(), "L-100".to_string()),
            ("Verdi inkl. mva".into(), "1543209.38".into()),
            ("Kommentar".into(), "Rammeavtale".into()),
        ]
    );

    let a2 = row(r, "A-002");
    assert_eq!(a2.orgnr.as_str(), "974760673", "number cell");
    assert_eq!(a2.value_ore, Some(123_456_750), "1 234 567,50");
    assert_eq!((a2.start_date, a2.end_date), (d(2024, 2, 1), d(2025, 1, 31)));
    assert!(a2.extras.is_empty());

    let a3 = row(r, "A-003");
    assert_eq!(a3.supplier_name, "<script>alert(1)</script>");
    assert_eq!(a3.orgnr_raw, "NO923609016MVA");
    assert_eq!(a3.value_ore, Some(25_000_000));
    assert_eq!(a3.start_date, d(2024, 3, 1), "date cell with time of day");

    let a4 = row(r, "A-004");
    assert_eq!(a4.supplier_name, "=2+5 AS");
    assert_eq!(a4.orgnr.as_str(), "923609016");
    assert_eq!(a4.value_ore, Some(25_000_000), "250000,-");
    assert_eq!((a4.start_date, a4.end_date), (d(2024, 3, 1), None), "løpende end");

    let n = row(r, "1001");
    assert_eq!(n.row, 11, "integral number id without .0");
    assert_eq!(n.orgnr_raw, "923609016.0");
    assert_eq!(n.value_ore, Some(123_456_700), "1.234.567");
    assert_eq!(n.start_date, d(2024, 1, 1), "serial in a number cell");
    assert_eq!(n.subcontractor_levels, Some(1));

    assert_eq!(row(r, "A-005").value_ore, Some(123_456_750), "U+00A0 groups");
    assert_eq!(row(r, "A-005").start_date, d(2024, 4, 1), "d.m.yyyy");
    assert_eq!(row(r, "A-006").value_ore, Some(250_000_000), "U+202F groups");
    assert_eq!(row(r, "A-007").value_ore, Some(300_000), "formula cached value");
}

#[test]
fn register_nb_xlsx() {
    let r = read(fixture!("register_nb.xlsx")).unwrap();
    assert_eq!(r.format, FileFormat::Xlsx);
    check_register_nb(&r);
    assert_eq!(
        row(&r, "A-002").unit.as_deref(),
        Some("Skoleetaten"),
        "merged cell"
    );
    assert_eq!(row(&r, "A-007").supplier_name, "Formel AS", "string formula");
}

#[test]
fn register_nb_ods_from_libreoffice() {
    let r = read(fixture!("register_nb.ods")).unwrap();
    assert_eq!(r.format, FileFormat::Ods);
    check_register_nb(&r);
    assert_eq!(row(&r, "A-007").supplier_name, "Formel AS");
    // calamine does not report merged regions for ods: the merged unit stays in row 5.
    assert_eq!(row(&r, "A-002").unit, None);
}

#[test]
fn register_nb_xls_from_libreoffice() {
    let r = read(fixture!("register_nb.xls")).unwrap();
    assert_eq!(r.format, FileFormat::Xls);
    check_register_nb(&r);
    assert_eq!(
        row(&r, "A-002").unit.as_deref(),
        Some("Skoleetaten"),
        "merged cell"
    );
}

#[test]
fn register_nb_from_uploaded_bytes_and_sheet_option() {
    let bytes = std::fs::read(fixture!("register_nb.xlsx")).unwrap();
    let opts = ImportOptions {
        sheet: Some("kontrakter".into()),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let r = read_register("upload.bin", &bytes, &opts, &mut |n| seen.push(n)).unwrap();
    check_register_nb(&r);
    assert_eq!(seen.last(), Some(&21));

    let opts = ImportOptions {
        sheet: Some("Notater".into()),
        ..Default::default()
    };
    match read_register("r.xlsx", &bytes, &opts, &mut |_| {}) {
        Err(ImportError::NoTable { sheet, .. }) => assert_eq!(sheet.as_deref(), Some("Notater")),
        other => panic!("{other:?}"),
    }
    let opts = ImportOptions {
        sheet: Some("Finnes ikke".into()),
        ..Default::default()
    };
    let err = read_register("r.xlsx", &bytes, &opts, &mut |_| {}).unwrap_err();
    assert_eq!(
        err,
        ImportError::SheetNotFound {
            name: "Finnes ikke".into(),
            available: vec!["Notater".into(), "Kontrakter".into()]
        }
    );
    assert!(err.to_string().contains("«Notater», «Kontrakter»"));
}

#[test]
fn register_en_xlsx() {
    let r = read(fixture!("register_en.xlsx")).unwrap();
    assert_eq!((r.sheet.as_str(), r.header_row), ("Contracts", 1));
    assert_eq!((r.rows_total, r.rows_rejected), (4, 1));
    assert_eq!(r.mapping.len(), 12);
    let e2 = row(&r, "E-2");
    assert_eq!(e2.value_ore, Some(205_000_000));
    assert_eq!(e2.orgnr.as_str(), "974760673");
    assert_eq!((e2.start_date, e2.end_date), (d(2023, 5, 1), d(2026, 4, 30)));
    assert_eq!(e2.extras, [("Notes".to_string(), "Renewed once".to_string())]);
    assert_eq!(row(&r, "E-3").value_ore, Some(9_999));
    assert_eq!(row(&r, "E-3").start_date, d(2024, 2, 29));
    assert_errors(
        &r,
        &[(5, "Start date", "2024-02-30", "datoen «2024-02-30» finnes ikke")],
    );
}

#[test]
fn xlsm_name_is_a_hint_only() {
    let bytes = std::fs::read(fixture!("register_en.xlsx")).unwrap();
    let r = read_register("register.xlsm", &bytes, &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(r.format, FileFormat::Xlsm);
    let r = read_register("register.csv", &bytes, &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(r.format, FileFormat::Xlsx);
}

#[test]
fn register_xlsb_from_pyxlsbwriter() {
    let r = read(fixture!("register.xlsb")).unwrap();
    assert_eq!(r.format, FileFormat::Xlsb);
    assert_eq!((r.sheet.as_str(), r.header_row), ("Kontrakter", 3));
    assert_eq!((r.rows_total, r.rows_rejected), (3, 1));
    let b1 = row(&r, "B-1");
    assert_eq!(b1.value_ore, Some(123_456_750));
    assert_eq!((b1.start_date, b1.end_date), (d(2024, 1, 1), d(2025, 12, 31)));
    assert_eq!(row(&r, "B-2").orgnr_raw, "974 760 673");
    assert_errors(
        &r,
        &[
            (6, "Org.nr", "988077918", "organisasjonsnummeret har feil "),
            (
                6,
                "Kontraktsverdi",
                "ca. 2 mill",
                "dette er ikke et beløp; skriv ",
            ),
        ],
    );
}

#[test]
fn csv_utf8_semicolon_multiline_blank_and_sum() {
    let r = read(fixture!("register_utf8.csv")).unwrap();
    assert_eq!(r.format, FileFormat::Csv);
    assert_eq!((r.sheet.as_str(), r.header_row), ("register_utf8", 3));
    assert_eq!((r.rows_total, r.rows_rejected), (5, 2));
    let k1 = row(&r, "K-1");
    assert_eq!(k1.row, 4);
    assert_eq!(k1.title.as_deref(), Some("Renhold\nmed flere linjer"));
    assert_eq!(k1.extras, [("Merknad".to_string(), "Første".to_string())]);
    assert_eq!(row(&r, "K-2").row, 5);
    let k3 = row(&r, "K-3");
    assert_eq!(k3.row, 7, "the blank line is row 6");
    assert_eq!(k3.start_date, d(2024, 1, 1), "5-digit serial text");
    assert_eq!(k3.end_date, None);
    assert_errors(
        &r,
        &[
            (8, "Org.nr", "988077918", "organisasjonsnummeret har feil "),
            (
                8,
                "Kontraktsverdi",
                "ca. 2 mill",
                "dette er ikke et beløp; skriv ",
            ),
            (8, "Startdato", "31.02.2024", "datoen «31.02.2024» finnes ikke"),
            (9, "Avtalenr", "K-2", "avtalenummeret finnes allerede "),
        ],
    );
    assert!(r.errors[3].message.contains("rad 5"));
}

#[test]
fn csv_utf8_bom_comma_crlf() {
    let r = read(fixture!("register_utf8_bom.csv")).unwrap();
    assert_eq!(r.headers[0], "Contract no", "BOM removed");
    assert_eq!((r.rows_total, r.rows_rejected), (2, 0));
    assert_eq!(row(&r, "C-1").value_ore, Some(123_456_750));
    assert_eq!(row(&r, "C-2").supplier_name, "Komma, Punktum og Co AS");
    assert_eq!(row(&r, "C-2").row, 3);
}

#[test]
fn csv_windows_1252_semicolon() {
    let r = read(fixture!("register_cp1252.csv")).unwrap();
    assert_eq!(r.headers[1], "Leverandør");
    assert_eq!(r.mapping.get(Field::Category), Some("Område"));
    assert_eq!((r.rows_total, r.rows_rejected), (2, 0));
    assert_eq!(row(&r, "W-1").supplier_name, "Rørlegger Åse AS");
    assert_eq!(row(&r, "W-1").value_ore, Some(1_250_000));
    assert_eq!(row(&r, "W-2").supplier_name, "Blåbær Renhold AS");
    assert_eq!(row(&r, "W-2").value_ore, Some(100_000), "U+00A0 in cp1252");
}

#[test]
fn csv_tab_separated() {
    let r = read(fixture!("register_tab.tsv")).unwrap();
    assert_eq!((r.rows_total, r.rows_rejected), (2, 0));
    let t1 = row(&r, "T-1");
    assert_eq!(t1.supplier_name, "Tab, Komma og Semikolon; AS");
    assert_eq!(t1.value_ore, Some(123_450));
    assert_eq!((t1.start_date, t1.end_date), (d(2024, 1, 1), d(2024, 12, 31)));
    assert_eq!(row(&r, "T-2").value_ore, None);
}

#[test]
fn mapping_when_detection_fails() {
    let err = read(fixture!("mapping_needed.xlsx")).unwrap_err();
    match &err {
        ImportError::NoTable { missing, headers, .. } => {
            // "Firma" and "Org nummer" are known names; "Nr" is too vague to be one.
            assert_eq!(missing, &[Field::ContractId]);
            assert_eq!(headers, &["Nr", "Firma", "Org nummer", "Beløp", "Fra og med"]);
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("avtalenummer (Avtalenr)"), "{msg}");
    assert!(msg.contains("«Org nummer»"), "{msg}");

    let opts = ImportOptions {
        mapping: Some(
            ColumnMapping::parse_spec("contract_id=Nr;supplier_name=Firma;orgnr=Org nummer").unwrap(),
        ),
        ..Default::default()
    };
    let r = read_with(fixture!("mapping_needed.xlsx"), &opts).unwrap();
    assert_eq!(r.rows.len(), 1);
    let m1 = row(&r, "M-1");
    assert_eq!(m1.supplier_name, "Kartlagt AS");
    assert_eq!(m1.value_ore, Some(500_000), "Beløp still detected");
    assert_eq!(m1.extras, [("Fra og med".to_string(), "01.01.2024".to_string())]);
    assert_eq!(r.mapping.get(Field::Value), Some("Beløp"));

    // A mapping naming a header that is not there: the error says what is missing and
    // which headers were seen.
    let opts = ImportOptions {
        mapping: Some(ColumnMapping::parse_spec("contract_id=Nummer").unwrap()),
        ..Default::default()
    };
    match read_with(fixture!("mapping_needed.xlsx"), &opts).unwrap_err() {
        ImportError::NoTable { missing, headers, .. } => {
            assert_eq!(missing, [Field::ContractId]);
            assert_eq!(headers[0], "Nr");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn notes_only_has_no_table() {
    match read(fixture!("notes_only.xlsx")).unwrap_err() {
        ImportError::NoTable {
            sheet,
            row,
            missing,
            headers,
        } => {
            assert_eq!((sheet.as_deref(), row), (Some("Notater"), Some(2)));
            assert_eq!(missing, [Field::ContractId]);
            assert_eq!(headers, ["Leverandør", "Org.nr"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn dimension_bombs_are_harmless() {
    for f in [
        fixture!("dimension_far_cell.xlsx"),
        fixture!("dimension_declared.xlsx"),
    ] {
        let r = read(f).unwrap();
        assert_eq!(r.header_row, 1);
        assert!(r.rows_total >= 2, "{f}");
    }
    let r = read(fixture!("dimension_declared.xlsx")).unwrap();
    assert_eq!((r.rows_total, r.rows_rejected), (3, 1));
    assert_eq!(
        row(&r, "H-1").value_ore,
        None,
        "formula without cached value is empty"
    );
    assert_eq!(
        row(&r, "H-3").value_ore,
        Some(4_200),
        "cells without r attributes"
    );
    assert_eq!(row(&r, "H-3").row, 4);
    assert_errors(&r, &[(3, "Leverandør", "", "leverandørnavnet mangler; fyll ")]);
}

/// xls and ods are loaded whole by calamine, one dense grid per sheet: a stray value far out
/// is refused from the file's structure, before calamine allocates anything.
#[test]
fn far_cells_in_xls_and_ods_are_refused_before_loading() {
    let err = read(fixture!("dimension_far_cell.xls")).unwrap_err();
    assert!(
        matches!(
            &err,
            ImportError::SheetTooLarge { format: FileFormat::Xls, sheet, rows: 65_536, cols: 256, range, .. }
                if sheet == "Sheet1" && range == "A1:IV65536"
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "Arket «Sheet1» strekker seg over 65 536 rader × 256 kolonner (A1:IV65536). Et xls-ark leses \
         inn i minnet i sin helhet, og denne filen ville kreve om lag 1024 MB (grensen er 256 MB). \
         Slett innholdet i cellene langt utenfor tabellen (Ctrl+End viser den siste cellen som er i \
         bruk), eller lagre filen som .xlsx, og last den opp på nytt."
    );

    let err = read(fixture!("dimension_far_cell.ods")).unwrap_err();
    assert!(
        matches!(
            &err,
            ImportError::SheetTooLarge { format: FileFormat::Ods, sheet, rows: 1_048_576, cols: 16, range, .. }
                if sheet == "Sheet1" && range == "A1:P1048576"
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "Arket «Sheet1» strekker seg over 1 048 576 rader × 16 kolonner (A1:P1048576). Et ods-ark leses \
         inn i minnet i sin helhet, og denne filen ville kreve om lag 1024 MB (grensen er 256 MB). \
         Slett innholdet i cellene langt utenfor tabellen (Ctrl+End viser den siste cellen som er i \
         bruk), eller lagre filen som .xlsx, og last den opp på nytt."
    );

    // The same files from uploaded bytes take the same path.
    let bytes = std::fs::read(fixture!("dimension_far_cell.ods")).unwrap();
    let err = read_register("liste.ods", &bytes, &ImportOptions::default(), &mut |_| {}).unwrap_err();
    assert!(matches!(
        err,
        ImportError::SheetTooLarge {
            format: FileFormat::Ods,
            ..
        }
    ));
}

/// The xls DIMENSIONS record (declared extent) only makes calamine reserve memory up front;
/// a forged one asking for ~4 G rows × 256 columns (44 TB) aborted the process. It is
/// neutralised and the table reads normally.
#[test]
fn declared_extent_in_xls_is_ignored() {
    let r = read(fixture!("dimension_declared.xls")).unwrap();
    assert_eq!(r.format, FileFormat::Xls);
    assert_eq!((r.header_row, r.rows_total, r.rows_rejected), (1, 2, 0));
    assert_eq!(row(&r, "D-2").value_ore, Some(20_000));
    assert_eq!(row(&r, "D-2").row, 3);
}

/// `max_grid_bytes` is the limit, and the sheet that costs most is named.
#[test]
fn grid_limit_is_an_option() {
    let opts = ImportOptions {
        max_grid_bytes: 4 * 1024,
        ..Default::default()
    };
    for f in [fixture!("register_nb.xls"), fixture!("register_nb.ods")] {
        match read_with(f, &opts) {
            Err(ImportError::SheetTooLarge { sheet, limit, .. }) => {
                assert_eq!((sheet.as_str(), limit), ("Kontrakter", 4 * 1024), "{f}")
            }
            other => panic!("{f}: {other:?}"),
        }
    }
}

#[test]
fn hostile_and_wrong_files() {
    assert!(matches!(
        read(fixture!("zip_bomb.xlsx")),
        Err(ImportError::ZipBomb { .. })
    ));
    assert_eq!(read(fixture!("encrypted.xlsx")), Err(ImportError::Encrypted));
    assert!(
        read(fixture!("encrypted.xlsx"))
            .unwrap_err()
            .to_string()
            .contains("passordbeskyttet")
    );
    assert_eq!(read(fixture!("empty.xlsx")), Err(ImportError::Empty));
    match read(fixture!("truncated.xlsx")).unwrap_err() {
        ImportError::Corrupt { format, .. } => assert_eq!(format, FileFormat::Xlsx),
        other => panic!("{other:?}"),
    }
    for (f, what) in [
        (fixture!("pdf_named.xlsx"), "PDF"),
        (fixture!("html_table.xls"), "HTML"),
        (fixture!("text_named.xlsx"), "tekstfil"),
    ] {
        match read(f).unwrap_err() {
            e @ ImportError::NotSpreadsheet { .. } => {
                let m = e.to_string();
                assert!(m.contains(what) && m.contains(".xlsx"), "{m}");
            }
            other => panic!("{f}: {other:?}"),
        }
    }
    let opts = ImportOptions {
        max_bytes: 1000,
        ..Default::default()
    };
    assert!(matches!(
        read_with(fixture!("register_nb.xlsx"), &opts),
        Err(ImportError::TooLarge { .. })
    ));
    let opts = ImportOptions {
        max_cells: 50,
        ..Default::default()
    };
    assert!(matches!(
        read_with(fixture!("register_nb.xlsx"), &opts),
        Err(ImportError::TooManyCells { .. })
    ));
    for empty in [
        &b""[..],
        b"\n\n",
        b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
    ] {
        assert_eq!(
            read_register("x.csv", empty, &ImportOptions::default(), &mut |_| {}),
            Err(ImportError::Empty)
        );
    }
}

#[test]
fn row_error_serialises() {
    let r = read(fixture!("register_en.xlsx")).unwrap();
    let json = serde_json::to_value(&r.errors[0]).unwrap();
    assert_eq!(json["sheet"], "Contracts");
    assert_eq!(json["row"], 5);
    assert_eq!(json["column"], "Start date");
    assert_eq!(json["value"], "2024-02-30");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn amount_round_trip(ore in 0i64..=MAX_VALUE_ORE, sep in prop::sample::select(vec![' ', '\u{a0}', '\u{202f}', '.']), kr in any::<bool>()) {
        let text = format_amount_nb(ore, sep);
        let text = if kr { format!("kr {text}") } else { text };
        prop_assert_eq!(amount_text(&text), Ok(Some(ore)), "{}", text);
    }

    #[test]
    fn whole_kroner_round_trip(kroner in 0i64..=1_000_000_000_000) {
        let plain = kroner.to_string();
        prop_assert_eq!(amount_text(&plain), Ok(Some(kroner * 100)));
        prop_assert_eq!(amount_text(&format!("{plain},-")), Ok(Some(kroner * 100)));
    }

    #[test]
    fn float_cells_match_two_decimal_text(ore in 0i64..=10_000_000_000_000) {
        let f: f64 = format!("{}.{:02}", ore / 100, ore % 100).parse().unwrap();
        prop_assert_eq!(float_to_ore(f), Ok(ore));
    }

    #[test]
    fn no_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048), name in "[a-z]{1,8}\\.(xlsx|xls|csv|ods|xlsb)") {
        let _ = read_register(&name, &bytes, &ImportOptions::default(), &mut |_| {});
    }

    #[test]
    fn no_panic_on_arbitrary_csv_text(text in "[a-zA-Z0-9 ;,\t\n\r\"æøå.-]{0,400}") {
        let _ = read_register("x.csv", text.as_bytes(), &ImportOptions::default(), &mut |_| {});
    }
}

proptest! {
    // Each case parses a whole workbook: fewer cases.
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    #[test]
    fn no_panic_on_mutated_workbooks(pos in 0usize..8000, byte in any::<u8>(), which in 0usize..4) {
        let files = [fixture!("register_nb.xlsx"), fixture!("register_nb.xls"), fixture!("register_nb.ods"), fixture!("register.xlsb")];
        let mut bytes = std::fs::read(files[which]).unwrap();
        let len = bytes.len();
        bytes[pos % len] = byte;
        let _ = read_register("x", &bytes, &ImportOptions::default(), &mut |_| {});
    }
}

/// Found by `no_panic_on_mutated_workbooks`: one byte changed in the xlsb fixture's
/// compressed sheet gives a header cell at a column near 2^30, and the layout (one entry per
/// column) asked for 25 GB. Fails by running out of memory without the bound in
/// `header::resolve`.
#[test]
fn a_damaged_sheet_with_a_far_column_reads_in_little_memory() {
    let mut bytes = std::fs::read(fixture!("register.xlsb")).unwrap();
    bytes[154] = 138;
    // Whatever it reads (an error or a table), it returns.
    let _ = read_register("x.xlsb", &bytes, &ImportOptions::default(), &mut |_| {});
}

/// The command line reads a zip-based workbook from disk part by part (`RegisterFile::Disk`),
/// an upload from memory: every fixture, good or bad, must read the same both ways.
#[test]
fn every_fixture_reads_the_same_from_disk_as_from_memory() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/import");
    let mut compared = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".md") || name.ends_with(".py") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let opts = ImportOptions::default();
        let from_memory = read_register(&name, &bytes, &opts, &mut |_| {});
        let disk = DiskFile::open(&path).unwrap();
        let from_disk = read_register_file(&name, RegisterFile::Disk(&disk), &opts, &mut |_| {});
        assert_eq!(from_disk, from_memory, "{name}");
        compared += 1;
    }
    assert!(compared >= 20, "only {compared} fixtures found in {dir}");
}

/// A file on disk over the size limit is refused before it is read.
#[test]
fn a_file_on_disk_over_the_limit_is_refused_by_its_size() {
    let opts = ImportOptions {
        max_bytes: 100,
        ..Default::default()
    };
    let err = read_with(fixture!("register_nb.xlsx"), &opts).unwrap_err();
    assert!(matches!(err, ImportError::TooLarge { limit: 100, .. }), "{err:?}");
}
