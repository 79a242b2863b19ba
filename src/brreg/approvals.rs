//! Approval registers loaded from files (docs/sources.md §2): Renholdsregisteret (cleaning),
//! the car-care register (bilpleie, hjulskift, hjullagring) and the staffing-agency
//! register (bemanningsforetak).
//!
//! Each entry keeps the register's own status words (`Godkjent med ansatte`,
//! `Søknad under behandling`, `Ikke godkjent`, …): the rules decide what they mean, and
//! the wording is evidence. [`StatusClass`] offers a coarse reading for convenience.
//!
//! Rejected rows carry a line number and a Norwegian message, for the person who has to
//! fix the file.

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, Read};

use chrono::NaiveDate;
use quick_xml::events::{BytesStart, Event};
use serde::{Deserialize, Serialize};

use crate::domain::orgnr::OrgNr;

/// Which approval register a file belongs to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Register {
    /// Renholdsregisteret (Arbeidstilsynet).
    Renhold,
    /// Register for bilpleie, hjulskift og hjullagring.
    Bilpleie,
    /// Bemanningsforetaksregisteret.
    Bemanning,
}

impl Register {
    pub fn as_str(self) -> &'static str {
        match self {
            Register::Renhold => "renhold",
            Register::Bilpleie => "bilpleie",
            Register::Bemanning => "bemanning",
        }
    }
}

/// One unit's entry in an approval register.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ApprovalEntry {
    pub orgnr: String,
    /// The register's status text, verbatim (trimmed).
    pub status: String,
    pub status_date: Option<NaiveDate>,
    pub name: Option<String>,
    /// Sub-units the register lists under this main unit (Renholdsregisteret's
    /// `Underavdelinger`/`Underenheter`). Only main units are approved; this list helps
    /// match a supplier that invoices from a sub-unit.
    pub subunits: Vec<String>,
    /// Line in the file where the entry starts.
    pub line: u64,
}

impl ApprovalEntry {
    pub fn status_class(&self) -> StatusClass {
        StatusClass::of(&self.status)
    }
}

/// A coarse reading of a status text.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    /// `Godkjent`, `Godkjent med ansatte`, `Godkjent uten ansatte`, `Lovlig – godkjent`.
    Approved,
    /// `Søknad under behandling`, `HMS-kortbestilling under behandling`: legal to buy from
    /// meanwhile (docs/sources.md §2).
    Pending,
    /// `Ikke godkjent`, `Avslått`, `Tilbakekalt`, `Slettet`, `Utgått`.
    NotApproved,
    /// Anything else: a person must read it.
    Other,
}

impl StatusClass {
    pub fn of(status: &str) -> Self {
        let s = status.to_lowercase();
        // Order matters: "ikke godkjent" contains "godkjent".
        if [
            "ikke",
            "avslått",
            "avslag",
            "tilbakekalt",
            "slettet",
            "utgått",
            "opphørt",
        ]
        .iter()
        .any(|w| s.contains(w))
        {
            StatusClass::NotApproved
        } else if s.contains("under behandling") || s.contains("til behandling") {
            StatusClass::Pending
        } else if s.contains("godkjent") || s.contains("registrert") {
            StatusClass::Approved
        } else {
            StatusClass::Other
        }
    }
}

/// A row or entry that was not taken in.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RejectedRow {
    pub line: u64,
    pub message: String,
}

/// The result of reading one approval file.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ApprovalFile {
    pub register: Register,
    /// `renhold-xml-v1` (`ArrayOfRenholdsvirksomhet`), `renhold-xml-v2` (`Hovedenhet`) or
    /// `csv`.
    pub format: String,
    pub entries: Vec<ApprovalEntry>,
    pub rejected: Vec<RejectedRow>,
    /// The date the file says it was produced, when it says so.
    pub file_date: Option<NaiveDate>,
}

/// A file that could not be read at all (as opposed to single rows, which are rejected).
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("kunne ikke lese filen: {0}")]
    Io(#[from] std::io::Error),
    #[error("filen er ikke gyldig XML (linje {line}): {message}")]
    Xml { line: u64, message: String },
    #[error("fant ingen oppføringer fra Renholdsregisteret i filen (ukjent format)")]
    UnknownXmlFormat,
    #[error("filen er tom")]
    Empty,
    #[error("fant ikke kolonnen for {0} i overskriftsraden")]
    MissingColumn(&'static str),
}

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

/// Accepts `yyyy-mm-dd` (optionally with a time part) and `dd.mm.yyyy`.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let day = s.get(..10).unwrap_or(s);
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(day, "%d.%m.%Y"))
        .ok()
}

/// Collects entries and rejections; the first entry for an org number wins and later
/// ones are rejected, since two statuses for one unit cannot both be right.
struct Collector {
    entries: Vec<ApprovalEntry>,
    rejected: Vec<RejectedRow>,
    first_line: HashMap<String, u64>,
}

impl Collector {
    fn new() -> Self {
        Collector {
            entries: Vec::new(),
            rejected: Vec::new(),
            first_line: HashMap::new(),
        }
    }

    fn reject(&mut self, line: u64, message: impl Into<String>) {
        self.rejected.push(RejectedRow {
            line,
            message: message.into(),
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        line: u64,
        orgnr_raw: Option<&str>,
        status: Option<&str>,
        date_raw: Option<&str>,
        name: Option<String>,
        subunits_raw: &[(u64, String)],
    ) {
        let Some(orgnr_raw) = orgnr_raw.map(str::trim).filter(|s| !s.is_empty()) else {
            self.reject(line, "organisasjonsnummer mangler");
            return;
        };
        let orgnr = match OrgNr::parse_lenient(orgnr_raw) {
            Ok(o) => o.as_str().to_owned(),
            Err(e) => {
                self.reject(line, format!("«{orgnr_raw}»: {e}"));
                return;
            }
        };
        let Some(status) = status.map(str::trim).filter(|s| !s.is_empty()) else {
            self.reject(line, format!("{orgnr}: status mangler"));
            return;
        };
        let status_date = match date_raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(d) => match parse_date(d) {
                Some(d) => Some(d),
                None => {
                    self.reject(
                        line,
                        format!("{orgnr}: ugyldig dato «{d}» (bruk åååå-mm-dd eller dd.mm.åååå)"),
                    );
                    return;
                }
            },
        };
        if let Some(first) = self.first_line.get(&orgnr) {
            self.reject(
                line,
                format!("{orgnr}: organisasjonsnummeret står allerede på linje {first}"),
            );
            return;
        }
        let mut subunits = Vec::new();
        for (sub_line, raw) in subunits_raw {
            match OrgNr::parse_lenient(raw) {
                Ok(o) => subunits.push(o.as_str().to_owned()),
                Err(e) => self.reject(*sub_line, format!("underenhet «{raw}» under {orgnr}: {e}")),
            }
        }
        self.first_line.insert(orgnr.clone(), line);
        self.entries.push(ApprovalEntry {
            orgnr,
            status: status.to_owned(),
            status_date,
            name: name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
            subunits,
            line,
        });
    }
}

// ---------------------------------------------------------------------------------------
// Renholdsregisteret XML
// ---------------------------------------------------------------------------------------

/// A `BufRead` that counts the line breaks in what the XML parser has consumed, so that
/// entries and errors can be reported by line while streaming.
struct LineCounter<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    cap: usize,
    newlines: u64,
}

impl<R: Read> LineCounter<R> {
    fn new(inner: R) -> Self {
        LineCounter {
            inner,
            buf: vec![0; 64 * 1024],
            pos: 0,
            cap: 0,
            newlines: 0,
        }
    }
    /// 1-based line of the next unconsumed byte.
    fn line(&self) -> u64 {
        self.newlines + 1
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.pos >= self.cap {
            self.cap = self.inner.read(&mut self.buf)?;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.cap])
    }
    fn consume(&mut self, amt: usize) {
        let end = (self.pos + amt).min(self.cap);
        self.newlines += self.buf[self.pos..end].iter().filter(|b| **b == b'\n').count() as u64;
        self.pos = end;
    }
}

/// Element names are compared without namespace prefix and case-insensitively, with
/// `æøå` folded, since the two schema versions differ in spelling (`Næringskoder`).
fn norm(name: &str) -> String {
    let local = match name.rfind(':') {
        Some(i) => &name[i + 1..],
        None => name,
    };
    local.to_lowercase()
}

const ENTRY_ELEMENTS: [&str; 2] = ["renholdsvirksomhet", "hovedenhet"];
const SUBUNIT_CONTAINERS: [&str; 3] = ["underavdelinger", "underenheter", "avdelinger"];
const STATUS_ELEMENTS: [&str; 2] = ["status", "godkjenningsstatus"];
const STATUS_DATE_ELEMENTS: [&str; 5] = [
    "statusendret",
    "statusdato",
    "godkjenningsdato",
    "godkjentdato",
    "sistendret",
];
/// Where a file may carry its own date: an attribute on the root element or an element
/// outside the entries. The published file's header is not documented (docs/sources.md §9), so
/// several spellings are accepted.
const FILE_DATE_NAMES: [&str; 8] = [
    "generert",
    "dato",
    "opprettet",
    "datotidgenerert",
    "eksportdato",
    "uttrekksdato",
    "tidspunkt",
    "sistoppdatert",
];

#[derive(Default)]
struct XmlEntry {
    line: u64,
    orgnr: Option<String>,
    name: Option<String>,
    status: Option<String>,
    status_date: Option<String>,
    subunits: Vec<(u64, String)>,
}

/// Reads the Renholdsregisteret XML, streaming, in either schema version:
/// v1 `ArrayOfRenholdsvirksomhet/Renholdsvirksomhet{Organisasjonsnummer, Navn, Status,
/// Underavdelinger/Avdeling{Organisasjonsnummer}}` or v2
/// `…/Hovedenhet{Organisasjonsnummer, Navn, Godkjenningsstatus, Underenheter/Avdeling{…}}`.
/// Unknown elements are ignored, so added fields do not break the import.
pub fn read_renhold_xml<R: BufRead>(r: R) -> Result<ApprovalFile, ApprovalError> {
    let mut reader = quick_xml::Reader::from_reader(LineCounter::new(r));
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut current: Option<(usize, XmlEntry)> = None;
    let mut pending_sub: Option<(u64, Option<String>)> = None;
    let mut collector = Collector::new();
    let mut format: Option<&'static str> = None;
    let mut file_date: Option<NaiveDate> = None;
    let mut saw_root = false;

    loop {
        let line_before = reader.get_ref().line();
        let event = reader.read_event_into(&mut buf).map_err(|e| ApprovalError::Xml {
            line: reader.get_ref().line(),
            message: e.to_string(),
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                let name = norm(e.name().as_ref());
                if !saw_root {
                    saw_root = true;
                    file_date = file_date.or_else(|| date_attribute(e));
                }
                text.clear();
                if current.is_none() && ENTRY_ELEMENTS.contains(&name.as_str()) {
                    format = format.or(Some(if name == "hovedenhet" {
                        "renhold-xml-v2"
                    } else {
                        "renhold-xml-v1"
                    }));
                    // The start tag ends on the line counted so far; a multi-line tag is
                    // attributed to its last line, which is close enough for a person.
                    let entry = XmlEntry {
                        line: reader.get_ref().line().max(line_before),
                        ..XmlEntry::default()
                    };
                    if is_empty {
                        collector.reject(entry.line, "tom oppføring uten organisasjonsnummer");
                    } else {
                        current = Some((path.len(), entry));
                    }
                } else if let Some((depth, _)) = &current {
                    let rel = path.len() - depth;
                    // Inside a sub-unit container: each child element is one sub-unit.
                    if rel == 2
                        && path
                            .get(depth + 1)
                            .is_some_and(|c| SUBUNIT_CONTAINERS.contains(&c.as_str()))
                        && !is_empty
                    {
                        pending_sub = Some((reader.get_ref().line(), None));
                    }
                }
                if !is_empty {
                    path.push(name);
                }
            }
            Event::Text(ref t) => text.push_str(&t.xml10_content()),
            Event::CData(ref t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(ref r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    Ok(None) => match &**r {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                    Err(_) => None,
                };
                match resolved {
                    Some(c) => text.push(c),
                    None => {
                        // Unknown entity: keep it visible rather than silently dropping it.
                        text.push('&');
                        text.push_str(r);
                        text.push(';');
                    }
                }
            }
            Event::End(_) => {
                let Some(name) = path.pop() else { continue };
                let value = text.trim().to_owned();
                text.clear();
                match &mut current {
                    Some((depth, entry)) if path.len() == *depth => {
                        // The entry element itself closed.
                        let entry = std::mem::take(entry);
                        collector.add(
                            entry.line,
                            entry.orgnr.as_deref(),
                            entry.status.as_deref(),
                            entry.status_date.as_deref(),
                            entry.name,
                            &entry.subunits,
                        );
                        current = None;
                    }
                    Some((depth, entry)) => {
                        let rel = path.len() - *depth;
                        if rel == 1 {
                            // Direct child of the entry.
                            let v = (!value.is_empty()).then_some(value);
                            match name.as_str() {
                                "organisasjonsnummer" => entry.orgnr = v,
                                "navn" => entry.name = v,
                                n if STATUS_ELEMENTS.contains(&n) => entry.status = v,
                                n if STATUS_DATE_ELEMENTS.contains(&n) => entry.status_date = v,
                                _ => {}
                            }
                        } else if rel == 3 && name == "organisasjonsnummer" {
                            if let Some((_, sub)) = &mut pending_sub {
                                *sub = (!value.is_empty()).then_some(value);
                            }
                        } else if rel == 2
                            && let Some((line, Some(sub))) = pending_sub.take()
                        {
                            entry.subunits.push((line, sub));
                        }
                    }
                    None => {
                        if FILE_DATE_NAMES.contains(&name.as_str()) {
                            file_date = file_date.or_else(|| parse_date(&value));
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }

    if !saw_root {
        return Err(ApprovalError::Empty);
    }
    let Some(format) = format else {
        return Err(ApprovalError::UnknownXmlFormat);
    };
    Ok(ApprovalFile {
        register: Register::Renhold,
        format: format.to_owned(),
        entries: collector.entries,
        rejected: collector.rejected,
        file_date,
    })
}

fn date_attribute(e: &BytesStart) -> Option<NaiveDate> {
    e.attributes().flatten().find_map(|a| {
        let key = norm(a.key.as_ref());
        if FILE_DATE_NAMES.contains(&key.as_str()) {
            parse_date(&a.value)
        } else {
            None
        }
    })
}

// ---------------------------------------------------------------------------------------
// CSV (any register)
// ---------------------------------------------------------------------------------------

/// Reads a simple CSV for any of the three registers: `orgnr;status;date` (optionally a
/// fourth column with the name), with or without a header row. With a header row the
/// columns are found by name (`orgnr`/`organisasjonsnummer`, `status`/`godkjenningsstatus`,
/// `dato`/`statusdato`/`date`, `navn`/`name`) and may come in any order.
///
/// `;` is the expected separator (a Norwegian Excel export); `,` and tab are recognised
/// from the first line. Files that are not UTF-8 are read as Windows-1252/Latin-1, which is
/// what Excel writes here. Empty lines are skipped.
pub fn read_csv<R: Read>(register: Register, mut r: R) -> Result<ApprovalFile, ApprovalError> {
    // Read whole: these files are small (thousands of rows), and the encoding can only be
    // decided once all bytes are seen.
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)?;
    let text = decode_text(&bytes);
    // The csv crate reports a CRLF file's record lines one too low (the `\n` of the
    // previous terminator is counted only when the next record is read); LF only is exact.
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    let text = text.as_str();
    if text.trim().is_empty() {
        return Err(ApprovalError::Empty);
    }
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = [b';', b'\t', b',']
        .into_iter()
        .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
        .filter(|d| first_line.bytes().any(|b| b == *d))
        .unwrap_or(b';');

    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut collector = Collector::new();
    let mut columns = ColumnMap::positional();
    let mut first = true;
    let mut rec = csv::StringRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let line = rec.position().map_or(line, |p| record_line(text, p));
                if rec.iter().all(|f| f.trim().is_empty()) {
                    continue;
                }
                if first {
                    first = false;
                    if let Some(map) = ColumnMap::from_header(&rec)? {
                        columns = map;
                        continue;
                    }
                }
                let get = |i: Option<usize>| i.and_then(|i| rec.get(i));
                collector.add(
                    line,
                    get(Some(columns.orgnr)),
                    get(Some(columns.status)),
                    get(columns.date),
                    get(columns.name).map(str::to_owned),
                    &[],
                );
            }
            Err(e) => {
                collector.reject(line, format!("kunne ikke lese raden: {e}"));
            }
        }
    }
    Ok(ApprovalFile {
        register,
        format: "csv".to_owned(),
        entries: collector.entries,
        rejected: collector.rejected,
        file_date: None,
    })
}

/// The line a record starts on. The csv crate positions a record where reading began,
/// which is before any blank lines it skipped; step over those.
fn record_line(text: &str, pos: &csv::Position) -> u64 {
    let start = usize::try_from(pos.byte()).unwrap_or(usize::MAX);
    let skipped = text
        .get(start..)
        .unwrap_or("")
        .bytes()
        .take_while(|b| *b == b'\n' || *b == b'\r')
        .filter(|b| *b == b'\n')
        .count();
    pos.line() + skipped as u64
}

struct ColumnMap {
    orgnr: usize,
    status: usize,
    date: Option<usize>,
    name: Option<usize>,
}

impl ColumnMap {
    fn positional() -> Self {
        ColumnMap {
            orgnr: 0,
            status: 1,
            date: Some(2),
            name: Some(3),
        }
    }

    /// `Ok(None)` when the first row is data, not a header.
    fn from_header(rec: &csv::StringRecord) -> Result<Option<Self>, ApprovalError> {
        let names: Vec<String> = rec.iter().map(|h| h.trim().to_lowercase()).collect();
        let find = |cands: &[&str]| names.iter().position(|n| cands.contains(&n.as_str()));
        let orgnr = find(&["orgnr", "org.nr", "org nr", "organisasjonsnummer", "org.nr."]);
        let status = find(&["status", "godkjenningsstatus", "registerstatus", "statustekst"]);
        let date = find(&["dato", "date", "statusdato", "statusendret", "godkjenningsdato"]);
        let name = find(&["navn", "name", "virksomhet", "firmanavn"]);
        // Only known column names make a header: an unknown first row is read as data,
        // so a bad value there is reported as a rejected row rather than lost.
        if orgnr.is_none() && status.is_none() {
            return Ok(None);
        }
        let orgnr = orgnr.ok_or(ApprovalError::MissingColumn("organisasjonsnummer"))?;
        let status = status.ok_or(ApprovalError::MissingColumn("status"))?;
        Ok(Some(ColumnMap {
            orgnr,
            status,
            date,
            name,
        }))
    }
}

/// UTF-8 when valid; otherwise Windows-1252 (ISO-8859-1 plus the 0x80–0x9F printables).
fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| cp1252(b)).collect(),
    }
}

fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
        '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9f => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

impl fmt::Display for Register {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
