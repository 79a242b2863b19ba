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
        // Merged regions live after the cell data: a raw scan of the sheet finds them, and
        // refuses a sheet whose XML would make a reader hold a huge run in memory (see
        // merges.rs). It runs beside the read, which holds back its first rows until the
        // scan is done (inflating the sheet twice one after the other kept the import's
        // other threads waiting at its start).
        let part = wb.sheet_part(&name).map_err(err)?;
        std::thread::scope(|s| -> Result<(), ImportError> {
            let scan = s.spawn(|| {
                super::merges::xlsx_sheet_scan(file, &part).map_err(|e| ImportError::XmlRunTooLong {
                    format,
                    part: e.part,
                    run: e.run as u64,
                })
            });
            let mut merges = MergeSource::Scan(Some(scan));
            let mut reader = match wb.cells(&name) {
                Ok(reader) => reader,
                Err(e) => return Err(merges.scan_error().unwrap_or_else(|| err(e))),
            };
            stream(builder, &mut merges, || {
                Ok(reader
                    .next_cell()
                    .map_err(err)?
                    .map(|(r, c, v)| Cell::new((r, c), v)))
            })?;
            // A sheet the read left early (it was not the table): its scan's verdict all
            // the same, as when the scan ran first.
            merges.scan_error().map_or(Ok(()), Err)
        })?;
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
        stream(builder, &mut MergeSource::Known(&[]), || {
            reader.next_cell().map_err(xlsb_err)
        })?;
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
    stream(builder, &mut MergeSource::Known(merges), || {
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

/// The merged regions of the sheet [`stream`] reads: known before it starts, or found by a
/// scan running beside it.
enum MergeSource<'m, 'scope> {
    Known(&'m [Dimensions]),
    /// `None` once joined.
    Scan(Option<ScanHandle<'scope>>),
}

type ScanHandle<'scope> = std::thread::ScopedJoinHandle<'scope, Result<Vec<Dimensions>, ImportError>>;

impl MergeSource<'_, '_> {
    /// The regions once they are known (the scan done, or `wait`ed for); `Ok(None)`
    /// while the scan runs. Asked again after giving them, there are none.
    fn regions(&mut self, wait: bool) -> Result<Option<Vec<Dimensions>>, ImportError> {
        match self {
            MergeSource::Known(m) => Ok(Some(std::mem::take(m).to_vec())),
            MergeSource::Scan(scan) => match scan.take_if(|h| wait || h.is_finished()) {
                Some(h) => h
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    .map(Some),
                None if scan.is_some() => Ok(None),
                None => Ok(Some(Vec::new())),
            },
        }
    }

    /// What the scan refused, if it did (waiting for it): it goes before any error of the
    /// read, as when the scan ran first.
    fn scan_error(&mut self) -> Option<ImportError> {
        match self {
            MergeSource::Scan(Some(_)) => self.regions(true).err(),
            _ => None,
        }
    }
}

/// Cells of rows held back while the merged regions are not known yet: a bound on the
/// memory that costs (a few thousand rows of a real register, read while the scan runs).
const MAX_HELD_CELLS: usize = 64 * 1024;

/// Groups a stream of cells (in row order, as all our sources deliver them) into rows and
/// hands them to the builder, with the merged regions' values filled in. Blank cells are
/// dropped before they are buffered. Rows wait (up to [`MAX_HELD_CELLS`]) until `merges`
/// knows the regions.
fn stream<'a>(
    builder: &mut TableBuilder<'_>,
    merges: &mut MergeSource<'_, '_>,
    mut next: impl FnMut() -> Result<Option<Cell<DataRef<'a>>>, ImportError>,
) -> Result<(), ImportError> {
    let mut merge: Option<MergeFill<'a>> = None;
    let mut held: Vec<(u32, Vec<(u32, DataRef<'a>)>)> = Vec::new();
    let mut held_cells = 0;
    let mut row_cells: Vec<(u32, DataRef<'a>)> = Vec::with_capacity(32);
    let mut current: Option<u32> = None;
    let mut sorted = true;
    loop {
        let cell = match next() {
            Ok(cell) => cell,
            Err(e) => return Err(merges.scan_error().unwrap_or(e)),
        };
        let pos = cell.as_ref().map(|c| c.get_position());
        let row_ends = match (pos, current) {
            (Some((r, _)), Some(cur)) => r != cur,
            (None, Some(_)) => true,
            _ => false,
        };
        if row_ends && let Some(cur) = current {
            if !sorted {
                row_cells.sort_by_key(|(c, _)| *c);
            }
            // Until the regions are known a row is held; once they are, the held rows go
            // first. At the end of the cells (whatever the last row held), or with as many
            // cells held as allowed, the read waits for them.
            let last = cell.is_none();
            if merge.is_none() && (last || !row_cells.is_empty()) {
                match merges.regions(last || held_cells >= MAX_HELD_CELLS)? {
                    Some(regions) => {
                        let mut fill = MergeFill::new(&regions);
                        for (r, mut cells) in held.drain(..) {
                            if emit(builder, &mut fill, r, &mut cells)? == Flow::NextSheet {
                                return Ok(());
                            }
                        }
                        merge = Some(fill);
                    }
                    None => {
                        held_cells += row_cells.len();
                        held.push((cur, std::mem::replace(&mut row_cells, Vec::with_capacity(32))));
                    }
                }
            }
            if let Some(fill) = merge.as_mut()
                && !row_cells.is_empty()
                && emit(builder, fill, cur, &mut row_cells)? == Flow::NextSheet
            {
                return Ok(());
            }
        }
        if row_ends {
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

/// One row (`r` 0-based, cells sorted by column) to the builder, with the merged regions'
/// values filled in. Only rows with content of their own get merged values: a row that is
/// blank apart from a merged region's remainder stays blank.
fn emit<'a>(
    builder: &mut TableBuilder<'_>,
    merge: &mut MergeFill<'a>,
    r: u32,
    cells: &mut Vec<(u32, DataRef<'a>)>,
) -> Result<Flow, ImportError> {
    if !merge.is_empty() {
        merge.fill(r, cells);
    }
    builder.count_cells(cells.len() as u64)?;
    builder.row(r.saturating_add(1), cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: [&str; 8] = [
        "Avtalenr",
        "Beskrivelse",
        "Leverandør",
        "Org.nr",
        "Verdi",
        "Startdato",
        "Sluttdato",
        "Enhet",
    ];

    /// A register of `n` contracts as a reader delivers it, cell by cell, then a blank row;
    /// the unit (column H) is written only where a merged region starts (rows 2 and `n - 1`,
    /// 0-based).
    fn cells(n: u32) -> Vec<Cell<DataRef<'static>>> {
        let mut out: Vec<Cell<DataRef<'static>>> = HEADER
            .iter()
            .enumerate()
            .map(|(c, h)| Cell::new((0, c as u32), DataRef::String((*h).to_owned())))
            .collect();
        for r in 1..=n {
            let mut row = vec![
                DataRef::String(format!("K-{r:06}")),
                DataRef::String(format!("Renhold {r}")),
                DataRef::String("Leverandør AS".into()),
                DataRef::String("923609016".into()),
                DataRef::Float(f64::from(10_000 + r)),
                DataRef::String("01.01.2025".into()),
                DataRef::String("31.12.2027".into()),
            ];
            if r == 2 || r == n - 1 {
                row.push(DataRef::String(format!("Enhet {r}")));
            }
            out.extend(
                row.into_iter()
                    .enumerate()
                    .map(|(c, v)| Cell::new((r, c as u32), v)),
            );
        }
        // A last row with a blank cell only (styled, say): no row, but it ends the one before.
        out.push(Cell::new((n + 1, 0), DataRef::Empty));
        out
    }

    /// The unit merged down over rows 2–4 and over the last two rows.
    fn regions(n: u32) -> Vec<Dimensions> {
        vec![
            Dimensions {
                start: (2, 7),
                end: (4, 7),
            },
            Dimensions {
                start: (n - 1, 7),
                end: (n, 7),
            },
        ]
    }

    /// Reads `cells` with `merges`; `at_cell(i)` runs before cell `i` is handed over (and
    /// once more, with the count, at the end).
    fn read(
        cells: Vec<Cell<DataRef<'static>>>,
        merges: &mut MergeSource<'_, '_>,
        mut at_cell: impl FnMut(usize),
    ) -> ParsedRegister {
        let opts = ImportOptions::default();
        let mut progress = |_| {};
        let mut builder = TableBuilder::new(FileFormat::Xlsx, &opts, &mut progress, None);
        builder.start_sheet("Ark1");
        let mut cells = cells.into_iter().enumerate();
        stream(&mut builder, merges, || {
            Ok(match cells.next() {
                Some((i, cell)) => {
                    at_cell(i);
                    Some(cell)
                }
                None => {
                    at_cell(usize::MAX);
                    None
                }
            })
        })
        .unwrap();
        builder.finish().unwrap()
    }

    fn units(parsed: &ParsedRegister) -> Vec<Option<String>> {
        parsed.rows.iter().map(|r| r.unit.clone()).collect()
    }

    /// Rows read while the scan for merged regions still runs are held back and get the
    /// same merged values as when the regions were known from the start: whether the scan
    /// answers after the last cell, or in the middle of the read.
    #[test]
    fn rows_read_before_the_merged_regions_are_known_get_their_values_all_the_same() {
        let n = 200;
        let known = read(cells(n), &mut MergeSource::Known(&regions(n)), |_| {});
        assert_eq!(known.rows.len(), n as usize);
        let expected: Vec<Option<String>> = (1..=n)
            .map(|r| match r {
                2..=4 => Some("Enhet 2".to_owned()),
                r if r >= n - 1 => Some(format!("Enhet {}", n - 1)),
                _ => None,
            })
            .collect();
        assert_eq!(units(&known), expected);

        for answer_at in [usize::MAX, 0, 40, 800] {
            let (answer, asked) = std::sync::mpsc::channel::<()>();
            let parsed = std::thread::scope(|s| {
                let scan = s.spawn(move || {
                    // The scan answers when the read reaches cell `answer_at`.
                    let _ = asked.recv();
                    Ok(regions(n))
                });
                let mut merges = MergeSource::Scan(Some(scan));
                let mut answer = Some(answer);
                read(cells(n), &mut merges, |i| {
                    if i >= answer_at {
                        answer.take();
                    }
                })
            });
            assert_eq!(parsed.rows, known.rows, "scan answering at cell {answer_at}");
        }
    }

    /// A scan that refuses the sheet is the error, also when the read went wrong first.
    #[test]
    fn the_scans_refusal_goes_before_the_reads_error() {
        let refusal = || ImportError::XmlRunTooLong {
            format: FileFormat::Xlsx,
            part: "xl/worksheets/sheet1.xml".into(),
            run: 5_000_000,
        };
        let got = std::thread::scope(|s| {
            let mut merges = MergeSource::Scan(Some(s.spawn(|| Err(refusal()))));
            let opts = ImportOptions::default();
            let mut progress = |_| {};
            let mut builder = TableBuilder::new(FileFormat::Xlsx, &opts, &mut progress, None);
            builder.start_sheet("Ark1");
            stream(&mut builder, &mut merges, || {
                Err(corrupt(FileFormat::Xlsx, "broken XML"))
            })
        });
        assert!(
            matches!(got, Err(ImportError::XmlRunTooLong { run: 5_000_000, .. })),
            "{got:?}"
        );
    }
}
