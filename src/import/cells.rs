//! Cell → value normalisation: amounts, dates, ids, org numbers and text.
//!
//! Every reader (xlsx/xlsb streaming, xls/ods ranges, csv) hands cells over as calamine's
//! [`DataRef`], so this module is the single place where a cell becomes a field value. The
//! functions here are pure and never panic; a value that cannot be read becomes a
//! [`CellProblem`] whose `Display` is the Norwegian message shown to the person who has to fix
//! the spreadsheet.
//!
//! # Amount rule (Norwegian text)
//! * Optional `kr`, `kr.` or `NOK` before or after the number, optional `,-` / `,–` after it.
//! * Thousands are grouped with spaces (also U+00A0 and U+202F, as Excel and LibreOffice
//!   write them in nb-NO, and U+2009) or with dots; groups after the first have exactly three
//!   digits and one number uses one kind of separator. `1.234.567` and `1.234` are groups.
//! * The comma is the decimal mark, with one or two decimals. Three or more digits after a
//!   comma (`1,234`) is rejected as ambiguous: it looks like an English thousands separator.
//! * A single dot followed by exactly one or two digits at the end (`1234.50`, `1 234.5`) is a
//!   decimal point, as systems and English-locale exports write it: a thousands group always
//!   has three digits, so this cannot be a Norwegian grouping.
//! * Anything else (`ca. 2 mill`, `se vedlegg`, `1,234.50`, `1 234.567`) is rejected rather
//!   than guessed. A leading minus (also U+2212 and en dash) or parentheses mean negative,
//!   which is rejected. Text is never parsed through `f64`.
//! * Number cells are rounded half away from zero to øre, using the shortest decimal text of
//!   the float (what Excel shows), so `1.005` becomes 1,01 kr, not 1,00 kr.

use std::borrow::Cow;
use std::fmt;

use calamine::{CellErrorType, DataRef};
use chrono::{Datelike, NaiveDate, NaiveDateTime};

use crate::domain::orgnr::{OrgNr, OrgNrError};

/// The largest contract value we accept: 1 000 milliarder kroner, far above any municipal
/// contract; above it the value is a typing error (or an øre/krone mix-up), not a contract.
pub const MAX_VALUE_ORE: i64 = 1_000_000_000_000 * 100;

/// Excel serial numbers we read as dates when the cell is a plain number (or 5-digit text):
/// 1950-01-01 ..= 2199-12-31. Outside this window a number is far more likely to be
/// something else (a year, an amount, an id) than a contract date.
const SERIAL_MIN: f64 = 18_264.0;
const SERIAL_MAX: f64 = 109_574.0;

/// Why one cell could not be used. `Display` is the Norwegian message for the import report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellProblem {
    Missing(&'static str),
    OrgNr(OrgNrError),
    OrgNrNotInteger,
    NegativeAmount,
    NotAnAmount,
    AmbiguousAmount,
    AmountTooLarge,
    AmountIsDate,
    ImpossibleDate(String),
    NotADate { end: bool },
    SerialOutOfRange,
    TwoDigitYear,
    EndBeforeStart { start: NaiveDate, end: NaiveDate },
    DuplicateId { first_row: u32 },
    ContractOwnedElsewhere,
    NotALevelCount,
    FormulaError(&'static str),
}

fn nb_date(d: NaiveDate) -> String {
    format!("{:02}.{:02}.{:04}", d.day(), d.month(), d.year())
}

impl fmt::Display for CellProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CellProblem::Missing(what) => write!(f, "{what} mangler; fyll inn cellen"),
            CellProblem::OrgNr(e) => write!(
                f,
                "{e}. Skriv de 9 sifrene, f.eks. 923 609 016 eller 923609016"
            ),
            CellProblem::OrgNrNotInteger => f.write_str(
                "organisasjonsnummeret er et desimaltall; skriv de 9 sifrene uten desimaler",
            ),
            CellProblem::NegativeAmount => f.write_str(
                "beløpet er negativt; kontraktsverdien må være 0 eller større (kroner eks. mva.)",
            ),
            CellProblem::NotAnAmount => f.write_str(
                "dette er ikke et beløp; skriv kontraktsverdien i kroner eks. mva. som et tall, \
                 f.eks. 1 234 567,50 eller 250000, eller la cellen stå tom",
            ),
            CellProblem::AmbiguousAmount => f.write_str(
                "beløpet er tvetydig: komma er desimaltegn og tusenskille er mellomrom eller punktum; \
                 skriv f.eks. 1 234 for ett tusen to hundre og trettifire kroner og 1234,50 for kroner og øre",
            ),
            CellProblem::AmountTooLarge => f.write_str(
                "beløpet er urimelig stort (over 1 000 milliarder kroner); sjekk at det er skrevet i kroner",
            ),
            CellProblem::AmountIsDate => f.write_str(
                "cellen er formatert som dato, ikke som beløp; endre cellens format til tall",
            ),
            CellProblem::ImpossibleDate(s) => write!(
                f,
                "datoen «{s}» finnes ikke; sjekk dag og måned (skriv dd.mm.åååå)"
            ),
            CellProblem::NotADate { end } => {
                f.write_str(
                    "dette er ikke en dato; skriv datoen som dd.mm.åååå (f.eks. 31.01.2024) eller åååå-mm-dd",
                )?;
                if *end {
                    f.write_str(", eller la cellen stå tom hvis avtalen ikke har sluttdato")?;
                }
                Ok(())
            }
            CellProblem::SerialOutOfRange => f.write_str(
                "tallet ligner ikke en dato (datoer må ligge mellom 1950 og 2199); skriv datoen som dd.mm.åååå",
            ),
            CellProblem::TwoDigitYear => f.write_str(
                "året har bare to siffer; skriv hele året, f.eks. 31.01.2024",
            ),
            CellProblem::EndBeforeStart { start, end } => write!(
                f,
                "sluttdatoen {} er før startdatoen {}; sjekk at datoene ikke er byttet om",
                nb_date(*end),
                nb_date(*start)
            ),
            CellProblem::DuplicateId { first_row } => write!(
                f,
                "avtalenummeret finnes allerede i rad {first_row}; hvert avtalenummer kan bare stå én gang \
                 (første forekomst beholdes)"
            ),
            // The contract number is another owner's (`domain::ownership`). Never found by
            // reading the file: the store refuses the row. Names nothing of that contract.
            CellProblem::ContractOwnedElsewhere => f.write_str(
                "avtalenummeret er allerede registrert av en annen enhet i kommunen; \
                 kontakt Kemneren hvis avtalen skal føres av deg",
            ),
            CellProblem::NotALevelCount => f.write_str(
                "antall ledd må være et helt tall fra 0 og oppover (0, 1, 2 …)",
            ),
            CellProblem::FormulaError(code) => write!(
                f,
                "cellen inneholder formelfeilen {code}; rett formelen eller skriv inn verdien"
            ),
        }
    }
}

/// Excel's text for an error value, as shown in the cell.
pub(crate) fn error_code(e: &CellErrorType) -> &'static str {
    match e {
        CellErrorType::Div0 => "#DIV/0!",
        CellErrorType::NA => "#N/A",
        CellErrorType::Name => "#NAME?",
        CellErrorType::Null => "#NULL!",
        CellErrorType::Num => "#NUM!",
        CellErrorType::Ref => "#REF!",
        CellErrorType::Value => "#VALUE!",
        CellErrorType::GettingData => "#DATA!",
    }
}

/// Whitespace as it shows up in spreadsheets: ASCII, U+00A0, U+202F, U+2009 … (all are
/// Unicode `White_Space`), plus the zero-width no-break space a stray BOM leaves behind.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}' || c == '\u{200b}'
}

pub(crate) fn trim(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// A cell that holds nothing a person would see: empty, or text of only whitespace.
pub(crate) fn is_blank(v: &DataRef<'_>) -> bool {
    match v {
        DataRef::Empty => true,
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => trim(s).is_empty(),
        DataRef::SharedString(s) => trim(s).is_empty(),
        _ => false,
    }
}

/// The text of a text-like cell, untrimmed.
pub(crate) fn as_text<'a>(v: &'a DataRef<'_>) -> Option<&'a str> {
    match v {
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Some(s),
        DataRef::SharedString(s) => Some(s),
        _ => None,
    }
}

/// A float as a person sees it: integral values without `.0`, others in their shortest
/// round-trip decimal form (Rust's `Display` never uses exponent notation).
pub(crate) fn fmt_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn fmt_datetime(dt: NaiveDateTime) -> String {
    if dt.time() == chrono::NaiveTime::MIN {
        dt.date().format("%Y-%m-%d").to_string()
    } else {
        dt.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// The cell as text, for the raw value in a report and for extra columns. Text is kept as
/// written (not trimmed); dates are ISO; booleans as Norwegian Excel shows them.
pub(crate) fn display<'a>(v: &'a DataRef<'_>) -> Cow<'a, str> {
    match v {
        DataRef::Empty => Cow::Borrowed(""),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cow::Borrowed(s.as_str()),
        DataRef::SharedString(s) => Cow::Borrowed(s),
        DataRef::Int(i) => Cow::Owned(i.to_string()),
        DataRef::Float(f) => Cow::Owned(fmt_number(*f)),
        DataRef::Bool(b) => Cow::Borrowed(if *b { "SANN" } else { "USANN" }),
        DataRef::DateTime(dt) => match dt.is_datetime().then(|| dt.as_datetime()).flatten() {
            Some(d) => Cow::Owned(fmt_datetime(d)),
            None => Cow::Owned(fmt_number(dt.as_f64())),
        },
        DataRef::Error(e) => Cow::Borrowed(error_code(e)),
    }
}

/// Optional free text (title, category, unit …): trimmed; blank is `None`.
pub fn text_field(v: &DataRef<'_>) -> Result<Option<String>, CellProblem> {
    match v {
        DataRef::Error(e) => Err(CellProblem::FormulaError(error_code(e))),
        _ => {
            let d = display(v);
            let t = trim(&d);
            Ok((!t.is_empty()).then(|| t.to_owned()))
        }
    }
}

/// Contract id: trimmed text; a number cell is written without `.0` so `1001` and `1001.0`
/// compare equal.
pub fn contract_id(v: &DataRef<'_>) -> Result<String, CellProblem> {
    match text_field(v)? {
        Some(s) => Ok(s),
        None => Err(CellProblem::Missing("avtalenummeret")),
    }
}

/// Org number from a cell. Number cells are formatted as integers first; one with fewer
/// than nine digits had its leading zeros dropped by the spreadsheet and is padded back.
/// Returns the number and the raw text as written.
pub fn orgnr(v: &DataRef<'_>) -> Result<(OrgNr, String), CellProblem> {
    let raw: String = match v {
        DataRef::Int(i) => {
            if *i >= 0 && *i < 100_000_000 {
                format!("{i:09}")
            } else {
                i.to_string()
            }
        }
        DataRef::Float(f) => {
            if f.fract() != 0.0 || !f.is_finite() {
                return Err(CellProblem::OrgNrNotInteger);
            }
            if *f >= 0.0 && *f < 1e8 {
                format!("{:09}", *f as i64)
            } else {
                fmt_number(*f)
            }
        }
        DataRef::Error(e) => return Err(CellProblem::FormulaError(error_code(e))),
        other => trim(&display(other)).to_owned(),
    };
    match OrgNr::parse_lenient(&raw) {
        Ok(o) => Ok((o, raw)),
        Err(e) => Err(CellProblem::OrgNr(e)),
    }
}

/// Number of subcontractor levels: a whole number ≥ 0.
pub fn level_count(v: &DataRef<'_>) -> Result<Option<i32>, CellProblem> {
    match v {
        DataRef::Empty => Ok(None),
        DataRef::Int(i) => i32::try_from(*i)
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or(CellProblem::NotALevelCount),
        DataRef::Float(f) => {
            if f.fract() == 0.0 && *f >= 0.0 && *f <= 1_000_000.0 {
                Ok(Some(*f as i32))
            } else {
                Err(CellProblem::NotALevelCount)
            }
        }
        DataRef::Error(e) => Err(CellProblem::FormulaError(error_code(e))),
        other => match as_text(other).map(trim) {
            Some("") => Ok(None),
            Some(t) if t.len() <= 6 && t.bytes().all(|b| b.is_ascii_digit()) => {
                t.parse().map(Some).map_err(|_| CellProblem::NotALevelCount)
            }
            _ => Err(CellProblem::NotALevelCount),
        },
    }
}

// ---------------------------------------------------------------------------------------
// Amounts

/// Contract value in øre from a cell; `None` for an empty cell.
pub fn amount(v: &DataRef<'_>) -> Result<Option<i64>, CellProblem> {
    match v {
        DataRef::Empty => Ok(None),
        DataRef::Int(i) => {
            if *i < 0 {
                return Err(CellProblem::NegativeAmount);
            }
            i.checked_mul(100)
                .filter(|o| *o <= MAX_VALUE_ORE)
                .map(Some)
                .ok_or(CellProblem::AmountTooLarge)
        }
        DataRef::Float(f) => float_to_ore(*f).map(Some),
        DataRef::DateTime(dt) if dt.is_duration() => float_to_ore(dt.as_f64()).map(Some),
        DataRef::DateTime(_) => Err(CellProblem::AmountIsDate),
        DataRef::Bool(_) => Err(CellProblem::NotAnAmount),
        DataRef::Error(e) => Err(CellProblem::FormulaError(error_code(e))),
        other => amount_text(as_text(other).unwrap_or("")),
    }
}

/// A number cell in kroner to øre, rounding half away from zero at the second decimal of the
/// number as Excel shows it (its shortest round-trip decimal text).
pub fn float_to_ore(f: f64) -> Result<i64, CellProblem> {
    if !f.is_finite() {
        return Err(CellProblem::NotAnAmount);
    }
    if f < 0.0 {
        // -0.0 is not negative; a real negative is.
        return Err(CellProblem::NegativeAmount);
    }
    if f > (MAX_VALUE_ORE / 100) as f64 {
        return Err(CellProblem::AmountTooLarge);
    }
    let scaled = f * 100.0;
    let rounded = scaled.round();
    // Fast path: whole øre (every value typed with at most two decimals lands here). Only a
    // value near a half øre needs the exact decimal treatment below.
    if (scaled - rounded).abs() < 1e-6 {
        return Ok(rounded as i64);
    }
    let text = format!("{f}");
    decimal_to_ore_rounded(&text).ok_or(CellProblem::NotAnAmount)
}

/// `"1234.5678"` → øre, rounded half away from zero (input is non-negative).
fn decimal_to_ore_rounded(s: &str) -> Option<i64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut ore: i64 = 0;
    for b in int.bytes() {
        ore = ore.checked_mul(10)?.checked_add(i64::from(digit(b)?))?;
    }
    let fb = frac.as_bytes();
    let d1 = fb.first().map_or(Some(0), |b| digit(*b))?;
    let d2 = fb.get(1).map_or(Some(0), |b| digit(*b))?;
    let d3 = fb.get(2).map_or(Some(0), |b| digit(*b))?;
    ore = ore
        .checked_mul(100)?
        .checked_add(i64::from(d1) * 10 + i64::from(d2))?;
    if d3 >= 5 {
        ore = ore.checked_add(1)?;
    }
    Some(ore)
}

fn digit(b: u8) -> Option<u8> {
    b.is_ascii_digit().then(|| b - b'0')
}

fn strip_prefix_ci<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    let head = s.get(..p.len())?;
    head.eq_ignore_ascii_case(p).then(|| &s[p.len()..])
}

fn strip_suffix_ci<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(p.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(p).then(|| &s[..cut])
}

fn is_group_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}')
}

/// Norwegian amount text → øre (see the module docs for the rule). Blank is `None`.
pub fn amount_text(raw: &str) -> Result<Option<i64>, CellProblem> {
    let mut s = trim(raw);
    if s.is_empty() {
        return Ok(None);
    }
    // Currency words before or after.
    for p in ["kr.", "kr", "nok"] {
        if let Some(rest) = strip_prefix_ci(s, p) {
            s = trim(rest);
            break;
        }
    }
    for p in [",-", ",–", ",—", ".-", ",--"] {
        if let Some(rest) = s.strip_suffix(p) {
            s = trim(rest);
            break;
        }
    }
    for p in ["kr.", "kr", "nok"] {
        if let Some(rest) = strip_suffix_ci(s, p) {
            s = trim(rest);
            break;
        }
    }
    // ",-" may also come before the currency word: "250 000,- kr".
    for p in [",-", ",–"] {
        if let Some(rest) = s.strip_suffix(p) {
            s = trim(rest);
            break;
        }
    }
    if s.is_empty() {
        return Err(CellProblem::NotAnAmount);
    }
    let negative = s.starts_with(['-', '\u{2212}', '–']) || (s.starts_with('(') && s.ends_with(')'));
    let body = s
        .trim_start_matches(['-', '\u{2212}', '–', '+', '('])
        .trim_end_matches(')');
    let body = trim(body);
    let parsed = parse_plain_amount(body);
    match parsed {
        Ok(ore) if negative && ore != 0 => Err(CellProblem::NegativeAmount),
        Ok(ore) => Ok(Some(ore)),
        // "-ca. 2 mill" is not an amount whatever its sign; say so rather than "negative".
        Err(e) => Err(e),
    }
}

/// Digits with optional grouping and decimals; no sign, no currency.
fn parse_plain_amount(s: &str) -> Result<i64, CellProblem> {
    if s.is_empty() || !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(CellProblem::NotAnAmount);
    }
    // Anything other than digits, group separators, '.' and ',' means words: not an amount.
    if !s
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == ',' || is_group_space(c))
    {
        return Err(CellProblem::NotAnAmount);
    }
    let (int_part, frac) = match s.split_once(',') {
        Some((i, f)) => {
            if f.contains(',') {
                return Err(CellProblem::AmbiguousAmount);
            }
            if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                // "1,234.50" (English) or "1, 5" lands here.
                return Err(CellProblem::AmbiguousAmount);
            }
            if f.len() > 2 {
                return Err(CellProblem::AmbiguousAmount);
            }
            (i, f)
        }
        None => match s.rsplit_once('.') {
            // A single trailing dot with one or two digits is a decimal point.
            Some((i, f))
                if (1..=2).contains(&f.len())
                    && f.bytes().all(|b| b.is_ascii_digit())
                    && !i.contains('.') =>
            {
                (i, f)
            }
            _ => (s, ""),
        },
    };
    let int_part = trim(int_part);
    let mut kroner: i64 = 0;
    let uses_dots = int_part.contains('.');
    let uses_spaces = int_part.contains(is_group_space);
    if uses_dots && uses_spaces {
        return Err(CellProblem::AmbiguousAmount);
    }
    if uses_dots || uses_spaces {
        let sep: &dyn Fn(char) -> bool = if uses_dots { &|c| c == '.' } else { &is_group_space };
        for (i, group) in int_part.split(sep).enumerate() {
            let ok = if i == 0 {
                (1..=3).contains(&group.len())
            } else {
                group.len() == 3
            };
            if !ok || !group.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CellProblem::AmbiguousAmount);
            }
            for b in group.bytes() {
                kroner = push_digit(kroner, b)?;
            }
        }
    } else {
        if !int_part.bytes().all(|b| b.is_ascii_digit()) || int_part.is_empty() {
            return Err(CellProblem::NotAnAmount);
        }
        for b in int_part.bytes() {
            kroner = push_digit(kroner, b)?;
        }
    }
    let mut ore = kroner.checked_mul(100).ok_or(CellProblem::AmountTooLarge)?;
    let fb = frac.as_bytes();
    if let Some(d) = fb.first() {
        ore += i64::from(d - b'0') * 10;
    }
    if let Some(d) = fb.get(1) {
        ore += i64::from(d - b'0');
    }
    if ore > MAX_VALUE_ORE {
        return Err(CellProblem::AmountTooLarge);
    }
    Ok(ore)
}

fn push_digit(acc: i64, b: u8) -> Result<i64, CellProblem> {
    acc.checked_mul(10)
        .and_then(|a| a.checked_add(i64::from(b - b'0')))
        .ok_or(CellProblem::AmountTooLarge)
}

/// Øre → Norwegian amount text (`1 234 567,50`), grouped with `sep`. Used by tests and
/// exports; the inverse of [`amount_text`].
pub fn format_amount_nb(ore: i64, sep: char) -> String {
    let neg = ore < 0;
    let abs = ore.unsigned_abs();
    let kroner = (abs / 100).to_string();
    let mut out = String::with_capacity(kroner.len() * 2 + 4);
    if neg {
        out.push('-');
    }
    let n = kroner.len();
    for (i, ch) in kroner.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(ch);
    }
    out.push_str(&format!(",{:02}", abs % 100));
    out
}

// ---------------------------------------------------------------------------------------
// Dates

/// Words that mean "no end date" in the end-date column. Only there: as a start date,
/// `løpende` is rejected.
const OPEN_ENDED: &[&str] = &[
    "løpende",
    "lopende",
    "ubestemt",
    "tidsubestemt",
    "ingen sluttdato",
    "ingen",
    "ongoing",
];

/// A date from a cell; `None` for an empty cell (and, in the end-date column, for
/// `løpende` and similar).
pub fn date(v: &DataRef<'_>, end: bool) -> Result<Option<NaiveDate>, CellProblem> {
    match v {
        DataRef::Empty => Ok(None),
        DataRef::DateTime(dt) if dt.is_datetime() => dt
            .as_datetime()
            .map(|d| Some(d.date()))
            .ok_or(CellProblem::SerialOutOfRange),
        DataRef::DateTime(dt) => serial(dt.as_f64()).map(Some),
        DataRef::Int(i) => serial(*i as f64).map(Some),
        DataRef::Float(f) => serial(*f).map(Some),
        DataRef::Bool(_) => Err(CellProblem::NotADate { end }),
        DataRef::Error(e) => Err(CellProblem::FormulaError(error_code(e))),
        other => date_text(as_text(other).unwrap_or(""), end),
    }
}

/// Excel serial (1900 date system) → date. Times of day are dropped.
pub fn serial(f: f64) -> Result<NaiveDate, CellProblem> {
    if !(SERIAL_MIN..SERIAL_MAX + 1.0).contains(&f) {
        return Err(CellProblem::SerialOutOfRange);
    }
    let days = f.floor() as i64;
    // Serial 25569 is 1970-01-01; everything in our window is after Excel's 1900 leap bug.
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(days - 25_569)))
        .ok_or(CellProblem::SerialOutOfRange)
}

/// Text date: `dd.mm.yyyy` (one- or two-digit day and month), `yyyy-mm-dd`, either with an
/// optional time of day after a space or `T`, or a 5-digit Excel serial (csv exports).
pub fn date_text(raw: &str, end: bool) -> Result<Option<NaiveDate>, CellProblem> {
    let s = trim(raw);
    if s.is_empty() {
        return Ok(None);
    }
    if end {
        let lower = s.to_lowercase();
        if OPEN_ENDED.contains(&lower.as_str()) {
            return Ok(None);
        }
    }
    // Drop a time of day: "2024-01-31 00:00:00", "2024-01-31T12:00", "31.01.2024 13:45".
    let date_part = s.split([' ', 'T']).next().unwrap_or(s);
    let rest = &s[date_part.len()..];
    if !rest.is_empty() && !is_time_suffix(rest) {
        return Err(CellProblem::NotADate { end });
    }
    let b = date_part.as_bytes();
    if b.len() == 5 && b.iter().all(u8::is_ascii_digit) && rest.is_empty() {
        let n: f64 = date_part.parse().map_err(|_| CellProblem::NotADate { end })?;
        return serial(n).map(Some);
    }
    let (y, m, d) = if let Some((y, m, d)) = split3(date_part, '-') {
        if y.len() != 4 {
            return Err(CellProblem::NotADate { end });
        }
        (y, m, d)
    } else if let Some((d, m, y)) = split3(date_part, '.') {
        if y.len() == 2 {
            return Err(CellProblem::TwoDigitYear);
        }
        if y.len() != 4 {
            return Err(CellProblem::NotADate { end });
        }
        (y, m, d)
    } else {
        return Err(CellProblem::NotADate { end });
    };
    let num = |t: &str, max_len: usize| -> Option<u32> {
        (!t.is_empty() && t.len() <= max_len && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(d)) = (num(y, 4), num(m, 2), num(d, 2)) else {
        return Err(CellProblem::NotADate { end });
    };
    NaiveDate::from_ymd_opt(y as i32, m, d)
        .map(Some)
        .ok_or_else(|| CellProblem::ImpossibleDate(date_part.to_owned()))
}

fn split3(s: &str, sep: char) -> Option<(&str, &str, &str)> {
    let mut it = s.split(sep);
    let a = it.next()?;
    let b = it.next()?;
    let c = it.next()?;
    it.next().is_none().then_some((a, b, c))
}

/// ` 00:00:00`, `T12:30`, ` 13:45:10.000` (after the date).
fn is_time_suffix(rest: &str) -> bool {
    let t = rest.trim_start_matches([' ', 'T']);
    let t = t.trim_end_matches('Z');
    !t.is_empty()
        && t.len() <= 15
        && t.contains(':')
        && t.bytes().all(|b| b.is_ascii_digit() || b == b':' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{ExcelDateTime, ExcelDateTimeType};

    fn s(x: &str) -> DataRef<'_> {
        DataRef::SharedString(x)
    }

    #[test]
    fn amounts_accepted() {
        let cases: &[(&str, i64)] = &[
            ("1 234 567,50", 123_456_750),
            ("1\u{a0}234\u{a0}567,50", 123_456_750),
            ("1\u{202f}234\u{202f}567,5", 123_456_750),
            ("kr 250 000", 25_000_000),
            ("Kr. 250 000", 25_000_000),
            ("250000,-", 25_000_000),
            ("250 000,- kr", 25_000_000),
            ("NOK 1 000", 100_000),
            ("1000 kr", 100_000),
            ("1.234.567", 123_456_700),
            ("1.234.567,89", 123_456_789),
            ("1.234", 123_400),
            ("1234.50", 123_450),
            ("1 234.5", 123_450),
            ("0,5", 50),
            ("0", 0),
            ("-0", 0),
            ("  42  ", 4200),
        ];
        for (text, ore) in cases {
            assert_eq!(amount_text(text), Ok(Some(*ore)), "{text}");
        }
        assert_eq!(amount_text("   "), Ok(None));
    }

    #[test]
    fn amounts_rejected() {
        use CellProblem::*;
        let cases: &[(&str, CellProblem)] = &[
            ("ca. 2 mill", NotAnAmount),
            ("2 mill", NotAnAmount),
            ("se vedlegg", NotAnAmount),
            ("etter medgått tid", NotAnAmount),
            ("-5 000", NegativeAmount),
            ("\u{2212}5000", NegativeAmount),
            ("(5 000)", NegativeAmount),
            ("1,234", AmbiguousAmount),
            ("1,234.50", AmbiguousAmount),
            ("1 234.567", AmbiguousAmount),
            ("1234.567", AmbiguousAmount),
            ("12 34", AmbiguousAmount),
            ("1.234 567", AmbiguousAmount),
            ("kr", NotAnAmount),
            ("99999999999999999999", AmountTooLarge),
        ];
        for (text, want) in cases {
            assert_eq!(amount_text(text).as_ref(), Err(want), "{text}");
        }
    }

    #[test]
    fn number_cells_round_half_away_from_zero() {
        assert_eq!(float_to_ore(1.005), Ok(101));
        assert_eq!(float_to_ore(0.125), Ok(13));
        assert_eq!(float_to_ore(0.124), Ok(12));
        assert_eq!(float_to_ore(1234567.5), Ok(123_456_750));
        assert_eq!(float_to_ore(0.1 + 0.2), Ok(30));
        assert_eq!(float_to_ore(-0.0), Ok(0));
        assert_eq!(float_to_ore(-1.0), Err(CellProblem::NegativeAmount));
        assert_eq!(float_to_ore(f64::NAN), Err(CellProblem::NotAnAmount));
        assert_eq!(float_to_ore(1e300), Err(CellProblem::AmountTooLarge));
        assert_eq!(amount(&DataRef::Int(250_000)), Ok(Some(25_000_000)));
        assert_eq!(amount(&DataRef::Int(-1)), Err(CellProblem::NegativeAmount));
        assert_eq!(amount(&DataRef::Empty), Ok(None));
    }

    #[test]
    fn dates() {
        let d = |y, m, d| Some(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        assert_eq!(date_text("31.01.2024", false), Ok(d(2024, 1, 31)));
        assert_eq!(date_text("1.2.2024", false), Ok(d(2024, 2, 1)));
        assert_eq!(date_text("2024-01-31", false), Ok(d(2024, 1, 31)));
        assert_eq!(date_text("2024-01-31 00:00:00", false), Ok(d(2024, 1, 31)));
        assert_eq!(date_text("2024-01-31T13:45:00Z", false), Ok(d(2024, 1, 31)));
        assert_eq!(date_text("45322", false), Ok(d(2024, 1, 31)));
        assert_eq!(date_text("", false), Ok(None));
        assert_eq!(date_text("løpende", true), Ok(None));
        assert_eq!(date_text("Løpende", true), Ok(None));
        assert_eq!(
            date_text("løpende", false),
            Err(CellProblem::NotADate { end: false })
        );
        assert_eq!(
            date_text("31.02.2024", false),
            Err(CellProblem::ImpossibleDate("31.02.2024".into()))
        );
        assert_eq!(
            date_text("2024-13-01", false),
            Err(CellProblem::ImpossibleDate("2024-13-01".into()))
        );
        assert_eq!(date_text("31.01.24", false), Err(CellProblem::TwoDigitYear));
        assert_eq!(
            date_text("31/01/2024", false),
            Err(CellProblem::NotADate { end: false })
        );
        assert_eq!(date(&DataRef::Float(45322.75), false), Ok(d(2024, 1, 31)));
        assert_eq!(date(&DataRef::Int(45322), false), Ok(d(2024, 1, 31)));
        assert_eq!(
            date(&DataRef::Int(2024), false),
            Err(CellProblem::SerialOutOfRange)
        );
        let dt = ExcelDateTime::new(45322.5, ExcelDateTimeType::DateTime, false);
        assert_eq!(date(&DataRef::DateTime(dt), false), Ok(d(2024, 1, 31)));
        let dt1904 = ExcelDateTime::new(45322.0 - 1462.0, ExcelDateTimeType::DateTime, true);
        assert_eq!(date(&DataRef::DateTime(dt1904), false), Ok(d(2024, 1, 31)));
    }

    #[test]
    fn ids_and_orgnr() {
        assert_eq!(contract_id(&DataRef::Float(1001.0)), Ok("1001".into()));
        assert_eq!(contract_id(&DataRef::Int(1001)), Ok("1001".into()));
        assert_eq!(contract_id(&s("  A-17 ")), Ok("A-17".into()));
        assert_eq!(contract_id(&s("  ")), Err(CellProblem::Missing("avtalenummeret")));
        for v in [
            DataRef::Int(923_609_016),
            DataRef::Float(923_609_016.0),
            s("923609016.0"),
            s("NO 923 609 016 MVA"),
            s("923.609.016"),
        ] {
            assert_eq!(orgnr(&v).map(|(o, _)| o.to_string()), Ok("923609016".into()));
        }
        // Leading zero dropped by the spreadsheet: 012345676 is not valid, but padding
        // happens before the check; a valid 8-digit-looking number keeps its zero.
        assert!(matches!(
            orgnr(&DataRef::Float(9.5)),
            Err(CellProblem::OrgNrNotInteger)
        ));
        assert!(matches!(orgnr(&s("123")), Err(CellProblem::OrgNr(_))));
    }

    #[test]
    fn levels() {
        assert_eq!(level_count(&DataRef::Float(2.0)), Ok(Some(2)));
        assert_eq!(level_count(&s(" 3 ")), Ok(Some(3)));
        assert_eq!(level_count(&s("")), Ok(None));
        assert_eq!(level_count(&s("to")), Err(CellProblem::NotALevelCount));
        assert_eq!(level_count(&DataRef::Int(-1)), Err(CellProblem::NotALevelCount));
    }

    #[test]
    fn format_round_trip_examples() {
        assert_eq!(format_amount_nb(123_456_750, ' '), "1 234 567,50");
        assert_eq!(format_amount_nb(5, ' '), "0,05");
        assert_eq!(
            amount_text(&format_amount_nb(100_000, '\u{a0}')),
            Ok(Some(100_000))
        );
    }
}
