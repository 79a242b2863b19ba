//! Tables people download (xlsx and csv), written so they open cleanly in Excel and
//! LibreOffice and cannot run anything: in xlsx every text is a text cell (never a formula);
//! in csv a value that a spreadsheet would take for a formula (starting with `=`, `+`, `-`,
//! `@`, a tab or a carriage return) is prefixed with `'`, as OWASP recommends for CSV
//! injection. Pure: no database, no web.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

pub const XLSX_CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Cell {
        s.map_or(Cell::Empty, Cell::Text)
    }
}

/// A header and rows, to write as xlsx or csv.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub sheet: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// Excel's limit for the text of one cell.
const CELL_MAX: usize = 32_767;

fn clip(s: &str) -> &str {
    if s.len() <= CELL_MAX {
        return s;
    }
    let mut end = CELL_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A csv value that no spreadsheet evaluates.
pub fn neutralise(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

impl Table {
    pub fn to_xlsx(&self) -> Result<Vec<u8>, XlsxError> {
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        let name: String = self
            .sheet
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        if !name.is_empty() {
            ws.set_name(&name)?;
        }
        let bold = Format::new().set_bold();
        for (col, h) in self.header.iter().enumerate() {
            ws.write_string_with_format(0, col as u16, clip(h), &bold)?;
        }
        for (i, row) in self.rows.iter().enumerate() {
            let r = (i + 1) as u32;
            for (col, cell) in row.iter().enumerate() {
                match cell {
                    Cell::Text(t) => {
                        ws.write_string(r, col as u16, clip(t))?;
                    }
                    Cell::Number(n) => {
                        ws.write_number(r, col as u16, *n)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        ws.set_freeze_panes(1, 0)?;
        book.save_to_buffer()
    }

    /// Semicolon-separated (what Norwegian Excel expects), UTF-8 with a byte-order mark so
    /// Excel reads «æøå» right, every value neutralised.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = Vec::from("\u{feff}".as_bytes());
        {
            let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(&mut out);
            let _ = w.write_record(self.header.iter().map(|h| neutralise(h)));
            for row in &self.rows {
                let _ = w.write_record(row.iter().map(|c| match c {
                    Cell::Text(t) => neutralise(t),
                    Cell::Number(n) if n.fract() == 0.0 => format!("{n:.0}"),
                    Cell::Number(n) => format!("{n}").replace('.', ","),
                    Cell::Empty => String::new(),
                }));
            }
            let _ = w.flush();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_in_csv() {
        for f in ["=1+1", "+47 55 55 55 55", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(f).starts_with('\''), "{f}");
        }
        assert_eq!(neutralise("Rent AS"), "Rent AS");
        let t = Table {
            sheet: "Liste".into(),
            header: vec!["Navn".into(), "Verdi".into()],
            rows: vec![vec![Cell::from("=HYPERLINK(\"x\")"), Cell::Number(1500.5)]],
        };
        let csv = String::from_utf8(t.to_csv()).unwrap_or_default();
        assert!(csv.contains("'=HYPERLINK"), "{csv}");
        assert!(csv.contains("1500,5"), "{csv}");
        assert!(t.to_xlsx().is_ok());
    }
}
