//! Spreadsheet import of municipal contract registers (pure part: no database, no web).
//!
//! [`read_register`] takes the bytes of an uploaded file and returns the accepted contract
//! rows and a report of rejected rows, or a file-level [`ImportError`]. Format is detected
//! from the bytes ([`detect`]); xlsx/xlsm/xlsb are streamed cell by cell so a sheet's
//! declared extent never allocates; xls/ods go through calamine ranges, after a scan of the
//! file that refuses a workbook whose grids would not fit in memory (`extent`, `xls_scan`,
//! `ods_scan`); csv through the `csv` crate after encoding and separator detection.
//!
//! Conventions the caller should know:
//! * Row numbers are 1-based as a spreadsheet program shows them (title rows included).
//!   For csv they are 1-based record numbers, where a blank line counts as a record (as
//!   Excel shows it) and a quoted line break does not start a new one.
//! * For csv, [`ParsedRegister::sheet`] is the file stem (`register.csv` → `register`),
//!   the name Excel gives the single sheet when it opens the file.
//! * All messages (`RowError::message`, `ImportError`'s `Display`) are Norwegian bokmål.

mod cells;
mod csv;
pub mod detect;
mod extent;
mod header;
mod merges;
mod ods_scan;
mod rows;
mod seen_ids;
mod sheet;
mod source;
mod xls_scan;
mod xlsx;

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::orgnr::OrgNr;

pub use cells::{CellProblem, MAX_VALUE_ORE, amount_text, date_text, float_to_ore, format_amount_nb};
pub use header::{known_field, normalize as normalize_header};
pub use rows::{RowSink, STREAM_CHUNK};
pub use source::{DiskFile, OpenedRegister, RegisterFile};

/// The fields of a contract row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    ContractId,
    Title,
    SupplierName,
    #[serde(rename = "orgnr")]
    OrgNr,
    Category,
    Cpv,
    Value,
    StartDate,
    EndDate,
    Unit,
    ContractManager,
    SubcontractorLevels,
}

impl Field {
    pub const ALL: [Field; 12] = [
        Field::ContractId,
        Field::Title,
        Field::SupplierName,
        Field::OrgNr,
        Field::Category,
        Field::Cpv,
        Field::Value,
        Field::StartDate,
        Field::EndDate,
        Field::Unit,
        Field::ContractManager,
        Field::SubcontractorLevels,
    ];

    /// A row cannot be imported without these.
    pub const REQUIRED: [Field; 3] = [Field::ContractId, Field::SupplierName, Field::OrgNr];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::ContractId => "contract_id",
            Field::Title => "title",
            Field::SupplierName => "supplier_name",
            Field::OrgNr => "orgnr",
            Field::Category => "category",
            Field::Cpv => "cpv",
            Field::Value => "value",
            Field::StartDate => "start_date",
            Field::EndDate => "end_date",
            Field::Unit => "unit",
            Field::ContractManager => "contract_manager",
            Field::SubcontractorLevels => "subcontractor_levels",
        }
    }

    /// Norwegian name for messages, with the header we suggest.
    pub fn label_nb(self) -> &'static str {
        match self {
            Field::ContractId => "avtalenummer (Avtalenr)",
            Field::Title => "avtalenavn (Avtalenavn)",
            Field::SupplierName => "leverandør (Leverandør)",
            Field::OrgNr => "organisasjonsnummer (Org.nr)",
            Field::Category => "kategori (Kategori)",
            Field::Cpv => "CPV-kode (CPV)",
            Field::Value => "kontraktsverdi eks. mva. (Kontraktsverdi)",
            Field::StartDate => "startdato (Startdato)",
            Field::EndDate => "sluttdato (Sluttdato)",
            Field::Unit => "enhet (Enhet)",
            Field::ContractManager => "avtaleforvalter (Avtaleforvalter)",
            Field::SubcontractorLevels => "antall underleverandørledd (Antall ledd)",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Field {
    type Err = ImportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Field::ALL
            .iter()
            .copied()
            .find(|f| f.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| {
                ImportError::InvalidMapping(format!(
                    "ukjent felt «{t}»; gyldige felt er {}",
                    Field::ALL.map(Field::as_str).join(", ")
                ))
            })
    }
}

/// Which header (as written in the file) holds which field. Serialises as a JSON object,
/// `{"supplier_name":"Firma","orgnr":"Org nummer"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ColumnMapping(BTreeMap<Field, String>);

impl ColumnMapping {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `"supplier_name=Firma;orgnr=Org nummer"`. Pairs are separated by `;` or `,`;
    /// a `,` that is not followed by `field=` belongs to the header (`Verdi, eks. mva`).
    pub fn parse_spec(s: &str) -> Result<Self, ImportError> {
        let mut pairs: Vec<String> = Vec::new();
        for part in s.split([';', ',']) {
            let starts_pair = part
                .split_once('=')
                .is_some_and(|(k, _)| Field::from_str(k).is_ok());
            match pairs.last_mut() {
                Some(last) if !starts_pair => {
                    // Re-join a header that contained the separator. We cannot know which
                    // one it was; a comma is the only one that occurs in real headers.
                    last.push(',');
                    last.push_str(part);
                }
                _ => pairs.push(part.to_owned()),
            }
        }
        let mut m = ColumnMapping::new();
        for p in pairs {
            if p.trim().is_empty() {
                continue;
            }
            let Some((k, v)) = p.split_once('=') else {
                return Err(ImportError::InvalidMapping(format!(
                    "«{}» mangler «=»; skriv felt=Overskrift, f.eks. supplier_name=Firma",
                    p.trim()
                )));
            };
            let field = Field::from_str(k)?;
            let header = v.trim();
            if header.is_empty() {
                return Err(ImportError::InvalidMapping(format!(
                    "feltet {field} mangler overskrift"
                )));
            }
            if m.0.insert(field, header.to_owned()).is_some() {
                return Err(ImportError::InvalidMapping(format!(
                    "feltet {field} er oppgitt to ganger"
                )));
            }
        }
        Ok(m)
    }

    /// Parses either form people give: a JSON object (`{"orgnr": "Org nummer"}`) or the
    /// [`parse_spec`](Self::parse_spec) text.
    pub fn parse_any(s: &str) -> Result<Self, ImportError> {
        if s.trim_start().starts_with('{') {
            serde_json::from_str(s).map_err(|e| ImportError::InvalidMapping(e.to_string()))
        } else {
            Self::parse_spec(s)
        }
    }

    pub fn insert(&mut self, field: Field, header: impl Into<String>) {
        self.0.insert(field, header.into());
    }

    pub fn get(&self, field: Field) -> Option<&str> {
        self.0.get(&field).map(String::as_str)
    }

    pub fn contains(&self, field: Field) -> bool {
        self.0.contains_key(&field)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Field, &str)> {
        self.0.iter().map(|(f, h)| (*f, h.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The spec form, `contract_id=Avtalenr;supplier_name=Leverandør`.
impl fmt::Display for ColumnMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (field, h)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{field}={h}")?;
        }
        Ok(())
    }
}

/// Default upload limit: 50 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 50 * 1024 * 1024;
/// Default limit on cells with content read from one sheet (≈ 1.5 M rows × 13 columns).
pub const DEFAULT_MAX_CELLS: u64 = 20_000_000;
/// Default limit on the memory calamine may need to load an xls or ods workbook (it loads
/// them whole, as dense grids): 256 MiB, so an import stays well under 512 MB.
pub const DEFAULT_MAX_GRID_BYTES: u64 = 256 * 1024 * 1024;
/// Default limit on the declared inflated size of a zip-based file (all entries together).
pub const DEFAULT_MAX_INFLATED_BYTES: u64 = 1024 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Read this sheet only (name as in the workbook; compared exactly, then ignoring case).
    pub sheet: Option<String>,
    /// Explicit header → field mapping; fields it does not name are still auto-detected.
    pub mapping: Option<ColumnMapping>,
    /// Largest file accepted, in bytes.
    pub max_bytes: u64,
    /// Most cells with content read from the sheets of one file.
    pub max_cells: u64,
    /// Largest total inflated size of the zip entries of an xlsx/xlsm/xlsb/ods file. The
    /// parts the readers hold in memory (shared strings, styles, the whole ods content) are
    /// limited to a quarter of this.
    pub max_inflated_bytes: u64,
    /// Most memory, in bytes, calamine may need for the grids of an xls or ods workbook,
    /// estimated from the file before calamine opens it. A sheet with one value far out
    /// (IV65536) spans a grid of millions of cells; such a file is refused.
    pub max_grid_bytes: u64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            sheet: None,
            mapping: None,
            max_bytes: DEFAULT_MAX_BYTES,
            max_cells: DEFAULT_MAX_CELLS,
            max_inflated_bytes: DEFAULT_MAX_INFLATED_BYTES,
            max_grid_bytes: DEFAULT_MAX_GRID_BYTES,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Xlsx,
    Xlsm,
    Xls,
    Xlsb,
    Ods,
    Csv,
}

impl FileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Xlsx => "xlsx",
            FileFormat::Xlsm => "xlsm",
            FileFormat::Xls => "xls",
            FileFormat::Xlsb => "xlsb",
            FileFormat::Ods => "ods",
            FileFormat::Csv => "csv",
        }
    }
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRegister {
    pub format: FileFormat,
    /// Sheet the table was read from; for csv the file stem.
    pub sheet: String,
    /// 1-based row of the header.
    pub header_row: u32,
    /// The mapping actually used (detected or given), header text as written in the file.
    pub mapping: ColumnMapping,
    /// The header row as written (trimmed), one entry per column from A; "" where empty.
    pub headers: Vec<String>,
    /// Accepted rows in file order; empty after [`read_register_streamed`], which hands
    /// them to its sink instead.
    pub rows: Vec<ContractRow>,
    /// Problems of rejected rows in file order (one or more per rejected row).
    pub errors: Vec<RowError>,
    /// Data rows (not blank, not a totals row): `rows.len() + rows_rejected`.
    pub rows_total: u64,
    pub rows_rejected: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContractRow {
    pub row: u32,
    pub contract_id: String,
    pub title: Option<String>,
    pub supplier_name: String,
    pub orgnr: OrgNr,
    /// The org number as written (number cells as integers, zero-padded to 9 digits).
    pub orgnr_raw: String,
    pub category: Option<String>,
    pub cpv: Option<String>,
    /// Contract value ex. VAT in øre.
    pub value_ore: Option<i64>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub unit: Option<String>,
    pub contract_manager: Option<String>,
    pub subcontractor_levels: Option<i32>,
    /// (header, cell as text) for unknown columns, in column order; empty cells omitted.
    pub extras: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowError {
    pub sheet: String,
    pub row: u32,
    /// Column header as written in the file.
    pub column: String,
    /// The cell as text (numbers without `.0`, dates ISO).
    pub value: String,
    /// Norwegian, says what to fix.
    pub message: String,
}

/// File-level failure. `Display` is Norwegian and says what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    #[error(
        "Filen er for stor ({} MB); største tillatte størrelse er {} MB. Del registeret i flere filer, \
         eller fjern ark og kolonner som ikke trengs.",
        mb(*size),
        mb(*limit)
    )]
    TooLarge { size: u64, limit: u64 },
    /// A pipe (or anything but a regular file) that gave more than the limit: its size is
    /// not known, since it was not read to its end.
    #[error(
        "Filen er større enn største tillatte størrelse, {} MB. Del registeret i flere filer, \
         eller fjern ark og kolonner som ikke trengs.",
        mb(*limit)
    )]
    StreamTooLarge { limit: u64 },
    #[error(
        "Filen pakker seg ut til mer enn {} MB (delen «{entry}» alene er {} MB). Den er enten skadet \
         eller laget for å overbelaste systemet (zip-bombe), og blir ikke lest. Åpne registeret i \
         Excel og lagre det på nytt som .xlsx.",
        mb(*limit),
        mb(*entry_size)
    )]
    ZipBomb {
        entry: String,
        entry_size: u64,
        limit: u64,
    },
    #[error(
        "Filen ser ut som en {format}-fil, men delen «{part}» har {} MB uten et eneste skilletegn \
         (tomrom eller tekst mellom to XML-merker; Excel skriver aldri mer enn noen hundre kB). Den er \
         enten skadet eller laget for å overbelaste systemet, og blir ikke lest. Åpne registeret i \
         Excel eller LibreOffice, lagre det på nytt som .xlsx og last det opp igjen.",
        mb(*run)
    )]
    XmlRunTooLong {
        format: FileFormat,
        part: String,
        run: u64,
    },
    #[error("Arket «{sheet}» har flere enn {limit} celler med innhold. Del registeret i flere filer.")]
    TooManyCells { sheet: String, limit: u64 },
    #[error(
        "Arket «{sheet}» strekker seg over {} rader × {} kolonner ({range}). Et {format}-ark leses \
         inn i minnet i sin helhet, og denne filen ville kreve om lag {} MB (grensen er {} MB). \
         Slett innholdet i cellene langt utenfor tabellen (Ctrl+End viser den siste cellen som er i \
         bruk), eller lagre filen som .xlsx, og last den opp på nytt.",
        extent::thousands(*rows),
        extent::thousands(*cols),
        mb(*needed),
        mb(*limit)
    )]
    SheetTooLarge {
        format: FileFormat,
        sheet: String,
        /// Extent of the sheet's cells (the grid calamine would build).
        rows: u64,
        cols: u64,
        /// The same extent as an A1 range, `A1:IV65536`.
        range: String,
        /// Estimated bytes for the whole workbook, and the limit (`max_grid_bytes`).
        needed: u64,
        limit: u64,
    },
    #[error("Filen er tom: den har ingen celler med innhold. Sjekk at du lastet opp riktig fil.")]
    Empty,
    #[error(
        "Filen er ikke et regneark, men {what}. Åpne registeret i Excel eller LibreOffice, lagre det \
         som Excel-arbeidsbok (.xlsx) og last det opp på nytt."
    )]
    NotSpreadsheet { what: String },
    #[error(
        "Filen er passordbeskyttet (kryptert) og kan ikke leses. Åpne den i Excel, fjern passordet \
         (Fil → Info → Beskytt arbeidsbok → Krypter med passord, tøm feltet), lagre og last opp på nytt."
    )]
    Encrypted,
    #[error(
        "Filen ser ut som en {format}-fil, men er skadet eller ufullstendig og kan ikke leses ({detail}). \
         Last den opp på nytt, eller åpne den i Excel eller LibreOffice og lagre den på nytt som .xlsx."
    )]
    Corrupt { format: FileFormat, detail: String },
    #[error("Fant ikke arket «{name}». Arkene i filen er: {}.", quote_list(available))]
    SheetNotFound { name: String, available: Vec<String> },
    #[error("{}", no_table_message(sheet.as_deref(), *row, missing, headers))]
    NoTable {
        /// Sheet and row of the header row used, or of the row that came closest.
        sheet: Option<String>,
        row: Option<u32>,
        /// Required fields with no column.
        missing: Vec<Field>,
        /// The headers seen in that row, as written.
        headers: Vec<String>,
    },
    #[error("Ugyldig kolonnetilordning: {0}")]
    InvalidMapping(String),
    #[error("Kunne ikke lese filen: {0}")]
    Io(String),
}

fn mb(bytes: u64) -> String {
    let v = bytes as f64 / (1024.0 * 1024.0);
    if v >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}").replace('.', ",")
    }
}

fn quote_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("«{s}»"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn no_table_message(sheet: Option<&str>, row: Option<u32>, missing: &[Field], headers: &[String]) -> String {
    let missing_txt = missing
        .iter()
        .map(|f| f.label_nb())
        .collect::<Vec<_>>()
        .join(", ");
    let seen: Vec<String> = headers.iter().filter(|h| !h.trim().is_empty()).cloned().collect();
    let mut m = format!("Fant ingen kontrakttabell: mangler kolonne for {missing_txt}.");
    match (sheet, row) {
        (Some(s), Some(r)) if !seen.is_empty() => {
            m.push_str(&format!(
                " Overskrifter i ark «{s}», rad {r}: {}.",
                quote_list(&seen)
            ));
        }
        _ => m.push_str(" Fant ingen rad med kjente kolonneoverskrifter."),
    }
    m.push_str(
        " Gi kolonnene overskrifter som Avtalenr, Leverandør, Org.nr, Kontraktsverdi, Startdato og \
         Sluttdato, eller oppgi hvilke overskrifter som betyr hva \
         (f.eks. contract_id=Nummer;supplier_name=Firma;orgnr=Org nummer).",
    );
    m
}

/// Reads a contract register from uploaded bytes. `file_name` is only a hint (for csv the
/// sheet name is its stem); the format is detected from the bytes. `progress` is called with
/// the number of data rows seen so far, every 1 000 rows and at the end.
pub fn read_register(
    file_name: &str,
    bytes: &[u8],
    opts: &ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ParsedRegister, ImportError> {
    read(file_name, RegisterFile::Bytes(bytes), opts, progress, None)
}

/// [`read_register`] of a register in memory or on disk, handing the accepted rows to `sink`
/// in file order, [`STREAM_CHUNK`] at a time, as they are read: a caller that stores them
/// while the file is still being parsed never holds the whole register in memory (nor, for a
/// zip-based workbook on disk, the file). The returned register has everything but the rows
/// (the errors, counts, sheet, mapping). When `sink` returns `false` the read stops early and
/// the result is incomplete; the sink's owner knows why.
pub fn read_register_streamed(
    file_name: &str,
    file: RegisterFile<'_>,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(u64),
    sink: &mut RowSink<'_>,
) -> Result<ParsedRegister, ImportError> {
    read(file_name, file, opts, progress, Some(sink))
}

/// [`read_register`] of a register in memory or on disk.
pub fn read_register_file(
    file_name: &str,
    file: RegisterFile<'_>,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ParsedRegister, ImportError> {
    read(file_name, file, opts, progress, None)
}

fn read<'a>(
    file_name: &str,
    file: RegisterFile<'_>,
    opts: &'a ImportOptions,
    progress: &'a mut dyn FnMut(u64),
    sink: Option<&'a mut RowSink<'a>>,
) -> Result<ParsedRegister, ImportError> {
    if file.len() > opts.max_bytes {
        return Err(ImportError::TooLarge {
            size: file.len(),
            limit: opts.max_bytes,
        });
    }
    // Only a zip-based workbook is read from disk part by part; anything else is read into
    // memory, as calamine and the csv reader read it whole anyway.
    let loaded;
    let file = match file {
        RegisterFile::Disk(_) if !detect::is_zip(&file.head(4)?) => {
            loaded = file.load()?;
            RegisterFile::Bytes(&loaded)
        }
        file => file,
    };
    let format = detect::detect(file_name, file)?;
    // calamine is a parser of untrusted input; a panic inside it (an index out of range on a
    // crafted record) must become "corrupt file", not a crashed worker.
    let result = catch_unwind(AssertUnwindSafe(|| match format {
        FileFormat::Csv => csv::read(file_name, &file.load()?, opts, progress, sink),
        _ => {
            detect::check_zip_inflation(format, file, opts.max_inflated_bytes)?;
            sheet::read(format, file, opts, progress, sink)
        }
    }));
    let parsed = match result {
        Ok(r) => r,
        Err(_) => Err(ImportError::Corrupt {
            format,
            detail: "leseren stoppet på ugyldige data".into(),
        }),
    }?;
    file.unchanged()?;
    Ok(parsed)
}

/// Reads a contract register from a file, checking its size before reading it; a zip-based
/// workbook in a regular file is read part by part, never held in memory whole.
pub fn read_register_path(
    path: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ParsedRegister, ImportError> {
    let opened = OpenedRegister::open(path, opts.max_bytes)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    read_register_file(&name, opened.file(), opts, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_round_trip() {
        for f in Field::ALL {
            assert_eq!(f.as_str().parse::<Field>(), Ok(f));
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{}\"", f.as_str()));
        }
        assert!("leverandor".parse::<Field>().is_err());
    }

    #[test]
    fn mapping_spec_and_json() {
        let m = ColumnMapping::parse_spec("supplier_name=Firma; orgnr = Org nummer").unwrap();
        assert_eq!(m.get(Field::SupplierName), Some("Firma"));
        assert_eq!(m.get(Field::OrgNr), Some("Org nummer"));
        let m2 = ColumnMapping::parse_spec("supplier_name=Firma,orgnr=Org nummer").unwrap();
        assert_eq!(m, m2);
        let m3 = ColumnMapping::parse_spec("value=Verdi, eks. mva,orgnr=Org").unwrap();
        assert_eq!(m3.get(Field::Value), Some("Verdi, eks. mva"));
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"supplier_name":"Firma","orgnr":"Org nummer"}"#);
        let back: ColumnMapping = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert_eq!(m.to_string(), "supplier_name=Firma;orgnr=Org nummer");
        assert!(ColumnMapping::parse_spec("leverandør=Firma").is_err());
        assert!(ColumnMapping::parse_spec("orgnr=").is_err());
        assert!(ColumnMapping::parse_spec("orgnr=A;orgnr=B").is_err());
    }
}
