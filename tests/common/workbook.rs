//! A small xlsx builder (rust_xlsxwriter) for registers: one sheet, a header row, then rows
//! of typed cells, written as they come. Shared with the benches.

use std::collections::HashMap;

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

/// One cell of a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Nothing written.
    Empty,
    Text(String),
    Number(f64),
    /// A number shown with an Excel number format, e.g. `"# ##0.00"`.
    Formatted(f64, &'static str),
    /// A date (year, month, day), shown as dd.mm.yyyy.
    Date(u16, u8, u8),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<f64> for Cell {
    fn from(n: f64) -> Self {
        Cell::Number(n)
    }
}

/// Format of [`Cell::Date`].
const DATE_FORMAT: &str = "dd.mm.yyyy";

/// A workbook of one sheet being written: [`Xlsx::new`] writes the header row,
/// [`Xlsx::row`] each following row, [`Xlsx::finish`] gives the file.
pub struct Xlsx {
    workbook: Workbook,
    next_row: u32,
    formats: HashMap<&'static str, Format>,
}

impl Xlsx {
    /// A sheet with the default name (`Sheet1`) and this header row.
    pub fn new(header: &[&str]) -> Result<Self, XlsxError> {
        Self::build(None, header)
    }

    /// A sheet named `name` with this header row.
    pub fn named(name: &str, header: &[&str]) -> Result<Self, XlsxError> {
        Self::build(Some(name), header)
    }

    fn build(name: Option<&str>, header: &[&str]) -> Result<Self, XlsxError> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        if let Some(name) = name {
            sheet.set_name(name)?;
        }
        let mut x = Xlsx {
            workbook,
            next_row: 0,
            formats: HashMap::new(),
        };
        x.row(header.iter().map(|h| Cell::from(*h)))?;
        Ok(x)
    }

    /// Writes the next row, cell by cell from column A.
    pub fn row(&mut self, cells: impl IntoIterator<Item = Cell>) -> Result<(), XlsxError> {
        let r = self.next_row;
        self.next_row += 1;
        let ws = self.workbook.worksheet_from_index(0)?;
        for (c, cell) in cells.into_iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Empty => {}
                Cell::Text(s) => {
                    ws.write_string(r, c, s)?;
                }
                Cell::Number(n) => {
                    ws.write_number(r, c, n)?;
                }
                Cell::Formatted(n, num_format) => {
                    let format = self
                        .formats
                        .entry(num_format)
                        .or_insert_with(|| Format::new().set_num_format(num_format));
                    ws.write_number_with_format(r, c, n, format)?;
                }
                Cell::Date(y, m, d) => {
                    let format = self
                        .formats
                        .entry(DATE_FORMAT)
                        .or_insert_with(|| Format::new().set_num_format(DATE_FORMAT));
                    ws.write_datetime_with_format(r, c, &ExcelDateTime::from_ymd(y, m, d)?, format)?;
                }
            }
        }
        Ok(())
    }

    /// The xlsx file.
    pub fn finish(mut self) -> Result<Vec<u8>, XlsxError> {
        self.workbook.save_to_buffer()
    }
}

/// The xlsx file of one default-named sheet: `header`, then `rows`. Panics on a write error.
pub fn xlsx(header: &[&str], rows: impl IntoIterator<Item = Vec<Cell>>) -> Vec<u8> {
    let built = Xlsx::new(header).and_then(|mut x| {
        for row in rows {
            x.row(row)?;
        }
        x.finish()
    });
    built.unwrap_or_else(|e| panic!("building an xlsx file: {e}"))
}
