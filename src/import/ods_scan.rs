//! Pre-scan of an ods file: what calamine will allocate for it, before calamine opens it.
//!
//! calamine turns every table of `content.xml` into dense grids when the file is opened
//! (see `extent.rs`). This module streams `content.xml` with the same XML reader and
//! settings and follows calamine 0.38's `read_table`/`read_row`/`get_datatype`/`get_range`
//! (ods.rs) without storing cells: per table it tracks the bounding box of non-empty values
//! and formulas, the repeated rows inside it, the cells calamine lists per row element, and
//! the string bytes it clones. Where calamine would stop with an error we stop too and judge
//! what it will have allocated by then; calamine then reports the error itself.

use std::io::{BufReader, Cursor};
use std::mem::size_of;

use calamine::Data;
use quick_xml::Reader as XmlReader;
use quick_xml::escape::unescape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::QName;

use super::extent::{ALLOC_OVERHEAD, SheetCost};

/// calamine's caps (ods.rs `MAX_ROWS`, `MAX_COLUMNS`).
const MAX_ROWS: u64 = 1_048_576;
const MAX_COLUMNS: u64 = 16_384;

/// calamine's `RawAttrIter`, so attributes are split exactly as calamine splits them.
struct RawAttrs<'a> {
    raw: &'a str,
    pos: usize,
}

impl<'a> Iterator for RawAttrs<'a> {
    /// `Err` where calamine reports a malformed attribute.
    type Item = Result<(&'a str, &'a str), ()>;

    fn next(&mut self) -> Option<Self::Item> {
        let raw = self.raw;
        let bytes = raw.as_bytes();
        let len = bytes.len();
        let mut pos = self.pos;
        while pos < len && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if pos >= len {
            self.pos = pos;
            return None;
        }
        let key_start = pos;
        while pos < len && bytes[pos] != b'=' {
            pos += 1;
        }
        if pos >= len {
            self.pos = len;
            return Some(Err(()));
        }
        let key = raw.get(key_start..pos)?.trim_ascii_end();
        pos += 1;
        while pos < len && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let quote = match bytes.get(pos) {
            Some(q @ (b'"' | b'\'')) => *q,
            _ => {
                self.pos = len;
                return Some(Err(()));
            }
        };
        pos += 1;
        let val_start = pos;
        while pos < len && bytes[pos] != quote {
            pos += 1;
        }
        let val = raw.get(val_start..pos)?;
        if pos < len {
            pos += 1;
        }
        self.pos = pos;
        Some(Ok((key, val)))
    }
}

fn attrs<'a>(e: &'a BytesStart<'_>) -> RawAttrs<'a> {
    RawAttrs {
        raw: e.attributes_raw(),
        pos: 0,
    }
}

/// First attribute `name`, as calamine's `raw_attr`; `Err` for a malformed attribute list.
fn attr<'a>(e: &'a BytesStart<'_>, name: &str) -> Result<Option<&'a str>, ()> {
    for a in attrs(e) {
        let (k, v) = a?;
        if k == name {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// The scan stopped where calamine stops reading the file (it will report why).
struct Stop;

impl From<()> for Stop {
    fn from(_: ()) -> Self {
        Stop
    }
}

impl From<quick_xml::Error> for Stop {
    fn from(_: quick_xml::Error) -> Self {
        Stop
    }
}

type Xml<'a> = XmlReader<BufReader<zip::read::ZipFile<'a, Cursor<&'a [u8]>>>>;

/// One grid (values or formulas) of a table as calamine's `get_range` builds it.
#[derive(Default)]
struct Grid {
    /// First and last row element (index among row elements) with content.
    first_elem: Option<u64>,
    /// Rows (repeats expanded) before the first row element with content.
    rows_before: u64,
    /// Rows up to and including the last row element with content.
    rows_through_last: u64,
    col_min: u64,
    col_max: u64,
    /// String bytes of the grid (each repeated row clones its strings).
    strings: u64,
}

impl Grid {
    fn add_row(&mut self, elem: u64, rows_before: u64, repeats: u64, cols: (u64, u64), strings: u64) {
        if self.first_elem.is_none() {
            self.first_elem = Some(elem);
            self.rows_before = rows_before;
            self.col_min = cols.0;
            self.col_max = cols.1;
        }
        self.col_min = self.col_min.min(cols.0);
        self.col_max = self.col_max.max(cols.1);
        self.rows_through_last = rows_before + repeats;
        self.strings = self.strings.saturating_add(strings.saturating_mul(repeats));
    }

    fn rows(&self) -> u64 {
        self.rows_through_last.saturating_sub(self.rows_before)
    }

    fn area(&self) -> u64 {
        if self.first_elem.is_none() {
            return 0;
        }
        self.rows().saturating_mul(self.col_max - self.col_min + 1)
    }
}

/// Per-row tallies of what `read_row` pushes.
#[derive(Default)]
struct Row {
    pushed: u64,
    values: Option<(u64, u64)>,
    value_strings: u64,
    formulas: Option<(u64, u64)>,
    formula_strings: u64,
}

fn widen(span: &mut Option<(u64, u64)>, first: u64, last: u64) {
    *span = Some(match *span {
        None => (first, last),
        Some((a, b)) => (a.min(first), b.max(last)),
    });
}

/// What `get_datatype` returns for a cell: string bytes of the value (when it is not
/// empty), of the formula (when it is not empty), and whether the element was consumed.
struct CellInfo {
    value: Option<u64>,
    formula: Option<u64>,
    closed: bool,
}

fn read_cell(reader: &mut Xml<'_>, e: &BytesStart<'_>, buf: &mut Vec<u8>) -> Result<CellInfo, Stop> {
    let mut is_string = false;
    let mut is_error = false;
    let mut value: Option<u64> = None;
    let mut value_is_empty_string = false;
    let mut formula: Option<u64> = None;
    for a in attrs(e) {
        let (key, v) = a?;
        match key {
            // A number is parsed by calamine (and fails there if malformed); no string.
            "office:value" if value.is_none() => value = Some(0),
            "office:string-value" | "office:date-value" | "office:time-value" if value.is_none() => {
                let s = unescape(v).map_err(|_| Stop)?;
                value_is_empty_string = key == "office:string-value" && s.is_empty();
                value = Some(s.len() as u64 + ALLOC_OVERHEAD);
            }
            "office:boolean-value" if value.is_none() => value = Some(0),
            "office:value-type" if value.is_none() => is_string = v == "string",
            "calcext:value-type" => is_error = v == "error",
            "table:formula" => {
                let s = unescape(v).map_err(|_| Stop)?;
                formula = (!s.is_empty()).then_some(s.len() as u64 + ALLOC_OVERHEAD);
            }
            _ => {}
        }
    }
    if !((value.is_none() && is_string) || (is_error && value_is_empty_string)) {
        return Ok(CellInfo {
            value,
            formula,
            closed: false,
        });
    }
    // The text content is the value: count what calamine appends for it.
    let mut len: u64 = 0;
    let mut first_paragraph = true;
    loop {
        buf.clear();
        match reader.read_event_into(buf)? {
            Event::Text(t) => len = len.saturating_add(t.len() as u64),
            // An entity expands to at most four bytes.
            Event::GeneralRef(_) => len = len.saturating_add(4),
            Event::End(end)
                if end.name() == QName("table:table-cell")
                    || end.name() == QName("table:covered-table-cell") =>
            {
                return Ok(CellInfo {
                    value: Some(len.saturating_add(ALLOC_OVERHEAD)),
                    formula,
                    closed: true,
                });
            }
            Event::Start(s) if s.name() == QName("office:annotation") => loop {
                buf.clear();
                match reader.read_event_into(buf)? {
                    Event::End(end) if end.name() == QName("office:annotation") => break,
                    // calamine keeps reading past the end of the file here, forever.
                    Event::Eof => return Err(Stop),
                    _ => {}
                }
            },
            Event::Start(s) if s.name() == QName("text:p") => {
                if !first_paragraph {
                    len = len.saturating_add(1);
                }
                first_paragraph = false;
            }
            Event::Start(s) if s.name() == QName("text:s") => {
                // `<text:s text:c="N"/>` is N spaces: a few bytes of XML can ask for gigabytes.
                let n: u64 = match attr(&s, "text:c")? {
                    Some(v) => unescape(v).map_err(|_| Stop)?.parse().map_err(|_| Stop)?,
                    None => 1,
                };
                len = len.saturating_add(n);
            }
            Event::Start(s) if s.name() == QName("text:tab") || s.name() == QName("text:line-break") => {
                len = len.saturating_add(1);
            }
            Event::Eof => return Err(Stop),
            _ => {}
        }
    }
}

/// Follows `read_row`: cells up to the last non-empty one are listed (at most 16 384),
/// trailing empty cells are not.
fn read_row(reader: &mut Xml<'_>, buf: &mut Vec<u8>, cell_buf: &mut Vec<u8>) -> Result<Row, Stop> {
    let mut row = Row::default();
    let mut pending_empty = 0u64;
    loop {
        buf.clear();
        match reader.read_event_into(buf)? {
            Event::Start(e)
                if e.name() == QName("table:table-cell") || e.name() == QName("table:covered-table-cell") =>
            {
                let repeats: u64 = match attr(&e, "table:number-columns-repeated")? {
                    Some(v) => v.parse().map_err(|_| Stop)?,
                    None => 1,
                };
                let cell = read_cell(reader, &e, cell_buf)?;
                row.pushed += pending_empty.min(MAX_COLUMNS - row.pushed);
                pending_empty = 0;
                let n = repeats.min(MAX_COLUMNS - row.pushed);
                if cell.value.is_none() && cell.formula.is_none() {
                    pending_empty = n;
                } else if n > 0 {
                    let (first, last) = (row.pushed, row.pushed + n - 1);
                    if let Some(b) = cell.value {
                        widen(&mut row.values, first, last);
                        row.value_strings = row.value_strings.saturating_add(b.saturating_mul(n));
                    }
                    if let Some(b) = cell.formula {
                        widen(&mut row.formulas, first, last);
                        row.formula_strings = row.formula_strings.saturating_add(b.saturating_mul(n));
                    }
                    row.pushed += n;
                }
                if !cell.closed {
                    cell_buf.clear();
                    reader.read_to_end_into(e.name(), cell_buf)?;
                }
            }
            Event::End(e) if e.name() == QName("table:table-row") => return Ok(row),
            _ => return Err(Stop),
        }
    }
}

/// Tallies one table; pushes its cost even when calamine would stop inside it.
fn read_table(reader: &mut Xml<'_>, name: String, out: &mut Vec<SheetCost>) -> Result<(), Stop> {
    let mut values = Grid::default();
    let mut formulas = Grid::default();
    let mut raw_cells = 0u64;
    let mut raw_strings = 0u64;
    let mut elems = 0u64;
    let mut total_rows = 0u64;
    let mut buf = Vec::with_capacity(1024);
    let mut row_buf = Vec::with_capacity(1024);
    let mut cell_buf = Vec::with_capacity(1024);
    let result = loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) if e.name() == QName("table:table-row") => {
                let repeats: Result<u64, Stop> = match attr(&e, "table:number-rows-repeated") {
                    Ok(Some(v)) => unescape(v)
                        .map_err(|_| Stop)
                        .and_then(|s| s.parse::<u64>().map_err(|_| Stop)),
                    Ok(None) => Ok(1),
                    Err(()) => Err(Stop),
                };
                let Ok(repeats) = repeats else { break Err(Stop) };
                let repeats = repeats.min(MAX_ROWS.saturating_sub(total_rows));
                let row = match read_row(reader, &mut row_buf, &mut cell_buf) {
                    Ok(r) => r,
                    Err(stop) => break Err(stop),
                };
                raw_cells += row.pushed;
                raw_strings = raw_strings
                    .saturating_add(row.value_strings)
                    .saturating_add(row.formula_strings);
                if let Some(cols) = row.values {
                    values.add_row(elems, total_rows, repeats, cols, row.value_strings);
                }
                if let Some(cols) = row.formulas {
                    formulas.add_row(elems, total_rows, repeats, cols, row.formula_strings);
                }
                total_rows += repeats;
                elems += 1;
            }
            Ok(Event::End(e)) if e.name() == QName("table:table") => break Ok(()),
            Ok(Event::Eof) | Err(_) => break Err(Stop),
            Ok(_) => {}
        }
    };
    let data = size_of::<Data>() as u64;
    let grid = values.area().saturating_mul(data);
    let mut cost = SheetCost {
        name,
        held: grid
            .saturating_add(values.strings)
            .saturating_add(formulas.area().saturating_mul(size_of::<String>() as u64))
            .saturating_add(formulas.strings),
        // The per-row cell lists of values and formulas, and calamine's two per-row indexes.
        transient: raw_cells
            .saturating_mul(data + size_of::<String>() as u64)
            .saturating_add(raw_strings)
            .saturating_add(elems.saturating_mul(2 * size_of::<usize>() as u64)),
        copy: grid.saturating_add(values.strings),
        ..SheetCost::default()
    };
    if values.first_elem.is_some() && values.rows() > 0 {
        let to_u32 = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        cost.include(to_u32(values.rows_before), to_u32(values.col_min));
        cost.include(to_u32(values.rows_through_last - 1), to_u32(values.col_max));
    }
    out.push(cost);
    result
}

/// Scans `content.xml`. A zip or part that cannot be opened yields no sheets: calamine
/// fails on it too, before allocating anything, and says why.
pub(crate) fn scan(bytes: &[u8]) -> Vec<SheetCost> {
    let mut sheets = Vec::new();
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return sheets;
    };
    let Ok(part) = zip.by_name("content.xml") else {
        return sheets;
    };
    let mut reader = XmlReader::from_reader(BufReader::new(part));
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) if e.name() == QName("table:table") => {
                let Ok(name) = attr(&e, "table:name") else { break };
                if let Some(v) = name {
                    let Ok(name) = unescape(v) else { break };
                    let name = name.into_owned();
                    if read_table(&mut reader, name, &mut sheets).is_err() {
                        break;
                    }
                }
            }
            Ok(Event::Start(e)) if e.name() == QName("table:named-expressions") => {
                // calamine reads these to their end; a table inside would not be a sheet.
                if skip_named_expressions(&mut reader).is_err() {
                    break;
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    sheets
}

fn skip_named_expressions(reader: &mut Xml<'_>) -> Result<(), Stop> {
    let mut buf = Vec::with_capacity(512);
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf)? {
            Event::Start(e)
                if e.name() == QName("table:named-range") || e.name() == QName("table:named-expression") => {}
            Event::End(e)
                if e.name() == QName("table:named-range") || e.name() == QName("table:named-expression") => {}
            Event::End(e) if e.name() == QName("table:named-expressions") => return Ok(()),
            _ => return Err(Stop),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::import::FileFormat;
    use crate::import::extent::{check, peak};

    fn ods(table_xml: &str) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        zip.start_file("mimetype", o).unwrap();
        zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
            .unwrap();
        zip.start_file("content.xml", o).unwrap();
        write!(
            zip,
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content><office:body><office:spreadsheet><table:table table:name="Ark &amp; 1">{table_xml}</table:table><table:named-expressions/></office:spreadsheet></office:body></office:document-content>"#
        )
        .unwrap();
        zip.finish().unwrap().into_inner()
    }

    const HEAD: &str = r#"<table:table-row><table:table-cell office:value-type="string"><text:p>Avtalenr</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="1"/><table:table-cell table:number-columns-repeated="16382"/></table:table-row>"#;

    #[test]
    fn trailing_empty_rows_and_cells_cost_nothing() {
        let xml = format!(
            r#"{HEAD}<table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#
        );
        let sheets = scan(&ods(&xml));
        assert_eq!(sheets.len(), 1);
        assert_eq!(sheets[0].name, "Ark & 1");
        assert_eq!(sheets[0].bbox, Some((0, 0, 0, 1)));
        assert!(peak(&sheets, 0) < 4096, "{sheets:?}");
    }

    #[test]
    fn far_value_and_repeated_rows_span_the_grid() {
        let xml = format!(
            r#"{HEAD}<table:table-row table:number-rows-repeated="99998"><table:table-cell/></table:table-row><table:table-row><table:table-cell table:number-columns-repeated="9"/><table:table-cell office:value-type="string" office:string-value="x"/></table:table-row>"#
        );
        let sheets = scan(&ods(&xml));
        assert_eq!(sheets[0].bbox, Some((0, 0, 99_999, 9)));
        assert!(peak(&sheets, 0) >= 2 * 100_000 * 10 * size_of::<Data>() as u64);
        match check(FileFormat::Ods, &sheets, 0, 1024 * 1024) {
            Err(crate::import::ImportError::SheetTooLarge {
                rows, cols, range, ..
            }) => {
                assert_eq!((rows, cols, range.as_str()), (100_000, 10, "A1:J100000"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn string_amplification_is_counted() {
        // 40 bytes of XML that calamine expands to 2 GB of spaces.
        let xml = format!(
            r#"{HEAD}<table:table-row><table:table-cell office:value-type="string"><text:p><text:s text:c="2000000000"/></text:p></table:table-cell></table:table-row>"#
        );
        assert!(peak(&scan(&ods(&xml)), 0) > 2_000_000_000);
        // One long string repeated across 16 384 columns and 1 000 rows.
        let long = "y".repeat(10_000);
        let xml = format!(
            r#"{HEAD}<table:table-row table:number-rows-repeated="1000"><table:table-cell office:value-type="string" office:string-value="{long}" table:number-columns-repeated="16384"/></table:table-row>"#
        );
        assert!(peak(&scan(&ods(&xml)), 0) > 160_000_000_000);
    }

    #[test]
    fn malformed_content_stops_without_panicking() {
        for xml in [
            // calamine loops forever on an unclosed annotation; we stop.
            r#"<table:table-row><table:table-cell office:value-type="string"><office:annotation><text:p>x"#
                .to_owned(),
            r#"<table:table-row table:number-rows-repeated="-1"><table:table-cell/></table:table-row>"#
                .to_owned(),
            r#"<table:table-row><table:table-cell table:number-columns-repeated="x"/></table:table-row>"#
                .to_owned(),
            r#"<table:table-row><table:table-cell office:value-type=string/></table:table-row>"#.to_owned(),
            r#"<table:table-row>text</table:table-row>"#.to_owned(),
            format!("{HEAD}<table:table-row><table:table-cell"),
        ] {
            let _ = scan(&ods(&xml));
        }
        assert!(scan(b"PK\x03\x04 not a zip").is_empty());
    }

    #[test]
    fn far_cell_fixture() {
        let b = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/import/dimension_far_cell.ods"
        ))
        .unwrap();
        let sheets = scan(&b);
        assert_eq!(sheets[0].bbox, Some((0, 0, 1_048_575, 15)));
        let b = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/import/register_nb.ods"
        ))
        .unwrap();
        assert!(peak(&scan(&b), 0) < 1024 * 1024);
    }
}
