//! From rows of cells to a register: header search, then one contract per data row.
//!
//! Readers feed rows (sorted by column, 1-based row number as the spreadsheet shows it)
//! into a [`TableBuilder`]. Before the header is found a row is only looked at as header
//! candidate; after it, every non-blank, non-totals row is a data row that is either
//! accepted or rejected with one [`RowError`] per bad cell.

use calamine::DataRef;

use super::cells::{self, CellProblem, display, is_blank};
use super::header::{self, Layout, Role};
use super::seen_ids::SeenIds;
use super::{ContractRow, Field, FileFormat, ImportError, ImportOptions, ParsedRegister, RowError};

/// Rows with content looked at per sheet before giving up on finding a header there, so a
/// large sheet without a table (data dump, notes) is not read to the end.
pub(crate) const HEADER_SCAN_ROWS: u32 = 200;

/// How often the progress callback is called.
const PROGRESS_EVERY: u64 = 1000;

/// Accepted rows handed to a [`RowSink`] at a time: large enough that the receiver's
/// per-chunk work (look-ups, id allocation) is amortised, small enough that a chunk in
/// flight costs well under a megabyte.
pub const STREAM_CHUNK: usize = 1000;

/// Receives accepted rows in file order, [`STREAM_CHUNK`] at a time, while the file is still
/// being read. Returns `false` to stop reading (the receiver failed; it reports why).
pub type RowSink<'s> = dyn FnMut(Vec<ContractRow>) -> bool + 's;

/// What the reader should do after a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    /// No header within [`HEADER_SCAN_ROWS`] rows: skip the rest of this sheet.
    NextSheet,
}

struct Candidate {
    sheet: String,
    row: u32,
    cells: Vec<(u32, String)>,
    known: usize,
}

pub(crate) struct TableBuilder<'a> {
    opts: &'a ImportOptions,
    progress: &'a mut dyn FnMut(u64),
    format: FileFormat,
    sheet: String,
    scanned: u32,
    any_content: bool,
    best: Option<Candidate>,
    layout: Option<Layout>,
    header_row: u32,
    cells_seen: u64,
    rows: Vec<ContractRow>,
    /// When set, accepted rows go here in chunks instead of staying in `rows`, so a large
    /// register is never held in memory whole.
    sink: Option<&'a mut RowSink<'a>>,
    /// The sink asked to stop: the remaining rows are not read.
    stopped: bool,
    errors: Vec<RowError>,
    rows_total: u64,
    rows_rejected: u64,
    /// Contract ids met so far, with their rows.
    seen_ids: SeenIds,
}

impl<'a> TableBuilder<'a> {
    pub(crate) fn new(
        format: FileFormat,
        opts: &'a ImportOptions,
        progress: &'a mut dyn FnMut(u64),
        sink: Option<&'a mut RowSink<'a>>,
    ) -> Self {
        Self {
            opts,
            progress,
            format,
            sheet: String::new(),
            scanned: 0,
            any_content: false,
            best: None,
            layout: None,
            header_row: 0,
            cells_seen: 0,
            rows: Vec::new(),
            sink,
            stopped: false,
            errors: Vec::new(),
            rows_total: 0,
            rows_rejected: 0,
            seen_ids: SeenIds::new(),
        }
    }

    pub(crate) fn start_sheet(&mut self, name: &str) {
        self.sheet.clear();
        self.sheet.push_str(name);
        self.scanned = 0;
    }

    /// True once the header is found: the reader stops looking at further sheets.
    pub(crate) fn found(&self) -> bool {
        self.layout.is_some()
    }

    /// Counts cells against the limit before a reader buffers them.
    pub(crate) fn count_cells(&mut self, n: u64) -> Result<(), ImportError> {
        self.cells_seen += n;
        if self.cells_seen > self.opts.max_cells {
            return Err(ImportError::TooManyCells {
                sheet: self.sheet.clone(),
                limit: self.opts.max_cells,
            });
        }
        Ok(())
    }

    /// One row: `row` is 1-based, `cells` are sorted by (0-based) column and may contain
    /// blank cells.
    pub(crate) fn row(&mut self, row: u32, cells: &[(u32, DataRef<'_>)]) -> Result<Flow, ImportError> {
        if self.layout.is_some() {
            self.data_row(row, cells);
            if self.rows.len() >= STREAM_CHUNK {
                self.flush();
            }
            // The header is found, so ending this sheet ends the read.
            return Ok(if self.stopped {
                Flow::NextSheet
            } else {
                Flow::Continue
            });
        }
        let texts: Vec<(u32, String)> = cells
            .iter()
            .filter(|(_, v)| !is_blank(v))
            .map(|(c, v)| (*c, cells::trim(&display(v)).to_owned()))
            .collect();
        if texts.is_empty() {
            return Ok(Flow::Continue);
        }
        self.any_content = true;
        self.scanned += 1;
        let mapping = self.opts.mapping.as_ref();
        if header::is_header(&texts, mapping) {
            let layout = header::resolve(&texts, mapping);
            if !layout.missing.is_empty() {
                return Err(ImportError::NoTable {
                    sheet: Some(self.sheet.clone()),
                    row: Some(row),
                    missing: layout.missing,
                    headers: layout.names,
                });
            }
            self.layout = Some(layout);
            self.header_row = row;
            return Ok(Flow::Continue);
        }
        let known = header::count_known(&texts);
        if self.best.as_ref().is_none_or(|b| known > b.known) {
            self.best = Some(Candidate {
                sheet: self.sheet.clone(),
                row,
                cells: texts,
                known,
            });
        }
        Ok(if self.scanned >= HEADER_SCAN_ROWS {
            Flow::NextSheet
        } else {
            Flow::Continue
        })
    }

    fn data_row(&mut self, row: u32, cells: &[(u32, DataRef<'_>)]) {
        let Some(layout) = self.layout.as_ref() else {
            return;
        };
        let mut slots: [Option<&DataRef<'_>>; 12] = [None; 12];
        let mut first: Option<&DataRef<'_>> = None;
        let mut has_extras = false;
        for (c, v) in cells {
            if is_blank(v) {
                continue;
            }
            first.get_or_insert(v);
            match layout.roles.get(*c as usize) {
                Some(Role::Field(f)) => slots[f.index()] = Some(v),
                Some(Role::Extra) => has_extras = true,
                _ => {}
            }
        }
        let Some(first) = first else {
            return; // blank row: not data, not counted
        };
        if slots[Field::SupplierName.index()].is_none()
            && slots[Field::OrgNr.index()].is_none()
            && is_totals_label(first)
        {
            return;
        }
        self.rows_total += 1;
        if self.rows_total.is_multiple_of(PROGRESS_EVERY) {
            (self.progress)(self.rows_total);
        }

        const EMPTY: DataRef<'static> = DataRef::Empty;
        let get = |f: Field| slots[f.index()].unwrap_or(&EMPTY);
        let mut problems: Vec<(Field, CellProblem)> = Vec::new();
        let p = &mut problems;

        let contract_id = take(p, Field::ContractId, cells::contract_id(get(Field::ContractId)));
        let title = take(p, Field::Title, cells::text_field(get(Field::Title))).flatten();
        let supplier_name = take(
            p,
            Field::SupplierName,
            cells::text_field(get(Field::SupplierName))
                .and_then(|s| s.ok_or(CellProblem::Missing("leverandørnavnet"))),
        );
        let org = take(p, Field::OrgNr, cells::orgnr(get(Field::OrgNr)));
        let category = take(p, Field::Category, cells::text_field(get(Field::Category))).flatten();
        let cpv = take(p, Field::Cpv, cells::text_field(get(Field::Cpv))).flatten();
        let value_ore = take(p, Field::Value, cells::amount(get(Field::Value))).flatten();
        let start_date = take(p, Field::StartDate, cells::date(get(Field::StartDate), false));
        let end_date = take(p, Field::EndDate, cells::date(get(Field::EndDate), true));
        let unit = take(p, Field::Unit, cells::text_field(get(Field::Unit))).flatten();
        let contract_manager = take(
            p,
            Field::ContractManager,
            cells::text_field(get(Field::ContractManager)),
        )
        .flatten();
        let subcontractor_levels = take(
            p,
            Field::SubcontractorLevels,
            cells::level_count(get(Field::SubcontractorLevels)),
        )
        .flatten();
        if let (Some(Some(s)), Some(Some(e))) = (start_date, end_date)
            && e < s
        {
            problems.push((Field::EndDate, CellProblem::EndBeforeStart { start: s, end: e }));
        }
        if let Some(id) = &contract_id {
            // Every data row with an id claims it, accepted or not: a later row with the same
            // id is a duplicate in the file either way, and the message points at the first.
            if let Some(first_row) = self.seen_ids.first_row_or_insert(id, row) {
                problems.push((Field::ContractId, CellProblem::DuplicateId { first_row }));
            }
        }

        if !problems.is_empty() {
            self.rows_rejected += 1;
            for (f, p) in problems {
                let column = layout
                    .mapping
                    .get(f)
                    .map_or_else(|| f.label_nb().to_owned(), str::to_owned);
                self.errors.push(RowError {
                    sheet: self.sheet.clone(),
                    row,
                    column,
                    value: display(get(f)).into_owned(),
                    message: p.to_string(),
                });
            }
            return;
        }
        let (
            Some(contract_id),
            Some(supplier_name),
            Some((orgnr, orgnr_raw)),
            Some(start_date),
            Some(end_date),
        ) = (contract_id, supplier_name, org, start_date, end_date)
        else {
            // Unreachable: every None above pushed a problem.
            return;
        };
        let mut extras = Vec::new();
        if has_extras {
            for (c, v) in cells {
                if !is_blank(v) && layout.roles.get(*c as usize) == Some(&Role::Extra) {
                    let name = layout.names.get(*c as usize).cloned().unwrap_or_default();
                    extras.push((name, cells::trim(&display(v)).to_owned()));
                }
            }
        }
        self.rows.push(ContractRow {
            row,
            contract_id,
            title,
            supplier_name,
            orgnr,
            orgnr_raw,
            category,
            cpv,
            value_ore,
            start_date,
            end_date,
            unit,
            contract_manager,
            subcontractor_levels,
            extras,
        });
    }

    /// Hands the accepted rows so far to the sink, if there is one.
    fn flush(&mut self) {
        let Some(sink) = self.sink.as_mut() else {
            return;
        };
        if self.stopped || self.rows.is_empty() {
            return;
        }
        let chunk = std::mem::replace(&mut self.rows, Vec::with_capacity(STREAM_CHUNK));
        if !sink(chunk) {
            self.stopped = true;
        }
    }

    pub(crate) fn finish(mut self) -> Result<ParsedRegister, ImportError> {
        self.flush();
        let Some(layout) = self.layout else {
            if !self.any_content {
                return Err(ImportError::Empty);
            }
            return Err(match self.best {
                Some(b) => {
                    let l = header::resolve(&b.cells, self.opts.mapping.as_ref());
                    ImportError::NoTable {
                        sheet: Some(b.sheet),
                        row: Some(b.row),
                        missing: l.missing,
                        headers: l.names,
                    }
                }
                None => ImportError::NoTable {
                    sheet: None,
                    row: None,
                    missing: Field::REQUIRED.to_vec(),
                    headers: Vec::new(),
                },
            });
        };
        (self.progress)(self.rows_total);
        Ok(ParsedRegister {
            format: self.format,
            sheet: self.sheet,
            header_row: self.header_row,
            mapping: layout.mapping,
            headers: layout.names,
            rows: self.rows,
            errors: self.errors,
            rows_total: self.rows_total,
            rows_rejected: self.rows_rejected,
        })
    }
}

/// The value, or `None` after recording the problem.
fn take<T>(problems: &mut Vec<(Field, CellProblem)>, f: Field, r: Result<T, CellProblem>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(p) => {
            problems.push((f, p));
            None
        }
    }
}

/// `Sum`, `Totalt`, `Sum totalt:` … in the first non-empty cell of a row.
fn is_totals_label(v: &DataRef<'_>) -> bool {
    let Some(t) = cells::as_text(v) else {
        return false;
    };
    let n = header::normalize(t);
    let n = n.trim_end_matches([':', '.']);
    matches!(
        n,
        "sum" | "totalt" | "total" | "sumtotalt" | "totalsum" | "sumtotal" | "totaltsum" | "summer"
    )
}
