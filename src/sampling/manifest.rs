//! The manifest: the population of a draw, frozen as text before the seed is known.
//!
//! Text format (UTF-8), one line per contract: `stratum<TAB>id<TAB>weight\n`. Every line,
//! including the last, ends with a single `\n`. Lines are sorted by stratum name, then by id,
//! both byte-wise (UTF-8 bytes, i.e. Unicode code point order). A weight is a positive integer
//! in plain decimal (no sign, no leading zeros). Stratum names and ids are non-empty and
//! contain no control characters (so no TAB, LF or CR); an id occurs once in the whole
//! manifest. There is exactly one text for a given population, so its SHA-256 identifies the
//! population: [`Manifest::parse`] accepts only that canonical text, and
//! [`Manifest::to_text`] produces it.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::SamplingError;

/// One contract of the population: its stratum (e.g. industry), canonical id and weight
/// (risk points, used by the weighted part only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub stratum: String,
    pub id: String,
    pub weight: u64,
}

/// A validated, canonically ordered population.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    strata: Vec<Stratum>,
    len: usize,
    total_weight: u64,
}

/// The contracts of one stratum, in manifest order (ids sorted byte-wise).
///
/// Ids live in one string arena rather than one `String` each: a million small allocations
/// would dominate the time to parse a large manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stratum {
    name: String,
    ids: String,
    /// `ends[i]` is the end offset of id `i` in `ids`.
    ends: Vec<usize>,
    weights: Vec<u64>,
    /// `cumulative[i]` = weight of ids `0..=i` (the `C(i)` of the published description).
    cumulative: Vec<u64>,
}

impl Stratum {
    fn new(name: String) -> Self {
        Stratum {
            name,
            ids: String::new(),
            ends: Vec::new(),
            weights: Vec::new(),
            cumulative: Vec::new(),
        }
    }

    fn push(&mut self, id: &str, weight: u64) -> Result<(), SamplingError> {
        let total = self
            .total_weight()
            .checked_add(weight)
            .ok_or(SamplingError::WeightOverflow)?;
        self.ids.push_str(id);
        self.ends.push(self.ids.len());
        self.weights.push(weight);
        self.cumulative.push(total);
        Ok(())
    }

    /// The stratum's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of contracts in the stratum (never 0 in a valid manifest).
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Always false for a stratum of a valid manifest; here for completeness.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// The id at manifest position `index` (0-based), if any.
    pub fn id(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)?;
        let start = match index {
            0 => 0,
            _ => *self.ends.get(index - 1)?,
        };
        self.ids.get(start..end)
    }

    /// The ids in manifest order.
    pub fn ids(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).filter_map(|i| self.id(i))
    }

    /// The weights in manifest order.
    pub fn weights(&self) -> &[u64] {
        &self.weights
    }

    /// Running sums of the weights: entry `i` is the sum of weights `0..=i`.
    pub fn cumulative_weights(&self) -> &[u64] {
        &self.cumulative
    }

    /// `W`, the sum of the stratum's weights (its risk mass).
    pub fn total_weight(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// Manifest position of `id`, by binary search (ids are sorted byte-wise).
    pub fn index_of(&self, id: &str) -> Option<usize> {
        let mut lo = 0;
        let mut hi = self.len();
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.id(mid)?.as_bytes().cmp(id.as_bytes()) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}

impl Manifest {
    /// Builds a manifest from entries in any order: they are validated and sorted into the
    /// canonical order.
    pub fn new(mut entries: Vec<ManifestEntry>) -> Result<Self, SamplingError> {
        if entries.is_empty() {
            return Err(SamplingError::EmptyManifest);
        }
        for e in &entries {
            check_name("stratum name", &e.stratum)?;
            check_name("contract id", &e.id)?;
            if e.weight == 0 {
                return Err(SamplingError::ZeroWeight {
                    stratum: e.stratum.clone(),
                    id: e.id.clone(),
                });
            }
        }
        // String's Ord is byte-wise, which is the manifest order.
        entries.sort_unstable_by(|a, b| (&a.stratum, &a.id).cmp(&(&b.stratum, &b.id)));
        let mut strata: Vec<Stratum> = Vec::new();
        let mut prev: Option<&ManifestEntry> = None;
        for e in &entries {
            if let Some(p) = prev
                && p.stratum == e.stratum
                && p.id == e.id
            {
                return Err(SamplingError::DuplicateId {
                    id: e.id.clone(),
                    first: p.stratum.clone(),
                    second: e.stratum.clone(),
                });
            }
            let needs_new = strata.last().is_none_or(|s| s.name != e.stratum);
            if needs_new {
                strata.push(Stratum::new(e.stratum.clone()));
            }
            if let Some(s) = strata.last_mut() {
                s.push(&e.id, e.weight)?;
            }
            prev = Some(e);
        }
        Self::finish(strata)
    }

    /// Parses manifest text. Only the canonical text is accepted (sorted, every line ending
    /// in `\n`, canonical weights), so that `Manifest::parse(t)?.to_text() == t` and the hash
    /// of the text is the hash of the population.
    pub fn parse(text: &str) -> Result<Self, SamplingError> {
        if text.is_empty() {
            return Err(SamplingError::EmptyManifest);
        }
        let Some(body) = text.strip_suffix('\n') else {
            return Err(SamplingError::ManifestLine {
                line: text.split('\n').count(),
                reason: "the last line does not end with a newline (every line, the last one \
                         too, must end with \\n)"
                    .to_owned(),
            });
        };
        let mut strata: Vec<Stratum> = Vec::new();
        let mut prev_id: &str = "";
        for (i, line) in body.split('\n').enumerate() {
            let line_no = i + 1;
            let err = |reason: String| SamplingError::ManifestLine {
                line: line_no,
                reason,
            };
            if line.ends_with('\r') {
                return Err(err("the line ends with a carriage return (CRLF line endings); \
                                lines must end with \\n only"
                    .to_owned()));
            }
            let mut fields = line.split('\t');
            let (Some(stratum), Some(id), Some(weight), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(err(format!(
                    "expected 3 fields stratum<TAB>id<TAB>weight, found {}",
                    line.split('\t').count()
                )));
            };
            check_name("stratum name", stratum).map_err(|e| err(e.to_string()))?;
            check_name("contract id", id).map_err(|e| err(e.to_string()))?;
            let weight = parse_weight(weight).map_err(err)?;
            let same_stratum = strata.last().is_some_and(|s| s.name == stratum);
            if same_stratum {
                match id.as_bytes().cmp(prev_id.as_bytes()) {
                    Ordering::Greater => {}
                    Ordering::Equal => {
                        return Err(err(format!("contract id {id:?} is listed twice")));
                    }
                    Ordering::Less => {
                        return Err(err(format!(
                            "ids must be sorted byte-wise within a stratum: {id:?} comes after \
                             {prev_id:?}"
                        )));
                    }
                }
            } else {
                if let Some(last) = strata.last()
                    && stratum.as_bytes() <= last.name.as_bytes()
                {
                    return Err(err(format!(
                        "strata must be sorted by name and each stratum's lines kept \
                             together: {stratum:?} comes after {:?}",
                        last.name
                    )));
                }
                strata.push(Stratum::new(stratum.to_owned()));
            }
            if let Some(s) = strata.last_mut() {
                s.push(id, weight).map_err(|e| err(e.to_string()))?;
            }
            prev_id = id;
        }
        Self::finish(strata)
    }

    fn finish(strata: Vec<Stratum>) -> Result<Self, SamplingError> {
        if strata.is_empty() {
            return Err(SamplingError::EmptyManifest);
        }
        check_ids_unique_across_strata(&strata)?;
        let mut len = 0usize;
        let mut total_weight = 0u64;
        for s in &strata {
            len += s.len();
            total_weight = total_weight
                .checked_add(s.total_weight())
                .ok_or(SamplingError::WeightOverflow)?;
        }
        Ok(Manifest {
            strata,
            len,
            total_weight,
        })
    }

    /// The canonical text: `stratum<TAB>id<TAB>weight\n` per contract.
    pub fn to_text(&self) -> String {
        let mut out = Vec::with_capacity(self.text_len_estimate());
        self.write_text(|chunk| out.extend_from_slice(chunk));
        // Only valid UTF-8 pieces were written; the fallback is unreachable.
        String::from_utf8(out).unwrap_or_default()
    }

    /// Lowercase hex SHA-256 of [`Manifest::to_text`], computed without building the text.
    pub fn sha256_hex(&self) -> String {
        let mut hasher = Sha256::new();
        self.write_text(|chunk| hasher.update(chunk));
        super::hex_lower(&hasher.finalize().into())
    }

    /// Streams the canonical text in chunks of about 64 KiB.
    fn write_text(&self, mut sink: impl FnMut(&[u8])) {
        const FLUSH_AT: usize = 64 * 1024;
        let mut buf: Vec<u8> = Vec::with_capacity(FLUSH_AT + 256);
        for s in &self.strata {
            for (i, id) in s.ids().enumerate() {
                buf.extend_from_slice(s.name.as_bytes());
                buf.push(b'\t');
                buf.extend_from_slice(id.as_bytes());
                buf.push(b'\t');
                let w = s.weights.get(i).copied().unwrap_or(0);
                buf.extend_from_slice(w.to_string().as_bytes());
                buf.push(b'\n');
                if buf.len() >= FLUSH_AT {
                    sink(&buf);
                    buf.clear();
                }
            }
        }
        if !buf.is_empty() {
            sink(&buf);
        }
    }

    fn text_len_estimate(&self) -> usize {
        self.strata
            .iter()
            .map(|s| s.ids.len() + s.len() * (s.name.len() + 6))
            .sum()
    }

    /// The strata, sorted by name.
    pub fn strata(&self) -> &[Stratum] {
        &self.strata
    }

    /// The stratum called `name`, if present.
    pub fn stratum(&self, name: &str) -> Option<&Stratum> {
        self.strata
            .binary_search_by(|s| s.name.as_bytes().cmp(name.as_bytes()))
            .ok()
            .and_then(|i| self.strata.get(i))
    }

    /// Number of contracts.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a manifest has at least one contract.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sum of all weights.
    pub fn total_weight(&self) -> u64 {
        self.total_weight
    }

    /// The entries in manifest order (allocates one entry per contract).
    pub fn entries(&self) -> impl Iterator<Item = ManifestEntry> + '_ {
        self.strata.iter().flat_map(|s| {
            s.ids().zip(s.weights.iter()).map(|(id, &weight)| ManifestEntry {
                stratum: s.name.clone(),
                id: id.to_owned(),
                weight,
            })
        })
    }
}

/// Stratum names and ids must fit in a manifest line and be readable when printed.
fn check_name(what: &'static str, value: &str) -> Result<(), SamplingError> {
    let reason = if value.is_empty() {
        "must not be empty"
    } else if value.contains('\t') {
        "must not contain a TAB"
    } else if value.contains(['\n', '\r']) {
        "must not contain a line break"
    } else if value.chars().any(char::is_control) {
        "must not contain control characters"
    } else {
        return Ok(());
    };
    Err(SamplingError::InvalidName {
        what,
        value: value.to_owned(),
        reason,
    })
}

/// A weight is written in plain decimal: digits only, no leading zero, at least 1.
fn parse_weight(text: &str) -> Result<u64, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "weight {text:?} is not a positive integer written with digits only"
        ));
    }
    if text == "0" || text.bytes().all(|b| b == b'0') {
        return Err("weight is 0: weights must be positive integers".to_owned());
    }
    if text.starts_with('0') {
        return Err(format!("weight {text:?} has a leading zero (write it without)"));
    }
    text.parse::<u64>()
        .map_err(|_| format!("weight {text:?} is larger than 18446744073709551615"))
}

/// An id must identify one contract in the whole manifest. Each stratum's ids are already
/// sorted, so a k-way merge finds duplicates across strata in O(n log k) without hashing.
fn check_ids_unique_across_strata(strata: &[Stratum]) -> Result<(), SamplingError> {
    if strata.len() < 2 {
        return Ok(());
    }
    // (Reverse order on the id so the max-heap yields the smallest id; then stratum index.)
    #[derive(PartialEq, Eq)]
    struct Head<'a> {
        id: &'a str,
        stratum: usize,
        index: usize,
    }
    impl Ord for Head<'_> {
        fn cmp(&self, other: &Self) -> Ordering {
            other
                .id
                .as_bytes()
                .cmp(self.id.as_bytes())
                .then(other.stratum.cmp(&self.stratum))
        }
    }
    impl PartialOrd for Head<'_> {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }
    let mut heap = BinaryHeap::with_capacity(strata.len());
    for (k, s) in strata.iter().enumerate() {
        if let Some(id) = s.id(0) {
            heap.push(Head {
                id,
                stratum: k,
                index: 0,
            });
        }
    }
    let mut last: Option<(&str, usize)> = None;
    while let Some(head) = heap.pop() {
        if let Some((id, k)) = last
            && id == head.id
        {
            let name = |k: usize| strata.get(k).map(|s| s.name.clone()).unwrap_or_default();
            return Err(SamplingError::DuplicateId {
                id: id.to_owned(),
                first: name(k),
                second: name(head.stratum),
            });
        }
        last = Some((head.id, head.stratum));
        let next = head.index + 1;
        if let Some(id) = strata.get(head.stratum).and_then(|s| s.id(next)) {
            heap.push(Head {
                id,
                stratum: head.stratum,
                index: next,
            });
        }
    }
    Ok(())
}
