//! The spreadsheet sent with a draw notice: one row per contract, with the indicators that
//! fired. Every value from a register or a person is written as a text cell, never as a
//! formula, so a supplier named `=HYPERLINK(…)` stays text in Excel and LibreOffice (the
//! spreadsheet-formula injection that a CSV export would need to neutralise by hand).

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::notice::ContractLine;

pub const CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

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

/// Excel's limit for the text of one cell.
const CELL_MAX: usize = 32_767;

fn text(s: &str) -> &str {
    if s.len() <= CELL_MAX {
        return s;
    }
    let mut end = CELL_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The workbook's bytes: one sheet named `sheet` (at most 31 characters).
pub fn contract_lines(sheet: &str, lines: &[ContractLine]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    let name: String = sheet
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    ws.set_name(&name)?;
    let bold = Format::new().set_bold();
    for (col, h) in HEADER.iter().enumerate() {
        ws.write_string_with_format(0, col as u16, *h, &bold)?;
    }
    for (i, l) in lines.iter().enumerate() {
        let row = (i + 1) as u32;
        let draw = l.draw.as_ref();
        if let Some(d) = draw {
            ws.write_number(row, 0, d.position as f64)?;
        }
        ws.write_string(row, 1, text(&l.contract_no))?;
        ws.write_string(row, 2, text(l.title.as_deref().unwrap_or("")))?;
        ws.write_string(row, 3, text(&l.supplier_name))?;
        ws.write_string(row, 4, text(&l.orgnr))?;
        ws.write_string(row, 5, text(l.unit.as_deref().unwrap_or("")))?;
        if let Some(v) = l.value_ore {
            ws.write_number(row, 6, v as f64 / 100.0)?;
        }
        if let Some(s) = l.score {
            ws.write_number(row, 7, f64::from(s))?;
        }
        ws.write_string(row, 8, text(l.tier.as_deref().unwrap_or("ikke vurdert")))?;
        ws.write_string(row, 9, text(&l.industries.join(", ")))?;
        ws.write_string(row, 10, text(&l.fired.join("; ")))?;
        let part = match draw.map(|d| d.part.as_str()) {
            Some("weighted") => "vektet",
            Some("uniform") => "uvektet",
            _ => "",
        };
        ws.write_string(row, 11, part)?;
        if let Some(id) = l.case_id {
            ws.write_number(row, 12, id as f64)?;
        }
    }
    ws.set_column_width(3, 30)?;
    ws.set_column_width(10, 50)?;
    ws.set_freeze_panes(1, 0)?;
    book.save_to_buffer()
}
