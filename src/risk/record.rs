//! What an assessment decided, stored compactly, and the explanation rebuilt from it.
//!
//! An explanation shown to a person (titles, reasons to care, sources) is the rule set's text
//! around a few facts that are the assessment's own: which indicators fired, passed or could
//! not be computed, what each one saw (its evidence values) and why an input was missing.
//! Storing the rendered explanation as JSON with every assessment cost about 4 kB per
//! contract, almost all of it repeated: the field names, the weights and the Norwegian
//! reasons are the same for thousands of contracts. So the store keeps only what varies:
//!
//! - a [`Plan`] per rule-set version (stored once, with the rule set): the indicators in
//!   order with their weights and the names of their evidence, so an indicator is a bit and
//!   its evidence a list of values in a known order;
//! - per assessment, a [`Record`] encoded as bytes: three bit masks (fired, passed, not
//!   computable), the approval registers' load times, and for each fired or not-computable
//!   indicator its evidence values (typed: null, booleans, integers, floats, texts, lists)
//!   and its reason;
//! - texts that repeat across assessments (reasons, register names and load times) as
//!   numbers into a dictionary ([`Interner`] when writing, [`Dictionary`] when reading).
//!
//! [`decode`] rebuilds the [`StoredExplanation`] that was stored as JSON before, value for
//! value, so an explanation serialises to the same bytes whichever way it was stored (the
//! tests compare them). Pure: the dictionary and the plan come from the caller.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use chrono::NaiveDateTime;

use super::value::{Val, iso_date};
use super::{Assessment, Finding, RuleSet};

/// The first byte of every encoded record: the format, so another can follow.
const FORMAT: u8 = 1;

/// The explanation as stored before records existed, and as rebuilt from one: rule ids with
/// their evidence and reasons. Titles, reasons to care and sources are the rule set's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredExplanation {
    pub industries: Vec<String>,
    pub fired: Vec<StoredFinding>,
    pub not_computable: Vec<StoredFinding>,
    pub passed: Vec<String>,
    pub approvals_loaded_at: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredFinding {
    pub rule: String,
    pub weight: u32,
    pub evidence: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The shape of a rule-set version that records are read with: its indicators in order,
/// each with its weight and the names of its evidence (sorted, as findings hold them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Plan {
    pub indicators: Vec<PlannedIndicator>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PlannedIndicator {
    pub id: String,
    pub weight: u32,
    pub evidence: Vec<String>,
}

impl Plan {
    pub fn of(rules: &RuleSet) -> Plan {
        Plan {
            indicators: rules
                .indicators
                .iter()
                .map(|i| PlannedIndicator {
                    id: i.id.clone(),
                    weight: i.weight,
                    evidence: i.prepared.evidence_names().map(str::to_owned).collect(),
                })
                .collect(),
        }
    }
}

/// Gives a number to a text when writing (the same number for the same text, for good).
pub trait Interner {
    fn intern(&mut self, text: &str) -> u64;

    /// The number of the text `make` makes from the inputs `key` stands for (equal keys
    /// make equal texts), calling `make` only for a key not remembered: a reason an
    /// indicator could not be computed is the same for thousands of assessments, and making
    /// it, then hashing it, was a quarter of an import's scoring.
    fn intern_made(&mut self, key: &[u8], make: &mut dyn FnMut() -> String) -> u64 {
        let _ = key;
        self.intern(&make())
    }
}

/// Remembers [`Interner::intern_made`]'s numbers by key, for an interner to keep beside its
/// texts.
#[derive(Default)]
pub struct MadeTexts {
    /// Seeded at random, as the interners' own maps.
    by_key: HashMap<Vec<u8>, u64, foldhash::fast::RandomState>,
}

impl MadeTexts {
    /// Keys remembered at most: past it, texts are made (and numbered) as they come. Real
    /// rule sets give a few hundred.
    const MOST: usize = 100_000;

    /// The number remembered for `key`, or the one `number` gives the text `make` makes.
    pub fn get_or_make(
        &mut self,
        key: &[u8],
        make: &mut dyn FnMut() -> String,
        number: impl FnOnce(&str) -> u64,
    ) -> u64 {
        if let Some(&id) = self.by_key.get(key) {
            return id;
        }
        let id = number(&make());
        if self.by_key.len() < Self::MOST {
            self.by_key.insert(key.to_vec(), id);
        }
        id
    }
}

/// The texts behind the numbers, when reading.
pub trait Dictionary {
    fn text(&self, id: u64) -> Option<&str>;
}

impl Dictionary for HashMap<u64, String> {
    fn text(&self, id: u64) -> Option<&str> {
        self.get(&id).map(String::as_str)
    }
}

/// The assessment does not fit the rule set's plan (an indicator or an evidence name it does
/// not know): the caller keeps the JSON explanation instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the assessment does not fit the rule set's plan: {0}")]
pub struct Mismatch(pub String);

/// Encodes what `a` decided, against `plan` (the plan of `a`'s rule set). Industries, score,
/// tier and the rule-set version are stored beside the record, not in it.
pub fn encode<I: Interner>(plan: &Plan, a: &Assessment, interner: &mut I) -> Result<Vec<u8>, Mismatch> {
    // Findings and passed indicators come in the rule set's order, as the plan lists them:
    // one walk along the plan finds each one's bit (no map to build per assessment).
    let positions = |ids: &mut dyn Iterator<Item = &str>| -> Result<(u128, Vec<usize>), Mismatch> {
        let mut mask = 0u128;
        let mut at = Vec::new();
        let mut next = 0usize;
        for id in ids {
            let offset = plan.indicators[next.min(plan.indicators.len())..]
                .iter()
                .position(|p| p.id == id)
                .ok_or_else(|| Mismatch(format!("indicator {id} (or its order)")))?;
            let i = next + offset;
            if i >= 128 {
                return Err(Mismatch(format!("indicator {id} beyond 128")));
            }
            mask |= 1u128 << i;
            at.push(i);
            next = i + 1;
        }
        Ok((mask, at))
    };
    let (fired, fired_at) = positions(&mut a.fired.iter().map(|f| f.rule.as_str()))?;
    let (not_computable, nc_at) = positions(&mut a.not_computable.iter().map(|f| f.rule.as_str()))?;
    let (passed, _) = positions(&mut a.passed.iter().map(|p| p.as_str()))?;
    let mut out = Vec::with_capacity(64);
    out.push(FORMAT);
    put_u128(&mut out, fired);
    put_u128(&mut out, not_computable);
    put_u128(&mut out, passed);
    put_approvals(
        &mut out,
        a.approvals_loaded_at.iter().map(|(r, at)| (r.as_str(), at)),
        interner,
    )?;
    for ((f, with_reason), i) in a
        .fired
        .iter()
        .map(|f| (f, false))
        .chain(a.not_computable.iter().map(|f| (f, true)))
        .zip(fired_at.into_iter().chain(nc_at))
    {
        let planned = &plan.indicators[i];
        if f.weight != planned.weight
            || f.evidence.len() != planned.evidence.len()
            || f.evidence.keys().zip(&planned.evidence).any(|(k, p)| k != p)
        {
            return Err(Mismatch(format!("evidence of {}", f.rule)));
        }
        for v in f.evidence.values() {
            put_value(&mut out, v, interner);
        }
        match (&f.reason, with_reason) {
            (Some(r), true) => put_u64(&mut out, interner.intern(r)),
            (None, false) => {}
            _ => return Err(Mismatch(format!("reason of {}", f.rule))),
        }
    }
    Ok(out)
}

/// The approval registers' load times, sorted by register.
fn put_approvals<'a, I: Interner>(
    out: &mut Vec<u8>,
    approvals: impl ExactSizeIterator<Item = (&'a str, &'a NaiveDateTime)>,
    interner: &mut I,
) -> Result<(), Mismatch> {
    put_u64(out, approvals.len() as u64);
    for (register, at) in approvals {
        // As the explanation's JSON writes it (chrono's serde form).
        let at = match serde_json::to_value(at) {
            Ok(Value::String(s)) => s,
            _ => return Err(Mismatch(format!("load time of {register}"))),
        };
        put_u64(out, interner.intern(register));
        put_u64(out, interner.intern(&at));
    }
    Ok(())
}

/// Writes a record while the rule engine decides ([`crate::risk::RuleSet::record_scored`]),
/// without the explained assessment in between: the bytes [`encode`] writes for the same
/// assessment (the property tests in `tests/risk_rules.rs` compare them). The caller writes
/// the evidence of each fired indicator in the rule set's order, then of each indicator
/// that could not be computed, each followed by its reason.
pub(crate) struct RecordWriter<'i, I: Interner> {
    out: Vec<u8>,
    interner: &'i mut I,
}

impl<'i, I: Interner> RecordWriter<'i, I> {
    /// Starts a record with its masks and the approval registers' load times (sorted by
    /// register, as the explained assessment's map holds them).
    pub(crate) fn new<'a>(
        interner: &'i mut I,
        fired: u128,
        not_computable: u128,
        passed: u128,
        approvals: impl ExactSizeIterator<Item = (&'a str, &'a NaiveDateTime)>,
    ) -> Result<Self, Mismatch> {
        let mut out = Vec::with_capacity(64);
        out.push(FORMAT);
        put_u128(&mut out, fired);
        put_u128(&mut out, not_computable);
        put_u128(&mut out, passed);
        put_approvals(&mut out, approvals, interner)?;
        Ok(RecordWriter { out, interner })
    }

    /// One evidence value, as [`encode`] writes its JSON.
    pub(crate) fn evidence(&mut self, v: Val<'_>) {
        match v {
            Val::Missing(_) => self.out.push(NULL),
            Val::Bool(b) => self.out.push(if b { TRUE } else { FALSE }),
            Val::Str(s) => put_text(&mut self.out, s, self.interner),
            Val::Date(d) => put_text(&mut self.out, &iso_date(d), self.interner),
            // Numbers cost no allocation as JSON; intervals and lists are rare.
            v @ (Val::Num(..) | Val::List(_)) => put_value(&mut self.out, &v.to_json(), self.interner),
        }
    }

    /// The reason an indicator could not be computed (after its evidence), made by `make`
    /// unless the interner remembers `key` (see [`Interner::intern_made`]).
    pub(crate) fn reason_made(&mut self, key: &[u8], make: &mut dyn FnMut() -> String) {
        let id = self.interner.intern_made(key, make);
        put_u64(&mut self.out, id);
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// Why stored bytes could not be read back.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unreadable assessment record: {0}")]
pub struct DecodeError(String);

fn bad(what: &str) -> DecodeError {
    DecodeError(what.to_owned())
}

/// Rebuilds the stored explanation from a record made with `plan`; `industries` are the
/// assessment's (stored beside the record).
pub fn decode(
    plan: &Plan,
    bytes: &[u8],
    industries: Vec<String>,
    dict: &dyn Dictionary,
) -> Result<StoredExplanation, DecodeError> {
    walk(plan, bytes, industries, &mut |id| {
        dict.text(id)
            .map(str::to_owned)
            .ok_or_else(|| DecodeError(format!("text {id} is not in the dictionary")))
    })
}

/// The dictionary numbers a record refers to (to load them before [`decode`]).
pub fn text_ids(plan: &Plan, bytes: &[u8]) -> Result<Vec<u64>, DecodeError> {
    let mut ids = Vec::new();
    walk(plan, bytes, Vec::new(), &mut |id| {
        ids.push(id);
        Ok(String::new())
    })?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The ids of the indicators that fired, read from the record's first mask alone.
pub fn fired<'p>(plan: &'p Plan, bytes: &[u8]) -> Result<impl Iterator<Item = &'p str> + 'p, DecodeError> {
    let mut r = Reader { bytes, at: 0 };
    if r.byte()? != FORMAT {
        return Err(bad("unknown format"));
    }
    let mask = r.u128()?;
    Ok(plan
        .indicators
        .iter()
        .enumerate()
        .filter(move |(i, _)| *i < 128 && mask & (1u128 << i) != 0)
        .map(|(_, p)| p.id.as_str()))
}

fn walk(
    plan: &Plan,
    bytes: &[u8],
    industries: Vec<String>,
    text_of: &mut dyn FnMut(u64) -> Result<String, DecodeError>,
) -> Result<StoredExplanation, DecodeError> {
    let mut r = Reader { bytes, at: 0 };
    if r.byte()? != FORMAT {
        return Err(bad("unknown format"));
    }
    let fired = r.u128()?;
    let not_computable = r.u128()?;
    let passed = r.u128()?;
    let mut approvals = Map::new();
    for _ in 0..r.u64()? {
        let register = text_of(r.u64()?)?;
        let at = text_of(r.u64()?)?;
        approvals.insert(register, Value::String(at));
    }
    let indicators = |mask: u128| {
        plan.indicators
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i < 128 && mask & (1u128 << i) != 0)
            .map(|(_, p)| p)
    };
    let known = plan.indicators.len();
    if known < 128 && (fired | not_computable | passed) >> known != 0 {
        return Err(bad("an indicator the plan does not have"));
    }
    let mut findings = |mask: u128, with_reason: bool| -> Result<Vec<StoredFinding>, DecodeError> {
        let mut out = Vec::new();
        for p in indicators(mask) {
            let mut evidence = Map::new();
            for name in &p.evidence {
                evidence.insert(name.clone(), r.value(0, text_of)?);
            }
            let reason = if with_reason {
                Some(text_of(r.u64()?)?)
            } else {
                None
            };
            out.push(StoredFinding {
                rule: p.id.clone(),
                weight: p.weight,
                evidence: Value::Object(evidence),
                reason,
            });
        }
        Ok(out)
    };
    let fired = findings(fired, false)?;
    let not_computable = findings(not_computable, true)?;
    if r.at != bytes.len() {
        return Err(bad("trailing bytes"));
    }
    Ok(StoredExplanation {
        industries,
        fired,
        not_computable,
        passed: indicators(passed).map(|p| p.id.clone()).collect(),
        approvals_loaded_at: Value::Object(approvals),
    })
}

// ---------------------------------------------------------------------------------------
// The byte format: LEB128 unsigned integers, and JSON values with a one-byte tag.

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const UINT: u8 = 3;
const NEG_INT: u8 = 4;
const FLOAT: u8 = 5;
const STRING: u8 = 6;
const ARRAY: u8 = 7;
const OBJECT: u8 = 8;
const TEXT_REF: u8 = 9;

/// Nesting deeper than this is refused when reading (evidence is at most a list of texts).
const MAX_DEPTH: u32 = 16;

fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn put_u128(out: &mut Vec<u8>, mut v: u128) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Texts up to this long in evidence are numbers into the dictionary: such texts are codes,
/// dates and words from the rules (`renhold`, `2025-10-18`, `NUF`) that thousands of
/// assessments repeat; a longer text (a title) is stored where it occurs.
const SHORT_TEXT: usize = 24;

/// A text: a number into the dictionary when short, else the text itself.
fn put_text<I: Interner>(out: &mut Vec<u8>, s: &str, interner: &mut I) {
    if s.len() <= SHORT_TEXT {
        out.push(TEXT_REF);
        put_u64(out, interner.intern(s));
    } else {
        out.push(STRING);
        put_str(out, s);
    }
}

fn put_value<I: Interner>(out: &mut Vec<u8>, v: &Value, interner: &mut I) {
    match v {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Number(n) => {
            // The variant is kept, so the number prints as it did (`5` stays `5`, `5.0` stays `5.0`).
            if let Some(u) = n.as_u64() {
                out.push(UINT);
                put_u64(out, u);
            } else if let Some(i) = n.as_i64() {
                out.push(NEG_INT);
                // Negative here: stored as its distance below zero, minus one.
                put_u64(out, !(i as u64));
            } else {
                out.push(FLOAT);
                out.extend_from_slice(&n.as_f64().unwrap_or(f64::NAN).to_le_bytes());
            }
        }
        Value::String(s) => put_text(out, s, interner),
        Value::Array(items) => {
            out.push(ARRAY);
            put_u64(out, items.len() as u64);
            for i in items {
                put_value(out, i, interner);
            }
        }
        Value::Object(m) => {
            out.push(OBJECT);
            put_u64(out, m.len() as u64);
            for (k, v) in m {
                put_str(out, k);
                put_value(out, v, interner);
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self.bytes.get(self.at).ok_or_else(|| bad("truncated"))?;
        self.at += 1;
        Ok(b)
    }

    fn u128(&mut self) -> Result<u128, DecodeError> {
        let mut v = 0u128;
        for shift in (0..128).step_by(7) {
            let b = self.byte()?;
            v |= u128::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("integer too long"))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        u64::try_from(self.u128()?).map_err(|_| bad("integer too large"))
    }

    fn len(&mut self) -> Result<usize, DecodeError> {
        let n = usize::try_from(self.u64()?).map_err(|_| bad("length"))?;
        // Every item takes at least a byte: a length beyond the rest is corrupt.
        if n > self.bytes.len() - self.at {
            return Err(bad("length beyond the end"));
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let n = self.len()?;
        let s =
            std::str::from_utf8(&self.bytes[self.at..self.at + n]).map_err(|_| bad("text is not UTF-8"))?;
        self.at += n;
        Ok(s.to_owned())
    }

    fn value(
        &mut self,
        depth: u32,
        text_of: &mut dyn FnMut(u64) -> Result<String, DecodeError>,
    ) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(bad("nested too deep"));
        }
        Ok(match self.byte()? {
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            UINT => Value::Number(self.u64()?.into()),
            NEG_INT => Value::Number((!self.u64()? as i64).into()),
            FLOAT => {
                let raw = self
                    .bytes
                    .get(self.at..self.at + 8)
                    .ok_or_else(|| bad("truncated"))?;
                self.at += 8;
                let f = f64::from_le_bytes(raw.try_into().map_err(|_| bad("float"))?);
                Value::Number(Number::from_f64(f).ok_or_else(|| bad("not a finite number"))?)
            }
            STRING => Value::String(self.string()?),
            TEXT_REF => Value::String(text_of(self.u64()?)?),
            ARRAY => {
                let n = self.len()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(depth + 1, text_of)?);
                }
                Value::Array(items)
            }
            OBJECT => {
                let n = self.len()?;
                let mut m = Map::new();
                for _ in 0..n {
                    let k = self.string()?;
                    m.insert(k, self.value(depth + 1, text_of)?);
                }
                Value::Object(m)
            }
            t => return Err(DecodeError(format!("unknown value tag {t}"))),
        })
    }
}

/// The explanation of `a` as it was stored as JSON (the shape of [`StoredExplanation`]),
/// for assessments whose record does not fit their plan, and for comparing in tests.
pub fn explanation_json(a: &Assessment) -> String {
    #[derive(Serialize)]
    struct ExplanationRef<'a> {
        industries: &'a [super::Text],
        fired: Vec<FindingRef<'a>>,
        not_computable: Vec<FindingRef<'a>>,
        passed: &'a [super::Text],
        approvals_loaded_at: &'a std::collections::BTreeMap<String, chrono::NaiveDateTime>,
    }
    #[derive(Serialize)]
    struct FindingRef<'a> {
        rule: &'a str,
        weight: u32,
        evidence: &'a super::Evidence,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<&'a str>,
    }
    fn finding(f: &Finding) -> FindingRef<'_> {
        FindingRef {
            rule: f.rule.as_str(),
            weight: f.weight,
            evidence: &f.evidence,
            reason: f.reason.as_deref(),
        }
    }
    let r = ExplanationRef {
        industries: &a.industries,
        fired: a.fired.iter().map(finding).collect(),
        not_computable: a.not_computable.iter().map(finding).collect(),
        passed: &a.passed,
        approvals_loaded_at: &a.approvals_loaded_at,
    };
    serde_json::to_string(&r).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dictionary in memory.
    #[derive(Default)]
    struct Texts {
        ids: HashMap<String, u64>,
        texts: HashMap<u64, String>,
    }

    impl Interner for Texts {
        fn intern(&mut self, text: &str) -> u64 {
            let next = self.ids.len() as u64 + 1;
            let id = *self.ids.entry(text.to_owned()).or_insert(next);
            self.texts.insert(id, text.to_owned());
            id
        }
    }

    #[test]
    fn values_survive_the_byte_format_and_print_the_same() {
        let values = [
            serde_json::json!(null),
            serde_json::json!(true),
            serde_json::json!(false),
            serde_json::json!(0),
            serde_json::json!(5),
            serde_json::json!(u64::MAX),
            serde_json::json!(-1),
            serde_json::json!(i64::MIN),
            serde_json::json!(5.0),
            serde_json::json!(-0.25),
            serde_json::json!(1e300),
            serde_json::json!("Renhold «AS» – 1–4"),
            serde_json::json!("A title longer than twenty-four bytes, stored inline"),
            serde_json::json!(""),
            serde_json::json!(["renhold", "bygg"]),
            serde_json::json!({"a": [1, {"b": null}], "c": "d"}),
        ];
        let mut texts = Texts::default();
        for v in values {
            let mut out = Vec::new();
            put_value(&mut out, &v, &mut texts);
            let mut r = Reader { bytes: &out, at: 0 };
            let back = r
                .value(0, &mut |id| Ok(texts.texts.get(&id).cloned().unwrap_or_default()))
                .unwrap();
            assert_eq!(r.at, out.len());
            assert_eq!(
                serde_json::to_string(&back).unwrap(),
                serde_json::to_string(&v).unwrap()
            );
        }
    }

    #[test]
    fn corrupt_bytes_are_refused_not_misread() {
        let plan = Plan {
            indicators: vec![PlannedIndicator {
                id: "a".into(),
                weight: 3,
                evidence: vec!["x".into()],
            }],
        };
        let dict: HashMap<u64, String> = HashMap::new();
        // Format byte wrong, truncated masks, an indicator the plan lacks, trailing bytes,
        // a string length beyond the end.
        for bytes in [
            vec![9u8, 0, 0, 0, 0],
            vec![FORMAT, 0x80],
            vec![FORMAT, 0b10, 0, 0, 0],
            vec![FORMAT, 0, 0, 1, 0, 7],
            vec![FORMAT, 1, 0, 0, 0, STRING, 200, 1],
        ] {
            assert!(decode(&plan, &bytes, Vec::new(), &dict).is_err(), "{bytes:?}");
        }
        // Well-formed: indicator a fired, saw x = true.
        let ok = decode(&plan, &[FORMAT, 1, 0, 0, 0, TRUE], vec!["renhold".into()], &dict).unwrap();
        assert_eq!(ok.fired.len(), 1);
        assert_eq!(ok.fired[0].evidence, serde_json::json!({"x": true}));
        assert_eq!(ok.fired[0].weight, 3);
    }
}
