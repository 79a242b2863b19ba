//! Offline enrichment from the register's bulk downloads (docs/sources.md §1.7).
//!
//! The full main-unit file holds ~1.5 million units, so both readers stream: one unit is
//! parsed, filtered, mapped and handed to the callback at a time, and memory stays flat in
//! the size of the file. The callback lets the caller write to the database in batches.
//!
//! Both readers accept the gzip file as downloaded or an already unpacked file: they look
//! at the first two bytes (the gzip magic number) to decide.

use std::collections::HashSet;
use std::fmt;
use std::io::{BufRead, BufReader, Read};

use flate2::read::MultiGzDecoder;
use serde::de::{self, DeserializeSeed, Deserializer as _, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::facts::{RawAddress, RawCode, RawUnit, UnitFacts, parse_flag};

/// At most this many rejected units are described in [`BulkStats::rejects`]; the count
/// goes on, so a broken file does not fill memory with messages.
pub const MAX_REJECT_DETAILS: usize = 100;

/// Summary of one bulk read.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct BulkStats {
    /// Units (array elements or CSV rows) read from the file.
    pub read: u64,
    /// Units handed to the callback.
    pub delivered: u64,
    /// Units skipped because they were not in `only`.
    pub skipped: u64,
    /// Units that could not be mapped (missing or invalid org number, bad CSV row).
    pub rejected: u64,
    /// The first [`MAX_REJECT_DETAILS`] rejections.
    pub rejects: Vec<BulkReject>,
    /// When `only` was given: the requested org numbers the file did not contain, sorted.
    pub not_found: Vec<String>,
}

/// One rejected unit: its position (1-based element number for JSON, line for CSV), the
/// org number if one could be read, and a Norwegian message.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BulkReject {
    pub position: u64,
    pub orgnr: Option<String>,
    pub message: String,
}

/// A failed bulk read. `E` is the callback's error type.
#[derive(Debug, thiserror::Error)]
pub enum BulkError<E: fmt::Display + fmt::Debug> {
    #[error("kunne ikke lese filen: {0}")]
    Io(#[from] std::io::Error),
    #[error("filen er ikke gyldig JSON fra Enhetsregisteret: {0}")]
    Json(String),
    #[error("filen er ikke en gyldig CSV fra Enhetsregisteret: {0}")]
    Csv(String),
    /// The callback failed; reading stopped at that unit.
    #[error("lagring av enhet {orgnr} feilet: {error}")]
    Callback { orgnr: String, error: E },
}

/// The input as plain bytes: gzip is recognised by its magic bytes and unpacked on the fly.
enum Input<R: Read> {
    Plain(BufReader<R>),
    // Multi-member aware: a file re-compressed by other tools may have several members.
    Gz(Box<BufReader<MultiGzDecoder<BufReader<R>>>>),
}

const BUF_SIZE: usize = 256 * 1024;

impl<R: Read> Input<R> {
    fn open(r: R) -> std::io::Result<Self> {
        let mut buffered = BufReader::with_capacity(BUF_SIZE, r);
        let head = buffered.fill_buf()?;
        if head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b {
            Ok(Input::Gz(Box::new(BufReader::with_capacity(
                BUF_SIZE,
                MultiGzDecoder::new(buffered),
            ))))
        } else {
            Ok(Input::Plain(buffered))
        }
    }
}

impl<R: Read> Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Input::Plain(r) => r.read(buf),
            Input::Gz(r) => r.read(buf),
        }
    }
}

impl<R: Read> BufRead for Input<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        match self {
            Input::Plain(r) => r.fill_buf(),
            Input::Gz(r) => r.fill_buf(),
        }
    }
    fn consume(&mut self, amt: usize) {
        match self {
            Input::Plain(r) => r.consume(amt),
            Input::Gz(r) => r.consume(amt),
        }
    }
}

/// Tracks the filter, counts and rejections; shared by the JSON and CSV readers.
struct Sink<'a, E> {
    only: Option<&'a HashSet<String>>,
    seen: HashSet<String>,
    on_unit: &'a mut dyn FnMut(UnitFacts) -> Result<(), E>,
    stats: BulkStats,
    failed: Option<(String, E)>,
}

impl<'a, E> Sink<'a, E> {
    fn new(
        only: Option<&'a HashSet<String>>,
        on_unit: &'a mut dyn FnMut(UnitFacts) -> Result<(), E>,
    ) -> Self {
        Sink {
            only,
            seen: HashSet::new(),
            on_unit,
            stats: BulkStats::default(),
            failed: None,
        }
    }

    fn reject(&mut self, position: u64, orgnr: Option<String>, message: String) {
        self.stats.rejected += 1;
        if self.stats.rejects.len() < MAX_REJECT_DETAILS {
            self.stats.rejects.push(BulkReject {
                position,
                orgnr,
                message,
            });
        }
    }

    /// Returns `false` when the callback failed and reading must stop.
    fn unit(&mut self, position: u64, raw: RawUnit) -> bool {
        self.stats.read += 1;
        // Filter on the raw org number before mapping, so skipped units cost only the parse.
        if let Some(only) = self.only {
            match raw.orgnr_str() {
                Some(o) if only.contains(o) => {
                    self.seen.insert(o.to_owned());
                }
                Some(_) => {
                    self.stats.skipped += 1;
                    return true;
                }
                None => {}
            }
        }
        let orgnr = raw.orgnr_str().map(str::to_owned);
        match raw.into_facts(None) {
            Ok(facts) => {
                let orgnr = facts.orgnr.clone();
                match (self.on_unit)(facts) {
                    Ok(()) => {
                        self.stats.delivered += 1;
                        true
                    }
                    Err(e) => {
                        self.failed = Some((orgnr, e));
                        false
                    }
                }
            }
            Err(e) => {
                self.reject(position, orgnr, e.to_string());
                true
            }
        }
    }

    fn finish(mut self) -> Result<BulkStats, BulkError<E>>
    where
        E: fmt::Display + fmt::Debug,
    {
        if let Some((orgnr, error)) = self.failed.take() {
            return Err(BulkError::Callback { orgnr, error });
        }
        if let Some(only) = self.only {
            let mut missing: Vec<String> = only.iter().filter(|o| !self.seen.contains(*o)).cloned().collect();
            missing.sort();
            self.stats.not_found = missing;
        }
        Ok(self.stats)
    }
}

/// Reads the JSON bulk file (`/enheter/lastned` or `/underenheter/lastned`): one JSON
/// array of units, gzip-compressed or not. Calls `on_unit` for every unit (or only for the
/// org numbers in `only`). Sub-units are recognised by their organisation form
/// (`BEDR`/`AAFY`) or a `beliggenhetsadresse`.
///
/// A unit without a valid org number is counted as rejected and skipped; broken JSON
/// (or a scalar of a type the mapping cannot bend) stops the read with
/// [`BulkError::Json`], giving line and column.
pub fn read_json_gz<R: Read, E: fmt::Display + fmt::Debug>(
    r: R,
    only: Option<&HashSet<String>>,
    on_unit: &mut dyn FnMut(UnitFacts) -> Result<(), E>,
) -> Result<BulkStats, BulkError<E>> {
    let reader = Input::open(r)?;
    let mut sink = Sink::new(only, on_unit);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = de.deserialize_seq(UnitSeq { sink: &mut sink });
    if sink.failed.is_some() {
        return sink.finish();
    }
    result.map_err(|e| BulkError::Json(e.to_string()))?;
    de.end().map_err(|e| BulkError::Json(e.to_string()))?;
    sink.finish()
}

/// Visits the top-level array one element at a time; never collects the units.
struct UnitSeq<'s, 'a, E> {
    sink: &'s mut Sink<'a, E>,
}

impl<'de, 's, 'a, E> Visitor<'de> for UnitSeq<'s, 'a, E> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of units")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut position = 0u64;
        while let Some(raw) = seq.next_element_seed(RawSeed)? {
            position += 1;
            if !self.sink.unit(position, raw) {
                // Abort the parse; `read_json_gz` reports the callback's own error.
                return Err(de::Error::custom("callback failed"));
            }
        }
        Ok(())
    }
}

struct RawSeed;

impl<'de> DeserializeSeed<'de> for RawSeed {
    type Value = RawUnit;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<RawUnit, D::Error> {
        RawUnit::deserialize(d)
    }
}

// ---------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------

/// Column positions of the fields we read, found by header name. Names are compared
/// case-insensitively: the real dump mixes `registrertIMvaRegisteret` and
/// `registreringsdatoenhetsregisteret` with the JSON spelling.
#[derive(Default)]
struct Columns {
    idx: std::collections::HashMap<String, usize>,
}

impl Columns {
    fn new(headers: &csv::StringRecord) -> Self {
        let idx = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().trim_start_matches('\u{feff}').to_lowercase(), i))
            .collect();
        Columns { idx }
    }
    fn has(&self, name: &str) -> bool {
        self.idx.contains_key(&name.to_lowercase())
    }
    fn get(&self, rec: &csv::StringRecord, name: &str) -> Option<String> {
        let i = *self.idx.get(&name.to_lowercase())?;
        let v = rec.get(i)?.trim();
        (!v.is_empty()).then(|| v.to_owned())
    }
    fn flag(&self, rec: &csv::StringRecord, name: &str) -> Option<bool> {
        self.get(rec, name).and_then(|v| parse_flag(&v))
    }
    fn code(&self, rec: &csv::StringRecord, name: &str) -> Option<RawCode> {
        self.get(rec, name).map(|kode| RawCode { kode: Some(kode) })
    }
    fn address(&self, rec: &csv::StringRecord, prefix: &str) -> Option<RawAddress> {
        let f = |field: &str| self.get(rec, &format!("{prefix}.{field}"));
        let a = RawAddress {
            // The dump writes the address lines in one cell; split on line breaks and
            // the ", " some exports use, dropping empty parts.
            adresse: f("adresse")
                .map(|v| {
                    v.split(['\n', '\r'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            postnummer: f("postnummer"),
            poststed: f("poststed"),
            kommune: f("kommune"),
            kommunenummer: f("kommunenummer"),
            land: f("land"),
            landkode: f("landkode"),
        };
        Some(a)
    }

    fn raw_unit(&self, rec: &csv::StringRecord) -> RawUnit {
        RawUnit {
            organisasjonsnummer: self.get(rec, "organisasjonsnummer"),
            navn: self.get(rec, "navn"),
            organisasjonsform: self.code(rec, "organisasjonsform.kode"),
            naeringskode1: self.code(rec, "naeringskode1.kode"),
            naeringskode2: self.code(rec, "naeringskode2.kode"),
            naeringskode3: self.code(rec, "naeringskode3.kode"),
            institusjonell_sektorkode: self.code(rec, "institusjonellSektorkode.kode"),
            antall_ansatte: self.get(rec, "antallAnsatte"),
            har_registrert_antall_ansatte: self.flag(rec, "harRegistrertAntallAnsatte"),
            registreringsdato_enhetsregisteret: self.get(rec, "registreringsdatoEnhetsregisteret"),
            stiftelsesdato: self.get(rec, "stiftelsesdato"),
            oppstartsdato: self.get(rec, "oppstartsdato"),
            registrert_i_mvaregisteret: self.flag(rec, "registrertIMvaregisteret"),
            registreringsdato_merverdiavgiftsregisteret: self
                .get(rec, "registreringsdatoMerverdiavgiftsregisteret"),
            registrert_i_foretaksregisteret: self.flag(rec, "registrertIForetaksregisteret"),
            konkurs: self.flag(rec, "konkurs"),
            konkursdato: self.get(rec, "konkursdato"),
            under_avvikling: self.flag(rec, "underAvvikling"),
            under_avvikling_dato: self.get(rec, "underAvviklingDato"),
            under_tvangsavvikling_eller_tvangsopplosning: self
                .flag(rec, "underTvangsavviklingEllerTvangsopplosning"),
            tvangsavviklet_pga_manglende_sletting_dato: self
                .get(rec, "tvangsavvikletPgaManglendeSlettingDato"),
            tvangsopplost_pga_manglende_daglig_leder_dato: self
                .get(rec, "tvangsopplostPgaManglendeDagligLederDato"),
            tvangsopplost_pga_manglende_revisor_dato: self.get(rec, "tvangsopplostPgaManglendeRevisorDato"),
            tvangsopplost_pga_manglende_regnskap_dato: self.get(rec, "tvangsopplostPgaManglendeRegnskapDato"),
            tvangsopplost_pga_mangelfullt_styre_dato: self.get(rec, "tvangsopplostPgaMangelfulltStyreDato"),
            slettedato: self.get(rec, "slettedato"),
            nedleggelsesdato: self.get(rec, "nedleggelsesdato"),
            siste_innsendte_aarsregnskap: self.get(rec, "sisteInnsendteAarsregnskap"),
            forretningsadresse: self
                .has("forretningsadresse.adresse")
                .then(|| self.address(rec, "forretningsadresse"))
                .flatten(),
            beliggenhetsadresse: self
                .has("beliggenhetsadresse.adresse")
                .then(|| self.address(rec, "beliggenhetsadresse"))
                .flatten(),
            postadresse: self
                .has("postadresse.adresse")
                .then(|| self.address(rec, "postadresse"))
                .flatten(),
            overordnet_enhet: self.get(rec, "overordnetEnhet"),
            registreringsnummer_i_hjemlandet: self.get(rec, "registreringsnummerIHjemlandet"),
        }
    }
}

/// Reads the CSV dump (`/enheter/lastned/csv`; header row, quoted, comma-separated;
/// a `;`-separated export is recognised from the header line), gzip-compressed or not.
/// Same filter, callback and statistics as [`read_json_gz`]; a row the CSV parser cannot
/// read is rejected with its line number and reading goes on.
pub fn read_csv<R: Read, E: fmt::Display + fmt::Debug>(
    r: R,
    only: Option<&HashSet<String>>,
    on_unit: &mut dyn FnMut(UnitFacts) -> Result<(), E>,
) -> Result<BulkStats, BulkError<E>> {
    let mut reader = Input::open(r)?;
    let delimiter = {
        let head = reader.fill_buf()?;
        let first_line = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
        let commas = first_line.iter().filter(|b| **b == b',').count();
        let semis = first_line.iter().filter(|b| **b == b';').count();
        if semis > commas { b';' } else { b',' }
    };
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let headers = csv.headers().map_err(|e| BulkError::Csv(e.to_string()))?.clone();
    let cols = Columns::new(&headers);
    if !cols.has("organisasjonsnummer") {
        return Err(BulkError::Csv(
            "fant ikke kolonnen «organisasjonsnummer» i overskriftsraden".into(),
        ));
    }
    let mut sink = Sink::new(only, on_unit);
    let mut rec = csv::StringRecord::new();
    // Line numbers come from the csv crate: exact for LF files (the register's dump), one
    // too low after a CRLF terminator or skipped blank lines. Good enough to find the row.
    loop {
        let line = csv.position().line();
        match csv.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let line = rec.position().map_or(line, |p| p.line());
                let raw = cols.raw_unit(&rec);
                if !sink.unit(line, raw) {
                    break;
                }
            }
            Err(e) => {
                if e.is_io_error() {
                    return Err(BulkError::Csv(e.to_string()));
                }
                sink.stats.read += 1;
                sink.reject(line, None, format!("kunne ikke lese raden: {e}"));
            }
        }
    }
    sink.finish()
}
