//! Writes the import fixtures into `fixtures/import/` (run once; the files are committed).
//!
//!     cargo run --example make_fixtures
//!
//! xlsx files come from rust_xlsxwriter, hand-built xlsx (for what a writer library will not
//! produce: a declared `A1:XFD1048576`, formulas without cached values, a zip bomb) from the
//! zip crate, csv files are written byte for byte. LibreOffice and msoffcrypto-tool make the
//! ods/xls/encrypted copies afterwards; see `fixtures/import/README.md` for the commands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Formula, Workbook, Worksheet};

type Res<T> = Result<T, Box<dyn Error>>;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/import")
}

fn date(y: u16, m: u8, d: u8) -> Res<ExcelDateTime> {
    Ok(ExcelDateTime::from_ymd(y, m, d)?)
}

/// Cell content in the Norwegian register.
enum V {
    S(&'static str),
    N(f64),
    D(u16, u8, u8),
    Dt(u16, u8, u8, u16, u8),
    F(&'static str, &'static str),
    E,
}

fn put(ws: &mut Worksheet, row: u32, col: u16, v: &V, fmt_date: &Format, fmt_dt: &Format) -> Res<()> {
    match v {
        V::S(s) => {
            ws.write_string(row, col, *s)?;
        }
        V::N(n) => {
            ws.write_number(row, col, *n)?;
        }
        V::D(y, m, d) => {
            ws.write_datetime_with_format(row, col, &date(*y, *m, *d)?, fmt_date)?;
        }
        V::Dt(y, m, d, h, mi) => {
            let dt = date(*y, *m, *d)?.and_hms(*h, *mi, 0)?;
            ws.write_datetime_with_format(row, col, &dt, fmt_dt)?;
        }
        V::F(f, cached) => {
            ws.write_formula(row, col, Formula::new(*f).set_result(*cached))?;
        }
        V::E => {}
    }
    Ok(())
}

/// The main fixture: notes sheet first, title rows, merged cells, Norwegian headers, extras,
/// every accepted form and every rejection reason. Rows are 1-based in the comments.
fn register_nb() -> Res<()> {
    use V::*;
    let mut wb = Workbook::new();
    let fmt_date = Format::new().set_num_format("dd.mm.yyyy");
    let fmt_dt = Format::new().set_num_format("dd.mm.yyyy hh:mm");
    let merged = Format::new().set_align(FormatAlign::Center).set_bold();

    let notes = wb.add_worksheet();
    notes.set_name("Notater")?;
    notes.write_string(0, 0, "Kontraktsregister for Bergen kommune")?;
    notes.write_string(1, 0, "Oppdatert av innkjøpsavdelingen")?;
    notes.write_string(3, 0, "Se arket Kontrakter. Leverandør, org.nr og verdi står der.")?;

    let ws = wb.add_worksheet();
    ws.set_name("Kontrakter")?;
    ws.merge_range(0, 0, 0, 5, "Kontraktsregister 2024", &merged)?;
    ws.write_string(1, 0, "Eksportert 01.03.2024")?;
    let headers = [
        "Avtalenr",
        "Avtalenavn",
        "Leverandør",
        "Org.nr",
        "Bransje",
        "CPV",
        "Kontraktsverdi",
        "Startdato",
        "Sluttdato",
        "Enhet",
        "Avtaleforvalter",
        "Antall ledd",
        "Leverandørnr",
        "Verdi inkl. mva",
        "Kommentar",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(3, c as u16, *h)?;
    }
    // (row 1-based, cells A..O)
    #[rustfmt::skip]
    let rows: Vec<(u32, Vec<V>)> = vec![
        (5, vec![S("A-001"), S("Renhold skoler"), S("Rent & Pent AS"), S("923 609 016"), S("Renhold"), S("90910000"), N(1234567.5), D(2024, 1, 1), D(2026, 12, 31), E, S("Kari Nordmann"), N(2.0), S("L-100"), N(1543209.38), S("Rammeavtale")]),
        (6, vec![S("A-002"), S("Vask av kjøretøy"), S("Bilpleie Vest AS"), N(974760673.0), S("Bilpleie"), E, S("1 234 567,50"), S("01.02.2024"), S("2025-01-31"), E, E, E, E, E, E]),
        (7, vec![S("A-003"), S("Nettside"), S("<script>alert(1)</script>"), S("NO923609016MVA"), E, E, S("kr 250 000"), Dt(2024, 3, 1, 13, 45), E, S("IKT"), E, E, E, E, E]),
        (8, vec![S("A-004"), S("Formelnavn"), S("=2+5 AS"), S("NO 923 609 016 MVA"), E, E, S("250000,-"), S("2024-03-01"), S("løpende"), E, E, E, E, E, E]),
        // 9 blank, 10 whitespace only
        (10, vec![E, S("   "), S("\u{a0}"), E, E, E, E, E, E, E, E, E, E, E, E]),
        (11, vec![N(1001.0), S("Bygg"), S("Bygg og Anlegg AS"), S("923609016.0"), S("Bygg og anlegg"), E, S("1.234.567"), N(45292.0), D(2027, 6, 30), E, E, S("1"), E, E, E]),
        (12, vec![S("A-005"), E, S("Nbsp Renhold AS"), S("889640782"), E, E, S("1\u{a0}234\u{a0}567,50"), S("1.4.2024"), E, E, E, E, E, E, E]),
        (13, vec![S("A-006"), E, S("Smal Mellomrom AS"), N(924203617.0), E, E, S("2\u{202f}500\u{202f}000"), E, E, E, E, E, E, E, E]),
        (14, vec![S("A-007"), E, F("=\"Formel\"&\" AS\"", "Formel AS"), S("821227062"), E, E, F("=1000*3", "3000"), E, E, E, E, E, E, E, E]),
        (15, vec![S("A-008"), E, S("Feil Kontrollsiffer AS"), S("988077918"), E, E, E, E, E, E, E, E, E, E, E]),
        (16, vec![S("A-009"), E, S("Kort Nummer AS"), S("12345678"), E, E, E, E, E, E, E, E, E, E, E]),
        (17, vec![S("A-010"), S("Uten leverandør"), E, S("988077917"), E, E, E, E, E, E, E, E, E, E, E]),
        (18, vec![S("A-011"), E, S("Cirka AS"), S("988077917"), E, E, S("ca. 2 mill"), E, E, E, E, E, E, E, E]),
        (19, vec![S("A-012"), E, S("Vedlegg AS"), S("988077917"), E, E, S("se vedlegg"), S("løpende"), E, E, E, E, E, E, E]),
        (20, vec![S("A-013"), E, S("Negativ AS"), S("988077917"), E, E, N(-5000.0), E, E, E, E, E, E, E, E]),
        (21, vec![S("A-014"), E, S("Medgått AS"), S("988077917"), E, E, S("etter medgått tid"), E, E, E, E, E, E, E, E]),
        (22, vec![S("A-015"), E, S("Tvetydig AS"), S("988077917"), E, E, S("1,234"), E, E, E, E, E, E, E, E]),
        (23, vec![S("A-016"), E, S("Februar AS"), S("988077917"), E, E, E, S("31.02.2024"), E, E, E, E, E, E, E]),
        (24, vec![S("A-017"), E, S("Trettende AS"), S("988077917"), E, E, E, S("2024-13-01"), E, E, E, E, E, E, E]),
        (25, vec![S("A-018"), E, S("Baklengs AS"), S("988077917"), E, E, E, D(2024, 6, 1), D(2024, 1, 1), E, E, E, E, E, E]),
        (26, vec![S("A-001"), S("Duplikat"), S("Dobbel AS"), S("988077917"), E, E, E, E, E, E, E, E, E, E, E]),
        (27, vec![E, S("Uten nummer"), S("Nummerløs AS"), S("988077917"), E, E, E, E, E, E, E, E, E, E, E]),
        (28, vec![S("Sum"), E, E, E, E, E, F("=SUM(G5:G27)", "1237567.5"), E, E, E, E, E, E, E, E]),
    ];
    for (r, cells) in &rows {
        for (c, v) in cells.iter().enumerate() {
            put(ws, r - 1, c as u16, v, &fmt_date, &fmt_dt)?;
        }
    }
    // Unit merged down over rows 5-6: row 6 gets "Skoleetaten" too.
    ws.merge_range(4, 9, 5, 9, "Skoleetaten", &Format::new())?;
    wb.save(dir().join("register_nb.xlsx"))?;
    Ok(())
}

/// English headers on the first row of the first sheet; date cells; a totals row.
fn register_en() -> Res<()> {
    let mut wb = Workbook::new();
    let fmt_date = Format::new().set_num_format("yyyy-mm-dd");
    let ws = wb.add_worksheet();
    ws.set_name("Contracts")?;
    let headers = [
        "Contract no",
        "Title",
        "Supplier",
        "Organisation number",
        "Category",
        "CPV code",
        "Value",
        "Start date",
        "End date",
        "Unit",
        "Contract manager",
        "Subcontractor levels",
        "Notes",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    type Ymd = (u16, u8, u8);
    let data: [(&str, &str, f64, f64, Ymd, Ymd); 3] = [
        (
            "E-1",
            "Clean Co AS",
            991825827.0,
            1_000_000.0,
            (2024, 1, 1),
            (2024, 12, 31),
        ),
        (
            "E-2",
            "Build Co AS",
            974760673.0,
            2_050_000.0,
            (2023, 5, 1),
            (2026, 4, 30),
        ),
        (
            "E-3",
            "Wash Co AS",
            889640782.0,
            99.99,
            (2024, 2, 29),
            (2025, 2, 28),
        ),
    ];
    for (i, (id, sup, org, val, s, e)) in data.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, *id)?;
        ws.write_string(r, 1, "Service")?;
        ws.write_string(r, 2, *sup)?;
        ws.write_number(r, 3, *org)?;
        ws.write_string(r, 4, "Cleaning")?;
        ws.write_number(r, 5, 90910000.0)?;
        ws.write_number(r, 6, *val)?;
        ws.write_datetime_with_format(r, 7, &date(s.0, s.1, s.2)?, &fmt_date)?;
        ws.write_datetime_with_format(r, 8, &date(e.0, e.1, e.2)?, &fmt_date)?;
        ws.write_string(r, 9, "Schools")?;
        ws.write_string(r, 10, "Ola Nordmann")?;
        ws.write_number(r, 11, 1.0)?;
    }
    ws.write_string(2, 12, "Renewed once")?;
    ws.write_string(4, 0, "E-4")?;
    ws.write_string(4, 2, "Bad Date AS")?;
    ws.write_string(4, 3, "924203617")?;
    ws.write_string(4, 7, "2024-02-30")?;
    ws.write_string(5, 0, "Totalt")?;
    ws.write_formula(5, 6, Formula::new("=SUM(G2:G5)").set_result("3050099.99"))?;
    wb.save(dir().join("register_en.xlsx"))?;
    Ok(())
}

/// Headers we do not know: detection fails, an explicit mapping works.
fn mapping_needed() -> Res<()> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["Nr", "Firma", "Org nummer", "Beløp", "Fra og med"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h)?;
    }
    ws.write_string(1, 0, "M-1")?;
    ws.write_string(1, 1, "Kartlagt AS")?;
    ws.write_string(1, 2, "923609016")?;
    ws.write_number(1, 3, 5000.0)?;
    ws.write_string(1, 4, "01.01.2024")?;
    wb.save(dir().join("mapping_needed.xlsx"))?;
    Ok(())
}

/// A workbook whose only sheet is notes: no table anywhere.
fn notes_only() -> Res<()> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Notater")?;
    ws.write_string(0, 0, "Her kommer kontraktene senere.")?;
    ws.write_string(1, 0, "Leverandør")?;
    ws.write_string(1, 1, "Org.nr")?;
    wb.save(dir().join("notes_only.xlsx"))?;
    Ok(())
}

fn empty_workbook() -> Res<()> {
    let mut wb = Workbook::new();
    wb.add_worksheet();
    wb.save(dir().join("empty.xlsx"))?;
    Ok(())
}

/// A handful of rows plus one blank styled cell at XFD1048576: the sheet's extent is the
/// whole grid. Plain `calamine::Reader::worksheet_range` aborts on this file.
fn dimension_far_cell() -> Res<()> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    small_table(ws)?;
    let styled = Format::new().set_bold();
    ws.write_blank(1_048_575, 16_383, &styled)?;
    wb.save(dir().join("dimension_far_cell.xlsx"))?;
    Ok(())
}

fn small_table(ws: &mut Worksheet) -> Res<()> {
    for (c, h) in ["Avtalenr", "Leverandør", "Org.nr", "Kontraktsverdi"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h)?;
    }
    ws.write_string(1, 0, "D-1")?;
    ws.write_string(1, 1, "Liten AS")?;
    ws.write_string(1, 2, "923609016")?;
    ws.write_number(1, 3, 100.0)?;
    ws.write_string(2, 0, "D-2")?;
    ws.write_string(2, 1, "Mindre AS")?;
    ws.write_string(2, 2, "974760673")?;
    ws.write_number(2, 3, 200.0)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Hand-built xlsx: the minimal parts calamine needs, so the sheet XML is exactly ours.

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Ark1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

fn is(r: &str, text: &str) -> String {
    format!(r#"<c r="{r}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

fn handmade_xlsx(path: &Path, sheet_head: &str, sheet_data: &str, padding: u64) -> Res<()> {
    let file = std::fs::File::create(path)?;
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .large_file(padding > u32::MAX as u64 / 2);
    for (name, body) in [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
    ] {
        zip.start_file(name, opts)?;
        zip.write_all(body.as_bytes())?;
    }
    zip.start_file("xl/worksheets/sheet1.xml", opts)?;
    write!(
        zip,
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{sheet_head}<sheetData>{sheet_data}"#
    )?;
    // Whitespace between rows is legal XML and compresses ~1000:1: the zip bomb's payload.
    let chunk = vec![b' '; 1 << 20];
    let mut left = padding;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        zip.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    zip.write_all(b"</sheetData></worksheet>")?;
    zip.finish()?;
    Ok(())
}

/// Declares `A1:XFD1048576` (an exporter bug seen in the wild); also holds inline strings,
/// a formula with no cached value (an empty cell for us) and cells without `r` attributes.
fn dimension_declared() -> Res<()> {
    let head = r#"<dimension ref="A1:XFD1048576"/>"#;
    let data = [
        format!(
            r#"<row r="1">{}{}{}{}</row>"#,
            is("A1", "Avtalenr"),
            is("B1", "Leverandør"),
            is("C1", "Org.nr"),
            is("D1", "Kontraktsverdi")
        ),
        format!(
            r#"<row r="2">{}{}{}<c r="D2"><f>B2*2</f></c></row>"#,
            is("A2", "H-1"),
            is("B2", "Håndlaget AS"),
            is("C2", "923609016")
        ),
        // Supplier is a formula that was never calculated: empty, so the row is rejected.
        format!(
            r#"<row r="3">{}<c r="B3" t="str"><f>"Ikke"&amp;" beregnet"</f></c>{}<c r="D3"><v>1500</v></c></row>"#,
            is("A3", "H-2"),
            is("C3", "974760673")
        ),
        // No r attributes on the cells: positions follow from order.
        r#"<row r="4"><c t="inlineStr"><is><t>H-3</t></is></c><c t="inlineStr"><is><t>Uten Adresse AS</t></is></c><c><v>889640782</v></c><c><v>42</v></c></row>"#.to_string(),
    ]
    .concat();
    handmade_xlsx(&dir().join("dimension_declared.xlsx"), head, &data, 0)
}

/// ~1.1 GB of sheet XML in a ~1 MB file.
fn zip_bomb() -> Res<()> {
    let data = format!(
        r#"<row r="1">{}{}{}{}</row>"#,
        is("A1", "Avtalenr"),
        is("B1", "Leverandør"),
        is("C1", "Org.nr"),
        is("D1", "Kontraktsverdi")
    );
    handmade_xlsx(&dir().join("zip_bomb.xlsx"), "", &data, 1_100 * 1024 * 1024)
}

// ---------------------------------------------------------------------------------------
// Text formats.

fn write(name: &str, bytes: &[u8]) -> Res<()> {
    std::fs::write(dir().join(name), bytes)?;
    Ok(())
}

fn csv_files() -> Res<()> {
    // UTF-8, no BOM, ';', title rows, a quoted multi-line field, a blank line, a totals row.
    let utf8 = "Kontraktsregister 2024;;;;;;;\n\
;;;;;;;\n\
Avtalenr;Avtalenavn;Leverandør;Org.nr;Kontraktsverdi;Startdato;Sluttdato;Merknad\n\
K-1;\"Renhold\nmed flere linjer\";Rent & Pent AS;923 609 016;1 234 567,50;01.01.2024;31.12.2025;Første\n\
K-2;Vask;Bilpleie Vest AS;974760673;kr 250 000;2024-02-01;;\n\
\n\
K-3;Bygg;Bygg AS;NO 923 609 016 MVA;250000,-;45292;løpende;\n\
K-4;Feil;Feil AS;988077918;ca. 2 mill;31.02.2024;;\n\
K-2;Duplikat;Dup AS;889640782;100;;;\n\
Sum;;;;1 484 567,50;;;\n";
    write("register_utf8.csv", utf8.as_bytes())?;

    // UTF-8 with BOM, ',', CRLF, English headers, quoted amounts with decimal commas.
    let bom = "\u{feff}Contract no,Supplier,Organisation number,Value,Start date,End date\r\n\
C-1,Rent & Pent AS,923609016,\"1 234 567,50\",2024-01-01,2025-12-31\r\n\
C-2,\"Komma, Punktum og Co AS\",974760673,\"250 000\",01.02.2024,\r\n";
    write("register_utf8_bom.csv", bom.as_bytes())?;

    // Windows-1252, ';' — what Norwegian Excel's "CSV (semikolondelt)" writes.
    let cp1252_text = "Avtalenr;Leverandør;Org.nr;Beløp;Område;Startdato;Sluttdato\r\n\
W-1;Rørlegger Åse AS;923609016;12 500,00;Bygg og anlegg;01.01.2024;31.12.2024\r\n\
W-2;Blåbær Renhold AS;974760673;1\u{a0}000;Renhold;01.03.2024;\r\n";
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(cp1252_text);
    assert!(!unmappable);
    write("register_cp1252.csv", &bytes)?;

    // Tab-separated (Excel "Tekst (tabulatordelt)").
    let tab = "Avtalenr\tLeverandør\tOrgnr\tVerdi eks mva\tGyldig fra\tUtløper\n\
T-1\tTab, Komma og Semikolon; AS\t923609016\t1234,5\t2024-01-01\t2024-12-31\n\
T-2\tTo AS\t974760673\t\t\t\n";
    write("register_tab.tsv", tab.as_bytes())?;

    // Not spreadsheets, with spreadsheet names.
    write(
        "pdf_named.xlsx",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    )?;
    write(
        "html_table.xls",
        "<html><head><meta charset=\"utf-8\"></head><body><table>\n<tr><th>Avtalenr</th><th>Leverandør</th><th>Org.nr</th><th>Kontraktsverdi</th></tr>\n<tr><td>X-1</td><td>Nett AS</td><td>923609016</td><td>1000</td></tr>\n</table></body></html>\n".as_bytes(),
    )?;
    write(
        "text_named.xlsx",
        "Hei!\nVedlagt er kontraktsregisteret som avtalt.\nMvh Kari\n".as_bytes(),
    )?;
    Ok(())
}

fn truncated() -> Res<()> {
    let full = std::fs::read(dir().join("register_nb.xlsx"))?;
    write("truncated.xlsx", &full[..full.len() * 6 / 10])
}

fn main() -> Res<()> {
    std::fs::create_dir_all(dir())?;
    register_nb()?;
    register_en()?;
    mapping_needed()?;
    notes_only()?;
    empty_workbook()?;
    dimension_far_cell()?;
    dimension_declared()?;
    csv_files()?;
    truncated()?;
    if std::env::args().any(|a| a == "--zip-bomb") || !dir().join("zip_bomb.xlsx").exists() {
        zip_bomb()?;
    }
    println!("fixtures written to {}", dir().display());
    Ok(())
}
