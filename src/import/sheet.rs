//! Workbook readers: xlsx/xlsm with our own reader (`xlsx.rs`: shared strings in one buffer,
//! a byte scanner over the sheet), the others on top of calamine.
//!
//! xlsx/xlsm (ours) and xlsb (calamine's `worksheet_cells_reader`) are streamed: cells arrive one at a time
//! with their absolute position, so a sheet that declares `A1:XFD1048576`, or holds one
//! blank styled cell at XFD1048576, costs nothing (blank cells are dropped, and no dense
//! `Range` is ever built). xls and ods are loaded by calamine as ranges (that is how it
//! reads them), all sheets at once when the file is opened; `xls_scan`/`ods_scan` estimate
//! that cost from the file first and `extent::check` refuses a workbook that would not fit
//! (one stray value at IV65536 makes a grid of 16.7 M cells). We walk the used cells with
//! the range's start offset added, so row numbers stay as the spreadsheet shows them.
//!
//! Merged cells (xlsx, xls): calamine reports only the top-left cell's value; we copy it into
//! the other cells of the region, so a unit merged down over three contracts applies to all
//! three.

use std::io::Cursor;

use calamine::{
    Cell, Data, DataRef, Dimensions, Ods, OdsError, Reader, SheetType, Xls, XlsError, Xlsb, XlsbError,
};

use super::cells::is_blank;
use super::rows::{Flow, RowSink, TableBuilder};
use super::{FileFormat, ImportError, ImportOptions, ParsedRegister, RegisterFile};

/// Widest merged region we fill, in columns: a region merged across the whole sheet
/// width must not turn each row into 16 384 cells.
const MAX_MERGE_FILL_COLS: u32 = 256;

pub(crate) fn read<'a>(
    format: FileFormat,
    file: RegisterFile<'_>,
    opts: &'a ImportOptions,
    progress: &'a mut dyn FnMut(u64),
    sink: Option<&'a mut RowSink<'a>>,
) -> Result<ParsedRegister, ImportError> {
    let mut builder = TableBuilder::new(format, opts, progress, sink);
    match format {
        FileFormat::Xlsx | FileFormat::Xlsm => read_xlsx(format, file, opts, &mut builder)?,
        FileFormat::Xlsb => read_xlsb(file, opts, &mut builder)?,
        // calamine reads these whole when it opens them.
        FileFormat::Xls => read_xls(&file.load()?, opts, &mut builder)?,
        FileFormat::Ods => read_ods(&file.load()?, opts, &mut builder)?,
        FileFormat::Csv => {
            return Err(ImportError::Corrupt {
                format,
                detail: "csv lest som arbeidsbok".into(),
            });
        }
    }
    builder.finish()
}

fn corrupt(format: FileFormat, e: impl std::fmt::Display) -> ImportError {
    ImportError::Corrupt {
        format,
        detail: e.to_string(),
    }
}

fn xlsb_err(e: XlsbError) -> ImportError {
    match e {
        XlsbError::Password => ImportError::Encrypted,
        e => corrupt(FileFormat::Xlsb, e),
    }
}

fn xls_err(e: XlsError) -> ImportError {
    match e {
        XlsError::Password => ImportError::Encrypted,
        e => corrupt(FileFormat::Xls, e),
    }
}

fn ods_err(e: OdsError) -> ImportError {
    match e {
        OdsError::Password => ImportError::Encrypted,
        // calamine refuses to expand an ods sheet past 100 M cells (repeated rows/columns).
        OdsError::CellLimitExceeded { max, .. } => ImportError::TooManyCells {
            sheet: String::new(),
            limit: max as u64,
        },
        e => corrupt(FileFormat::Ods, e),
    }
}

/// The worksheets to scan, in workbook order; only the named one when `opts.sheet` is set
/// (exact name first, then ignoring case and surrounding spaces).
fn select_sheets<RS, R: Reader<RS>>(wb: &R, opts: &ImportOptions) -> Result<Vec<String>, ImportError>
where
    RS: std::io::Read + std::io::Seek,
{
    let names: Vec<String> = wb
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect();
    pick_sheets(names, opts)
}

/// The worksheets to look for the table in, of `names` (in workbook order): the one the
/// options name, found also by its trimmed, lower-cased name, or all of them.
fn pick_sheets(names: Vec<String>, opts: &ImportOptions) -> Result<Vec<String>, ImportError> {
    let Some(want) = &opts.sheet else {
        return Ok(names);
    };
    if let Some(n) = names.iter().find(|n| *n == want) {
        return Ok(vec![n.clone()]);
    }
    let w = want.trim().to_lowercase();
    if let Some(n) = names.iter().find(|n| n.trim().to_lowercase() == w) {
        return Ok(vec![n.clone()]);
    }
    Err(ImportError::SheetNotFound {
        name: want.clone(),
        available: names,
    })
}

fn read_xlsx(
    format: FileFormat,
    file: RegisterFile<'_>,
    opts: &ImportOptions,
    builder: &mut TableBuilder<'_>,
) -> Result<(), ImportError> {
    let err = |e: super::xlsx::XlsxReadError| corrupt(format, e);
    let mut wb = super::xlsx::Workbook::open(file.reader()?).map_err(err)?;
    let names = wb
        .sheets()
        .iter()
        .filter(|s| s.worksheet)
        .map(|s| s.name.clone())
        .collect();
    for name in pick_sheets(names, opts)? {
        builder.start_sheet(&name);
        // Merged regions live after the cell data; a raw scan finds them, and refuses a
        // sheet whose XML would make the reader hold a huge run in memory (see merges.rs).
        let part = wb.sheet_part(&name).map_err(err)?;
        let merges = super::merges::xlsx_sheet_scan(file, &part).map_err(|e| ImportError::XmlRunTooLong {
            format,
            part: e.part,
            run: e.run as u64,
        })?;
        let mut reader = wb.cells(&name).map_err(err)?;
        stream(builder, &merges, || {
            Ok(reader
                .next_cell()
                .map_err(err)?
                .map(|(r, c, v)| Cell::new((r, c), v)))
        })?;
        drop(reader);
        if builder.found() {
            break;
        }
    }
    Ok(())
}

fn read_xlsb(
    file: RegisterFile<'_>,
    opts: &ImportOptions,
    builder: &mut TableBuilder<'_>,
) -> Result<(), ImportError> {
    let mut wb: Xlsb<_> = Xlsb::new(file.reader()?).map_err(xlsb_err)?;
    for name in select_sheets(&wb, opts)? {
        builder.start_sheet(&name);
        let mut reader = wb.worksheet_cells_reader(&name).map_err(xlsb_err)?;
        stream(builder, &[], || reader.next_cell().map_err(xlsb_err))?;
        drop(reader);
        if builder.found() {
            break;
        }
    }
    Ok(())
}

fn read_xls(bytes: &[u8], opts: &ImportOptions, builder: &mut TableBuilder<'_>) -> Result<(), ImportError> {
    // calamine builds every sheet's grid when it opens the file: check the extent first.
    let scan = super::xls_scan::scan(bytes)?;
    super::extent::check(
        FileFormat::Xls,
        &scan.sheets,
        scan.workbook_transient,
        opts.max_grid_bytes,
    )?;
    let bytes: &[u8] = scan.patched.as_deref().unwrap_or(bytes);
    let mut wb: Xls<_> = Xls::new(Cursor::new(bytes)).map_err(xls_err)?;
    for name in select_sheets(&wb, opts)? {
        builder.start_sheet(&name);
        let merges = wb.merge_cells_by_sheet_name(&name).unwrap_or_default();
        let range = wb.worksheet_range(&name).map_err(xls_err)?;
        read_range(builder, &range, &merges)?;
        if builder.found() {
            break;
        }
    }
    Ok(())
}

fn read_ods(bytes: &[u8], opts: &ImportOptions, builder: &mut TableBuilder<'_>) -> Result<(), ImportError> {
    // calamine builds every table's grid when it opens the file: check the extent first.
    let sheets = super::ods_scan::scan(bytes);
    super::extent::check(FileFormat::Ods, &sheets, 0, opts.max_grid_bytes)?;
    let mut wb: Ods<_> = Ods::new(Cursor::new(bytes)).map_err(ods_err)?;
    for name in select_sheets(&wb, opts)? {
        builder.start_sheet(&name);
        let range = wb.worksheet_range(&name).map_err(ods_err)?;
        read_range(builder, &range, &[])?;
        if builder.found() {
            break;
        }
    }
    Ok(())
}

fn data_ref(d: &Data) -> DataRef<'_> {
    match d {
        Data::Int(i) => DataRef::Int(*i),
        Data::Float(f) => DataRef::Float(*f),
        Data::String(s) => DataRef::SharedString(s),
        Data::Bool(b) => DataRef::Bool(*b),
        Data::DateTime(dt) => DataRef::DateTime(*dt),
        Data::DateTimeIso(s) => DataRef::DateTimeIso(s.clone()),
        Data::DurationIso(s) => DataRef::DurationIso(s.clone()),
        Data::Error(e) => DataRef::Error(e.clone()),
        Data::Empty => DataRef::Empty,
    }
}

/// Walks a calamine range's used cells at their absolute positions.
fn read_range(
    builder: &mut TableBuilder<'_>,
    range: &calamine::Range<Data>,
    merges: &[Dimensions],
) -> Result<(), ImportError> {
    let (r0, c0) = range.start().unwrap_or((0, 0));
    let mut cells = range.used_cells();
    stream(builder, merges, || {
        Ok(cells.next().map(|(r, c, v)| {
            Cell::new(
                (r0.saturating_add(r as u32), c0.saturating_add(c as u32)),
                data_ref(v),
            )
        }))
    })
}

/// Copies the value of a merged region's top-left cell into the rest of the region.
struct MergeFill<'a> {
    /// Regions sorted by first row; `next` is the first not yet active.
    regions: Vec<Dimensions>,
    next: usize,
    /// Active regions with the anchor value (once seen).
    active: Vec<(Dimensions, Option<DataRef<'a>>)>,
}

impl<'a> MergeFill<'a> {
    fn new(merges: &[Dimensions]) -> Self {
        let mut regions: Vec<Dimensions> = merges
            .iter()
            .filter(|d| d.start.0 <= d.end.0 && d.start.1 <= d.end.1 && d.start != d.end)
            .copied()
            .collect();
        regions.sort_by_key(|d| d.start);
        Self {
            regions,
            next: 0,
            active: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    /// Fills `cells` (one row, `r` 0-based) from the active regions, then sorts by column.
    fn fill(&mut self, r: u32, cells: &mut Vec<(u32, DataRef<'a>)>) {
        self.active.retain(|(d, _)| d.end.0 >= r);
        while let Some(d) = self.regions.get(self.next) {
            if d.start.0 > r {
                break;
            }
            if d.end.0 >= r {
                self.active.push((*d, None));
            }
            self.next += 1;
        }
        if self.active.is_empty() {
            return;
        }
        let before = cells.len();
        for (d, anchor) in &mut self.active {
            if d.start.0 == r && anchor.is_none() {
                *anchor = cells
                    .iter()
                    .find(|(c, v)| *c == d.start.1 && !is_blank(v))
                    .map(|(_, v)| v.clone());
            }
            let Some(value) = anchor else { continue };
            let last = d.end.1.min(d.start.1.saturating_add(MAX_MERGE_FILL_COLS));
            for col in d.start.1..=last {
                if r == d.start.0 && col == d.start.1 {
                    continue;
                }
                let occupied = cells[..before].iter().any(|(c, v)| *c == col && !is_blank(v));
                if !occupied {
                    cells.push((col, value.clone()));
                }
            }
        }
        if cells.len() != before {
            cells.sort_by_key(|(c, _)| *c);
        }
    }
}

/// Groups a stream of cells (in row order, as all our sources deliver them) into rows and
/// hands them to the builder. Blank cells are dropped before they are buffered.
fn stream<'a>(
    builder: &mut TableBuilder<'_>,
    merges: &[Dimensions],
    mut next: impl FnMut() -> Result<Option<Cell<DataRef<'a>>>, ImportError>,
) -> Result<(), ImportError> {
    let mut merge = MergeFill::new(merges);
    let mut row_cells: Vec<(u32, DataRef<'a>)> = Vec::with_capacity(32);
    let mut current: Option<u32> = None;
    let mut sorted = true;
    loop {
        let cell = next()?;
        let pos = cell.as_ref().map(|c| c.get_position());
        let row_ends = match (pos, current) {
            (Some((r, _)), Some(cur)) => r != cur,
            (None, Some(_)) => true,
            _ => false,
        };
        if row_ends {
            if let Some(cur) = current {
                if !sorted {
                    row_cells.sort_by_key(|(c, _)| *c);
                }
                // Only rows with content of their own get merged values: a row that is
                // blank apart from a merged region's remainder stays blank.
                if !merge.is_empty() && !row_cells.is_empty() {
                    merge.fill(cur, &mut row_cells);
                }
                if !row_cells.is_empty() {
                    builder.count_cells(row_cells.len() as u64)?;
                    if builder.row(cur.saturating_add(1), &row_cells)? == Flow::NextSheet {
                        return Ok(());
                    }
                }
            }
            row_cells.clear();
            sorted = true;
        }
        let Some(cell) = cell else {
            return Ok(());
        };
        let (r, c) = cell.get_position();
        current = Some(r);
        let v = cell.get_value();
        if matches!(v, DataRef::Empty) {
            continue;
        }
        if row_cells.last().is_some_and(|(last, _)| *last > c) {
            sorted = false;
        }
        row_cells.push((c, v.clone()));
    }
}
