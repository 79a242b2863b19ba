//! The spreadsheet sent with a draw notice: one row per contract, with the indicators that
//! fired. Every value from a register or a person is written as a text cell, never as a
//! formula, so a supplier named `=HYPERLINK(…)` stays text in Excel and LibreOffice (the
//! spreadsheet-formula injection that a CSV export would need to neutralise by hand).

use rust_xlsxwriter::XlsxError;

use crate::export::{Cell, Table};

use super::notice::ContractLine;

pub const CONTENT_TYPE: &str = crate::export::XLSX_CONTENT_TYPE;

/// The header row (Norwegian, as the recipients read it).
pub const HEADER: [&str; 13] = [
    "Nr.",
    "Kontraktnr.",
    "Kontrakt",
    "Leverandør",
    "Org.nr.",
    "Enhet",
    "Verdi (kr)",
    "Poeng",
    "Risikonivå",
    "Bransjer",
    "Utløste indikatorer",
    "Trukket",
    "Sak",
];

/// The workbook's bytes: one sheet named `sheet`, written by [`crate::export::Table`].
pub fn contract_lines(sheet: &str, lines: &[ContractLine]) -> Result<Vec<u8>, XlsxError> {
    let text = |s: &str| Cell::from(s);
    let rows = lines
        .iter()
        .map(|l| {
            let draw = l.draw.as_ref();
            vec![
                draw.map_or(Cell::Empty, |d| Cell::Number(d.position as f64)),
                text(&l.contract_no),
                text(l.title.as_deref().unwrap_or("")),
                text(&l.supplier_name),
                text(&l.orgnr),
                text(l.unit.as_deref().unwrap_or("")),
                l.value_ore
                    .map_or(Cell::Empty, |v| Cell::Number(v as f64 / 100.0)),
                l.score.map_or(Cell::Empty, |s| Cell::Number(f64::from(s))),
                text(l.tier.as_deref().unwrap_or("ikke vurdert")),
                Cell::from(l.industries.join(", ")),
                Cell::from(l.fired.join("; ")),
                text(match draw.map(|d| d.part.as_str()) {
                    Some("weighted") => "vektet",
                    Some("uniform") => "uvektet",
                    _ => "",
                }),
                l.case_id.map_or(Cell::Empty, |id| Cell::Number(id as f64)),
            ]
        })
        .collect();
    Table {
        sheet: sheet.to_owned(),
        header: HEADER.iter().map(|h| (*h).to_owned()).collect(),
        rows,
    }
    .to_xlsx()
}
