//! Reading and validating rule files (TOML).
//!
//! The files are walked by hand over `toml`'s spanned document tree rather than through
//! serde derive, so that every problem can be reported in Norwegian with the file, the
//! line of the offending key and the rule it belongs to, and so that one load reports all
//! problems at once instead of stopping at the first.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::domain::io_text::io_reason;

use super::cond::{self, CondError, Condition, ParamNames};
use super::industry::{self, Industry, Matcher};
use super::params::{ParamValue, Parameter};
use super::tiers::Tier;
use super::{Indicator, RuleSet};

/// One problem in a rule set. `line` is 1-based; 0 when the problem concerns no single
/// line (an empty folder, a missing tier list).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RuleError {
    pub file: String,
    pub line: u32,
    /// The `id` of the industry, indicator, tier or parameter, when known.
    pub rule: Option<String>,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if let Some(rule) = &self.rule {
            write!(f, ": regel «{rule}»")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a rule set; the set is rejected as a whole.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RuleSetError {
    pub errors: Vec<RuleError>,
}

impl fmt::Display for RuleSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "regelsettet har {} feil:", self.errors.len())?;
        for e in &self.errors {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleSetError {}

/// The rule-set version: SHA-256 (lowercase hex) over the files sorted by name (byte-wise),
/// each contributing `name`, a NUL byte, its length in bytes as decimal digits, a NUL byte
/// and its bytes. The length prefix makes the concatenation unambiguous.
pub fn version_hash(files: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut h = Sha256::new();
    for (name, text) in sorted {
        h.update(name.as_bytes());
        h.update([0u8]);
        h.update(text.len().to_string().as_bytes());
        h.update([0u8]);
        h.update(text.as_bytes());
    }
    crate::domain::digest::lower_hex(&h.finalize())
}

/// Reads every `*.toml` file directly in `dir` (not sub-folders; names starting with `.`
/// are editor files and skipped), sorted by name.
pub fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, RuleSetError> {
    let dir_name = dir.display().to_string();
    let one = |message: String| RuleSetError {
        errors: vec![RuleError {
            file: dir_name.clone(),
            line: 0,
            rule: None,
            message,
        }],
    };
    let entries =
        std::fs::read_dir(dir).map_err(|e| one(format!("kan ikke lese regelmappen: {}", io_reason(&e))))?;
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| one(format!("kan ikke lese regelmappen: {}", io_reason(&e))))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".toml") || name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => files.push((name, text)),
                Err(_) => errors.push(RuleError {
                    file: name,
                    line: 0,
                    rule: None,
                    message: "filen er ikke gyldig UTF-8; lagre den som UTF-8".into(),
                }),
            },
            Err(e) => errors.push(RuleError {
                file: name,
                line: 0,
                rule: None,
                message: format!("kan ikke lese filen: {}", io_reason(&e)),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(RuleSetError { errors });
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(files)
}

struct SourceFile<'a> {
    name: &'a str,
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> SourceFile<'a> {
    fn new(name: &'a str, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name,
            text,
            line_starts,
        }
    }

    fn line(&self, offset: usize) -> u32 {
        let idx = self.line_starts.partition_point(|&s| s <= offset);
        u32::try_from(idx.max(1)).unwrap_or(u32::MAX)
    }
}

struct Errors(Vec<RuleError>);

impl Errors {
    fn push(&mut self, file: &SourceFile<'_>, offset: usize, rule: Option<&str>, message: impl Into<String>) {
        self.0.push(RuleError {
            file: file.name.to_owned(),
            line: file.line(offset),
            rule: rule.map(str::to_owned),
            message: message.into(),
        });
    }
}

/// One `[[kind]]` table with its location, and typed accessors that report problems.
struct Item<'t, 'i> {
    file: usize,
    kind: &'static str,
    table: &'t DeTable<'i>,
    start: usize,
    id: Option<String>,
}

type SpannedVal<'t, 'i> = &'t Spanned<DeValue<'i>>;

impl<'t, 'i> Item<'t, 'i> {
    fn raw(&self, key: &str) -> Option<SpannedVal<'t, 'i>> {
        self.table.get(key)
    }

    fn key_offset(&self, key: &str) -> usize {
        self.table
            .get_key_value(key)
            .map_or(self.start, |(k, _)| k.span().start)
    }

    fn missing(&self, f: &SourceFile<'_>, errs: &mut Errors, key: &str) {
        errs.push(
            f,
            self.start,
            self.id.as_deref(),
            format!("[[{}]] mangler feltet «{key}»", self.kind),
        );
    }

    fn wrong_type(&self, f: &SourceFile<'_>, errs: &mut Errors, key: &str, want: &str, v: &DeValue<'_>) {
        errs.push(
            f,
            self.key_offset(key),
            self.id.as_deref(),
            format!("«{key}» skal være {want}, men er {}", toml_type(v)),
        );
    }

    fn str(
        &self,
        f: &SourceFile<'_>,
        errs: &mut Errors,
        key: &str,
        required: bool,
    ) -> Option<(String, usize)> {
        match self.raw(key) {
            None => {
                if required {
                    self.missing(f, errs, key);
                }
                None
            }
            Some(v) => match v.get_ref() {
                DeValue::String(s) if s.trim().is_empty() => {
                    errs.push(
                        f,
                        self.key_offset(key),
                        self.id.as_deref(),
                        format!("«{key}» er tom"),
                    );
                    None
                }
                DeValue::String(s) => Some((s.to_string(), v.span().start)),
                other => {
                    self.wrong_type(f, errs, key, "tekst", other);
                    None
                }
            },
        }
    }

    fn int(&self, f: &SourceFile<'_>, errs: &mut Errors, key: &str, range: Range<i64>) -> Option<i64> {
        let Some(v) = self.raw(key) else {
            self.missing(f, errs, key);
            return None;
        };
        match v.get_ref() {
            DeValue::Integer(i) => {
                let digits: String = i.as_str().chars().filter(|&c| c != '_').collect();
                match i64::from_str_radix(&digits, i.radix()) {
                    Ok(n) if range.contains(&n) => Some(n),
                    _ => {
                        errs.push(
                            f,
                            self.key_offset(key),
                            self.id.as_deref(),
                            format!(
                                "«{key}» må være et heltall fra og med {} til og med {}",
                                range.start,
                                range.end - 1
                            ),
                        );
                        None
                    }
                }
            }
            other => {
                self.wrong_type(f, errs, key, "et heltall", other);
                None
            }
        }
    }

    fn bool(&self, f: &SourceFile<'_>, errs: &mut Errors, key: &str, default: bool) -> bool {
        match self.raw(key).map(|v| v.get_ref()) {
            None => default,
            Some(DeValue::Boolean(b)) => *b,
            Some(other) => {
                self.wrong_type(f, errs, key, "true eller false", other);
                default
            }
        }
    }

    fn str_list(
        &self,
        f: &SourceFile<'_>,
        errs: &mut Errors,
        key: &str,
        required: bool,
    ) -> Vec<(String, usize)> {
        let Some(v) = self.raw(key) else {
            if required {
                self.missing(f, errs, key);
            }
            return Vec::new();
        };
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(
                f,
                errs,
                key,
                "en liste med tekster, f.eks. [\"a\", \"b\"]",
                v.get_ref(),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for it in items.iter() {
            match it.get_ref() {
                DeValue::String(s) => out.push((s.trim().to_owned(), it.span().start)),
                other => errs.push(
                    f,
                    it.span().start,
                    self.id.as_deref(),
                    format!("«{key}» kan bare inneholde tekst, men har {}", toml_type(other)),
                ),
            }
        }
        out
    }

    /// Rejects keys this kind of table does not know, with a suggestion for typos.
    fn unknown_keys(&self, f: &SourceFile<'_>, errs: &mut Errors, allowed: &[&str]) {
        for (k, _) in self.table.iter() {
            let key: &str = k.get_ref();
            if !allowed.contains(&key) {
                let hint = cond::suggest(key, allowed.iter().copied())
                    .map_or(String::new(), |s| format!(" (mente du «{s}»?)"));
                errs.push(
                    f,
                    k.span().start,
                    self.id.as_deref(),
                    format!(
                        "ukjent felt «{key}» i [[{}]]{hint}; gyldige felt: {}",
                        self.kind,
                        allowed.join(", ")
                    ),
                );
            }
        }
    }
}

fn toml_type(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "tekst",
        DeValue::Integer(_) => "et heltall",
        DeValue::Float(_) => "et desimaltall",
        DeValue::Boolean(_) => "true/false",
        DeValue::Datetime(_) => "en dato",
        DeValue::Array(_) => "en liste",
        DeValue::Table(_) => "en tabell",
    }
}

/// Ids are lower-case letters (æ, ø, å allowed: the tier is called `høy`), digits and `_`.
fn valid_id(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_lowercase() || c.is_ascii_digit() || c == '_')
        && s.chars().next().is_some_and(char::is_lowercase)
}

const TOP_KEYS: &[&str] = &["industry", "indicator", "tier", "parameter"];
const INDUSTRY_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "nace_sn2007",
    "nace_sn2025",
    "cpv",
    "keywords",
    "approval_register",
    "min_wage",
];
const INDICATOR_KEYS: &[&str] = &[
    "id",
    "title",
    "weight",
    "why",
    "source",
    "condition",
    "applies_when",
    "enabled",
];
const TIER_KEYS: &[&str] = &["id", "label", "min_score"];
const PARAM_KEYS: &[&str] = &["id", "title", "unit", "source", "values"];
const PARAM_VALUE_KEYS: &[&str] = &["from", "value", "source", "verified", "note"];
const REGISTERS: &[&str] = &["renhold", "bilpleie", "bemanning"];

struct Params<'p>(&'p [Parameter]);

impl ParamNames for Params<'_> {
    fn index_of(&self, id: &str) -> Option<usize> {
        self.0.iter().position(|p| p.id == id)
    }
    fn names(&self) -> Vec<String> {
        self.0.iter().map(|p| p.id.clone()).collect()
    }
}

/// Where the text of a TOML string value starts in the file, so that an offset inside a
/// condition maps to a file line (exact for literal strings `'…'`/`'''…'''`, which the
/// README recommends; approximate after escapes in `"…"`).
fn string_body_start(text: &str, span: &Range<usize>) -> usize {
    let raw = text.get(span.clone()).unwrap_or("");
    let mut start = span.start;
    if raw.starts_with("'''") || raw.starts_with("\"\"\"") {
        start += 3;
        let rest = &raw[3..];
        if rest.starts_with("\r\n") {
            start += 2;
        } else if rest.starts_with('\n') {
            start += 1;
        }
    } else if raw.starts_with('\'') || raw.starts_with('"') {
        start += 1;
    }
    start
}

fn cond_error(
    f: &SourceFile<'_>,
    errs: &mut Errors,
    id: Option<&str>,
    key: &str,
    body: usize,
    src: &str,
    e: CondError,
) {
    let at = src.get(e.offset..).unwrap_or("");
    let excerpt: String = at.lines().next().unwrap_or("").chars().take(30).collect();
    let near = if excerpt.trim().is_empty() {
        String::new()
    } else {
        format!(" (ved «{}»)", excerpt.trim())
    };
    errs.push(
        f,
        body + e.offset,
        id,
        format!("feil i «{key}»: {}{near}", e.message),
    );
}

pub(crate) fn build(files: &[(String, String)]) -> Result<RuleSet, RuleSetError> {
    let mut errs = Errors(Vec::new());
    let mut sorted: Vec<&(String, String)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for w in sorted.windows(2) {
        if w[0].0 == w[1].0 {
            errs.0.push(RuleError {
                file: w[0].0.clone(),
                line: 0,
                rule: None,
                message: "to filer har samme navn".into(),
            });
        }
    }
    if sorted.is_empty() {
        return Err(RuleSetError {
            errors: vec![RuleError {
                file: "rules/".into(),
                line: 0,
                rule: None,
                message: "ingen regelfiler (*.toml) funnet".into(),
            }],
        });
    }
    let sources: Vec<SourceFile<'_>> = sorted.iter().map(|(n, t)| SourceFile::new(n, t)).collect();
    let mut docs = Vec::new();
    for (i, f) in sources.iter().enumerate() {
        match DeTable::parse(f.text) {
            Ok(doc) => docs.push((i, doc)),
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                let message = match e.message().trim() {
                    // `toml` stops at 80 levels rather than overflow the stack.
                    "cannot recurse further; max recursion depth met" | "recursion limit" => {
                        "nøstet for dypt (høyst 80 nivåer med lister, tabeller og punktum-nøkler)"
                    }
                    other => other,
                };
                errs.push(f, offset, None, format!("ugyldig TOML: {message}"));
            }
        }
    }

    // Gather the `[[kind]]` tables of all files.
    let mut items: Vec<Item<'_, '_>> = Vec::new();
    for (fi, doc) in &docs {
        let f = &sources[*fi];
        for (k, v) in doc.get_ref().iter() {
            let key: &str = k.get_ref();
            let Some(&kind) = TOP_KEYS.iter().find(|t| **t == key) else {
                let hint = cond::suggest(key, TOP_KEYS.iter().copied())
                    .map_or(String::new(), |s| format!(" (mente du «[[{s}]]»?)"));
                errs.push(
                    f,
                    k.span().start,
                    None,
                    format!(
                        "ukjent nøkkel «{key}» på toppnivå{hint}; gyldige: [[industry]], [[indicator]], [[tier]], [[parameter]]"
                    ),
                );
                continue;
            };
            let DeValue::Array(arr) = v.get_ref() else {
                errs.push(
                    f,
                    k.span().start,
                    None,
                    format!("«{kind}» skal skrives som [[{kind}]] (dobbel hakeparentes), én per regel"),
                );
                continue;
            };
            for t in arr.iter() {
                let DeValue::Table(table) = t.get_ref() else {
                    errs.push(f, t.span().start, None, format!("[[{kind}]] skal være en tabell"));
                    continue;
                };
                let id = table
                    .get("id")
                    .and_then(|v| v.get_ref().as_str())
                    .map(str::to_owned);
                items.push(Item {
                    file: *fi,
                    kind,
                    table,
                    start: t.span().start,
                    id,
                });
            }
        }
    }

    // Ids: well-formed and unique per kind.
    for (n, it) in items.iter().enumerate() {
        let f = &sources[it.file];
        match &it.id {
            None => it.missing(f, &mut errs, "id"),
            Some(id) if !valid_id(id) => errs.push(
                f,
                it.key_offset("id"),
                Some(id),
                "«id» kan bare inneholde små bokstaver, sifre og _, og må begynne med en bokstav",
            ),
            Some(id) => {
                if let Some(first) = items[..n]
                    .iter()
                    .find(|o| o.kind == it.kind && o.id.as_ref() == Some(id))
                {
                    let of = &sources[first.file];
                    errs.push(
                        f,
                        it.key_offset("id"),
                        Some(id),
                        format!(
                            "[[{}]] med id «{id}» finnes allerede ({}:{})",
                            it.kind,
                            of.name,
                            of.line(first.start)
                        ),
                    );
                }
            }
        }
    }

    let params = build_params(&items, &sources, &mut errs);
    let industries = build_industries(&items, &sources, &params, &mut errs);
    let tiers = build_tiers(&items, &sources, &mut errs);
    let mut indicators = build_indicators(&items, &sources, &params, &mut errs);

    if !errs.0.is_empty() {
        let mut errors = errs.0;
        errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        errors.dedup();
        return Err(RuleSetError { errors });
    }
    let matcher = Matcher::new(&industries);
    let wage_param = industries
        .iter()
        .map(|i| {
            i.min_wage_param
                .as_ref()
                .and_then(|w| params.iter().position(|p| &p.id == w))
        })
        .collect();
    let owned: Vec<(String, String)> = sorted.iter().map(|(n, t)| (n.clone(), t.clone())).collect();
    for ind in &mut indicators {
        ind.prepared = super::assess::Prepared::new(ind);
    }
    let version = version_hash(&owned);
    let texts = super::assess::RuleSetTexts::new(&version, &tiers, &industries);
    Ok(RuleSet {
        version,
        files: owned.iter().map(|(n, _)| n.clone()).collect(),
        sources: owned,
        industries,
        matcher,
        indicators,
        tiers,
        params,
        wage_param,
        texts,
    })
}

fn of_kind<'a, 't, 'i>(
    items: &'a [Item<'t, 'i>],
    kind: &'static str,
) -> impl Iterator<Item = &'a Item<'t, 'i>> {
    items.iter().filter(move |i| i.kind == kind)
}

fn build_params(items: &[Item<'_, '_>], sources: &[SourceFile<'_>], errs: &mut Errors) -> Vec<Parameter> {
    let mut out = Vec::new();
    for it in of_kind(items, "parameter") {
        let f = &sources[it.file];
        it.unknown_keys(f, errs, PARAM_KEYS);
        let id = it.id.clone().unwrap_or_default();
        let title = it.str(f, errs, "title", true).map(|s| s.0).unwrap_or_default();
        let unit = it.str(f, errs, "unit", false).map(|s| s.0);
        let source = it.str(f, errs, "source", true).map(|s| s.0).unwrap_or_default();
        let mut values = Vec::new();
        match it.raw("values").map(|v| (v, v.get_ref())) {
            None => it.missing(f, errs, "values"),
            Some((_, DeValue::Array(arr))) if !arr.is_empty() => {
                for v in arr.iter() {
                    let DeValue::Table(t) = v.get_ref() else {
                        errs.push(
                            f,
                            v.span().start,
                            it.id.as_deref(),
                            "hver verdi skrives { from = 2024-01-01, value = 123.45, source = \"…\" }",
                        );
                        continue;
                    };
                    let vi = Item {
                        file: it.file,
                        kind: "parameter.values",
                        table: t,
                        start: v.span().start,
                        id: it.id.clone(),
                    };
                    if let Some(pv) = param_value(&vi, f, errs) {
                        values.push(pv);
                    }
                }
            }
            Some((v, _)) => errs.push(
                f,
                v.span().start,
                it.id.as_deref(),
                "«values» skal være en ikke-tom liste, f.eks. [{ from = 2024-01-01, value = 2050000 }]",
            ),
        }
        values.sort_by_key(|v: &ParamValue| v.from);
        for w in values.windows(2) {
            if w[0].from == w[1].from {
                errs.push(
                    f,
                    it.key_offset("values"),
                    it.id.as_deref(),
                    format!("to verdier gjelder fra samme dato {}", w[0].from),
                );
            }
        }
        out.push(Parameter {
            id,
            title,
            unit,
            source,
            values,
        });
    }
    out
}

fn param_value(vi: &Item<'_, '_>, f: &SourceFile<'_>, errs: &mut Errors) -> Option<ParamValue> {
    vi.unknown_keys(f, errs, PARAM_VALUE_KEYS);
    let from = match vi.raw("from").map(|v| v.get_ref()) {
        None => {
            vi.missing(f, errs, "from");
            None
        }
        Some(DeValue::Datetime(dt)) => match (dt.date, dt.time) {
            (Some(d), None) => {
                NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
            }
            _ => {
                errs.push(
                    f,
                    vi.key_offset("from"),
                    vi.id.as_deref(),
                    "«from» skal være en dato uten klokkeslett, f.eks. 2024-07-01",
                );
                None
            }
        },
        Some(DeValue::String(s)) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errs.push(
                    f,
                    vi.key_offset("from"),
                    vi.id.as_deref(),
                    format!("ugyldig dato «{s}» i «from» (skriv ÅÅÅÅ-MM-DD)"),
                );
                None
            }
        },
        Some(other) => {
            vi.wrong_type(f, errs, "from", "en dato (ÅÅÅÅ-MM-DD)", other);
            None
        }
    };
    let value = match vi.raw("value").map(|v| v.get_ref()) {
        None => {
            vi.missing(f, errs, "value");
            None
        }
        Some(DeValue::Integer(i)) => {
            let digits: String = i.as_str().chars().filter(|&c| c != '_').collect();
            i64::from_str_radix(&digits, i.radix()).ok().map(|n| n as f64)
        }
        Some(DeValue::Float(x)) => x
            .as_str()
            .replace('_', "")
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite()),
        Some(other) => {
            vi.wrong_type(f, errs, "value", "et tall (desimaler med punktum: 216.04)", other);
            None
        }
    };
    let source = vi.str(f, errs, "source", false).map(|s| s.0);
    let verified = vi.bool(f, errs, "verified", true);
    let note = vi.str(f, errs, "note", false).map(|s| s.0);
    Some(ParamValue {
        from: from?,
        value: value?,
        source,
        verified,
        note,
    })
}

fn build_industries(
    items: &[Item<'_, '_>],
    sources: &[SourceFile<'_>],
    params: &[Parameter],
    errs: &mut Errors,
) -> Vec<Industry> {
    let mut out = Vec::new();
    for it in of_kind(items, "industry") {
        let f = &sources[it.file];
        let id = it.id.as_deref();
        it.unknown_keys(f, errs, INDUSTRY_KEYS);
        let name = it.str(f, errs, "name", true).map(|s| s.0).unwrap_or_default();
        let _ = it.str(f, errs, "description", false);
        let mut nace = |key: &str| {
            let list = it.str_list(f, errs, key, true);
            if list.is_empty() && it.raw(key).is_some() {
                errs.push(
                    f,
                    it.key_offset(key),
                    id,
                    format!("«{key}» kan ikke være tom: bransjen må kjennes igjen i både SN2007 og SN2025"),
                );
            }
            let mut v = Vec::new();
            for (p, at) in list {
                if industry::valid_nace_prefix(&p) {
                    v.push(p);
                } else {
                    errs.push(f, at, id, format!("ugyldig næringskode-prefiks «{p}» i «{key}» (skriv f.eks. \"81.21\" eller \"43\")"));
                }
            }
            v
        };
        let nace_sn2007 = nace("nace_sn2007");
        let nace_sn2025 = nace("nace_sn2025");
        let mut cpv = Vec::new();
        for (p, at) in it.str_list(f, errs, "cpv", false) {
            match industry::normalise_cpv_prefix(&p) {
                Some(n) => cpv.push(n),
                None => errs.push(
                    f,
                    at,
                    id,
                    format!(
                        "ugyldig CPV-prefiks «{p}» (2–8 sifre, valgfritt med kontrollsiffer: \"90910000-9\")"
                    ),
                ),
            }
        }
        let mut keywords = Vec::new();
        for (k, at) in it.str_list(f, errs, "keywords", false) {
            if k.chars().count() < 3 {
                errs.push(
                    f,
                    at,
                    id,
                    format!("nøkkelordet «{k}» er for kort (minst 3 tegn) og vil treffe for mye"),
                );
            } else {
                keywords.push(k.to_lowercase());
            }
        }
        let approval_register = it.str(f, errs, "approval_register", false).map(|s| s.0);
        if let Some(r) = &approval_register
            && !REGISTERS.contains(&r.as_str())
        {
            errs.push(
                f,
                it.key_offset("approval_register"),
                id,
                format!("ukjent register «{r}»; gyldige: {}", REGISTERS.join(", ")),
            );
        }
        let min_wage_param = it.str(f, errs, "min_wage", false).map(|s| s.0);
        if let Some(p) = &min_wage_param
            && !params.iter().any(|x| &x.id == p)
        {
            let hint = cond::suggest(p, params.iter().map(|x| x.id.as_str()))
                .map_or(String::new(), |s| format!(" (mente du «{s}»?)"));
            errs.push(
                f,
                it.key_offset("min_wage"),
                id,
                format!("«min_wage» viser til ukjent parameter «{p}»{hint}"),
            );
        }
        out.push(Industry {
            id: it.id.clone().unwrap_or_default(),
            name,
            nace_sn2007,
            nace_sn2025,
            cpv,
            keywords,
            approval_register,
            min_wage_param,
        });
    }
    if out.len() > 64 {
        errs.0.push(RuleError {
            file: sources.first().map_or(String::new(), |s| s.name.to_owned()),
            line: 0,
            rule: None,
            message: format!("for mange bransjer ({}); høyst 64 støttes", out.len()),
        });
    }
    out
}

fn build_tiers(items: &[Item<'_, '_>], sources: &[SourceFile<'_>], errs: &mut Errors) -> Vec<Tier> {
    let mut out: Vec<(Tier, usize, usize)> = Vec::new();
    for it in of_kind(items, "tier") {
        let f = &sources[it.file];
        it.unknown_keys(f, errs, TIER_KEYS);
        let label = it.str(f, errs, "label", false).map(|s| s.0);
        let min = it.int(f, errs, "min_score", 0..1_000_001);
        if let Some(min) = min {
            let id = it.id.clone().unwrap_or_default();
            out.push((
                Tier {
                    label: label.unwrap_or_else(|| id.clone()),
                    id,
                    min_score: u32::try_from(min).unwrap_or(0),
                },
                it.file,
                it.key_offset("min_score"),
            ));
        }
    }
    out.sort_by_key(|t| t.0.min_score);
    if of_kind(items, "tier").next().is_none() {
        errs.0.push(RuleError {
            file: sources.first().map_or(String::new(), |s| s.name.to_owned()),
            line: 0,
            rule: None,
            message: "regelsettet har ingen [[tier]] (risikonivå); minst ett med min_score = 0 trengs".into(),
        });
    } else if let Some((first, fi, at)) = out.first()
        && first.min_score != 0
    {
        errs.push(
            &sources[*fi],
            *at,
            Some(&first.id),
            "det laveste risikonivået må ha min_score = 0, så hver poengsum får et nivå",
        );
    }
    for w in out.windows(2) {
        if w[0].0.min_score == w[1].0.min_score {
            errs.push(
                &sources[w[1].1],
                w[1].2,
                Some(&w[1].0.id),
                format!(
                    "to risikonivåer har samme min_score {} («{}» og «{}»)",
                    w[1].0.min_score, w[0].0.id, w[1].0.id
                ),
            );
        }
    }
    out.into_iter().map(|t| t.0).collect()
}

fn build_indicators(
    items: &[Item<'_, '_>],
    sources: &[SourceFile<'_>],
    params: &[Parameter],
    errs: &mut Errors,
) -> Vec<Indicator> {
    let mut out = Vec::new();
    let names = Params(params);
    for it in of_kind(items, "indicator") {
        let f = &sources[it.file];
        let id = it.id.as_deref();
        it.unknown_keys(f, errs, INDICATOR_KEYS);
        let title = it.str(f, errs, "title", true).map(|s| s.0);
        let why = it.str(f, errs, "why", true).map(|s| s.0);
        let source = it.str(f, errs, "source", true).map(|s| s.0);
        let weight = it.int(f, errs, "weight", 0..1001);
        let enabled = it.bool(f, errs, "enabled", true);
        let mut compile = |key: &str, required: bool| -> Option<(String, Condition)> {
            let (src, _) = it.str(f, errs, key, required)?;
            let v = it.raw(key)?;
            let body = string_body_start(f.text, &v.span());
            match cond::compile(&src, &names) {
                Ok(c) => Some((src, c)),
                Err(e) => {
                    cond_error(f, errs, id, key, body, &src, e);
                    None
                }
            }
        };
        let condition = compile("condition", true);
        let applies_when = if it.raw("applies_when").is_some() {
            compile("applies_when", false).map(Some)
        } else {
            Some(None)
        };
        if let (Some(title), Some(why), Some(source), Some(weight), Some(condition), Some(applies_when)) =
            (title, why, source, weight, condition, applies_when)
        {
            if !enabled {
                continue;
            }
            out.push(Indicator {
                id: it.id.clone().unwrap_or_default(),
                title,
                weight: u32::try_from(weight).unwrap_or(0),
                why,
                source,
                condition_text: condition.0,
                applies_when_text: applies_when.as_ref().map(|a| a.0.clone()),
                file: f.name.to_owned(),
                line: f.line(it.start),
                condition: condition.1,
                applies_when: applies_when.map(|a| a.1),
                prepared: Default::default(),
            });
        }
    }
    if out.len() > 128 {
        errs.0.push(RuleError {
            file: sources.first().map_or(String::new(), |s| s.name.to_owned()),
            line: 0,
            rule: None,
            message: format!("for mange indikatorer ({}); høyst 128 støttes", out.len()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIER: &str = "[[tier]]\nid = \"lav\"\nmin_score = 0\n";

    fn errors(text: &str) -> Vec<RuleError> {
        match build(&[("a.toml".to_owned(), text.to_owned())]) {
            Ok(_) => Vec::new(),
            Err(e) => e.errors,
        }
    }

    fn indicator(condition: &str) -> String {
        format!(
            "{TIER}\n[[indicator]]\nid = \"dyp\"\ntitle = \"Dyp\"\nweight = 1\nwhy = \"x\"\nsource = \"x\"\ncondition = '''{condition}'''\n"
        )
    }

    #[test]
    fn deeply_nested_condition_is_a_rule_error_with_file_and_line() {
        let n = 20_000;
        let text = indicator(&format!(
            "{}contract.value_nok > 1{}",
            "(".repeat(n),
            ")".repeat(n)
        ));
        let errs = errors(&text);
        assert_eq!(errs.len(), 1, "{errs:?}");
        let e = &errs[0];
        assert_eq!((e.file.as_str(), e.rule.as_deref()), ("a.toml", Some("dyp")));
        assert_eq!(e.line, 11, "the line of the condition: {e}");
        assert!(e.message.contains("nøstet for dypt"), "{e}");
        assert!(
            e.to_string()
                .starts_with("a.toml:11: regel «dyp»: feil i «condition»"),
            "{e}"
        );
        // A chain of 20 000 `and`s: parsed in a loop, but too deep a tree all the same.
        let text = indicator(&vec!["true"; n].join("\nand "));
        let errs = errors(&text);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].message.contains("nøstet for dypt"), "{}", errs[0]);
    }

    /// The TOML parser is the other recursive descent a rule file meets: `toml` limits its
    /// nesting (80 levels) and reports a syntax error, which must reach the author as one.
    #[test]
    fn deeply_nested_toml_is_an_error_not_a_stack_overflow() {
        let n = 20_000;
        let keys = vec!["a"; n].join(".");
        for (what, text) in [
            ("arrays", format!("x = {}1{}\n", "[".repeat(n), "]".repeat(n))),
            ("open arrays", format!("x = {}\n", "[".repeat(n))),
            (
                "inline tables",
                format!("x = {}1{}\n", "{ a = ".repeat(n), " }".repeat(n)),
            ),
            ("open inline tables", format!("x = {}\n", "{a=".repeat(n))),
            ("mixed", format!("x = {}1{}\n", "[{a=".repeat(n), "}]".repeat(n))),
            ("dotted keys", format!("{keys} = 1\n")),
            ("table header", format!("[{keys}]\nb = 1\n")),
            ("array-of-tables header", format!("[[{keys}]]\nb = 1\n")),
            (
                "indicator with a nested value",
                format!(
                    "{TIER}[[indicator]]\nid = \"dyp\"\nweight = {}1{}\n",
                    "[".repeat(n),
                    "]".repeat(n)
                ),
            ),
        ] {
            let text = format!("# {what}\n{text}");
            let errs = errors(&text);
            assert!(
                errs.iter().any(|e| e.file == "a.toml"
                    && e.line >= 1
                    && e.message == "ugyldig TOML: nøstet for dypt (høyst 80 nivåer med lister, tabeller og punktum-nøkler)"),
                "{what}: {errs:?}"
            );
        }
        // Within the limit, nesting is merely the wrong type for a rule field.
        let text = format!(
            "{TIER}[[indicator]]\nid = \"dyp\"\ntitle = {}\"x\"{}\n",
            "[".repeat(40),
            "]".repeat(40)
        );
        let errs = errors(&text);
        assert!(
            errs.iter().any(|e| e.message.contains("«title» skal være tekst")),
            "{errs:?}"
        );
    }
}
