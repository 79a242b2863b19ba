//! Recognising risk industries: NACE prefixes (SN2007 and SN2025) on the supplier, CPV
//! prefixes and keywords on the contract. Industries are bits in a `u64` (at most 64 per
//! rule set, checked when loading) so that matching allocates nothing.

use serde::Serialize;

/// A risk industry as loaded from the rule files.
#[derive(Clone, Debug, Serialize)]
pub struct Industry {
    pub id: String,
    pub name: String,
    /// SN2007 prefixes (`81.21`, `43`).
    pub nace_sn2007: Vec<String>,
    /// SN2025 prefixes.
    pub nace_sn2025: Vec<String>,
    /// CPV prefixes, digits only (check digit stripped).
    pub cpv: Vec<String>,
    /// Lower-case keywords, matched anywhere in the contract's title and category.
    pub keywords: Vec<String>,
    /// The approval register a supplier in this industry must be in (`renhold`, …).
    pub approval_register: Option<String>,
    /// The dated parameter holding the industry's minimum hourly wage (NOK).
    pub min_wage_param: Option<String>,
}

/// Buckets for keyword lookup by the first two bytes of the lower-cased keyword.
const BUCKETS: usize = 4096;

fn bucket(b0: u8, b1: u8) -> usize {
    ((usize::from(b0) * 31) ^ usize::from(b1)) & (BUCKETS - 1)
}

/// Precompiled matching tables for all industries of a rule set.
#[derive(Clone, Debug, Default)]
pub(crate) struct Matcher {
    /// NACE prefixes grouped by division (the first two digits, 0–99): a code is checked
    /// only against the prefixes of its own division. Each prefix once (SN2007 and SN2025
    /// share most), with the bits of every industry that lists it.
    nace: Vec<Vec<(String, u64)>>,
    cpv: Vec<(String, u64)>,
    /// Keywords (lower-case UTF-8 bytes) sorted by bucket; `buckets[b]` is the range of
    /// `keywords` whose first two bytes hash to `b`. One pass over the lower-cased text
    /// then checks about zero keywords per position instead of all of them.
    keywords: Vec<(Vec<u8>, u64)>,
    buckets: Vec<(u16, u16)>,
}

impl Matcher {
    pub(crate) fn new(industries: &[Industry]) -> Matcher {
        let mut m = Matcher {
            nace: vec![Vec::new(); 100],
            ..Matcher::default()
        };
        let mut kws: Vec<(usize, Vec<u8>, u64)> = Vec::new();
        for (i, ind) in industries.iter().enumerate() {
            let bit = 1u64 << i;
            for p in ind.nace_sn2007.iter().chain(&ind.nace_sn2025) {
                if let Some(div) = division(p) {
                    let list = &mut m.nace[div];
                    match list.iter_mut().find(|(q, _)| q == p) {
                        Some(e) => e.1 |= bit,
                        None => list.push((p.clone(), bit)),
                    }
                }
            }
            for p in &ind.cpv {
                m.cpv.push((p.clone(), bit));
            }
            for k in &ind.keywords {
                let b = k.as_bytes();
                if b.len() >= 2 {
                    kws.push((bucket(b[0], b[1]), b.to_vec(), bit));
                }
            }
        }
        kws.sort_by_key(|k| k.0);
        m.buckets = vec![(0, 0); BUCKETS];
        for (idx, (b, kw, bit)) in kws.into_iter().enumerate() {
            let e = &mut m.buckets[b];
            if e.1 == 0 {
                e.0 = u16::try_from(idx).unwrap_or(u16::MAX);
            }
            e.1 = e.1.saturating_add(1);
            m.keywords.push((kw, bit));
        }
        m
    }

    pub(crate) fn match_nace(&self, codes: &[String]) -> u64 {
        let mut mask = 0;
        for code in codes {
            let Some(prefixes) = division(code).and_then(|d| self.nace.get(d)) else {
                continue;
            };
            for (p, bit) in prefixes {
                if mask & bit != *bit && nace_has_prefix(code, p) {
                    mask |= bit;
                }
            }
        }
        mask
    }

    pub(crate) fn match_cpv(&self, codes: &[&str]) -> u64 {
        let mut mask = 0;
        for code in codes {
            for (p, bit) in &self.cpv {
                if code.starts_with(p.as_str()) {
                    mask |= bit;
                }
            }
        }
        mask
    }

    /// Case-insensitive substring search for every keyword. Keywords are substrings, not
    /// whole words, because Norwegian writes compounds as one word (`kontorrenhold`,
    /// `bilvask`, `byggrengjøring`). The text is lower-cased into a stack buffer (heap only
    /// past 512 bytes, Norwegian letters included), so a normal title allocates nothing.
    pub(crate) fn match_text(&self, text: &str) -> u64 {
        if self.keywords.is_empty() || text.is_empty() {
            return 0;
        }
        let mut stack = [0u8; 512];
        let heap: Vec<u8>;
        let lower: &[u8] = match lowercase_into(text, &mut stack) {
            Some(n) => &stack[..n],
            None => {
                heap = text
                    .chars()
                    .flat_map(char::to_lowercase)
                    .collect::<String>()
                    .into_bytes();
                &heap
            }
        };
        let mut mask = 0;
        for i in 0..lower.len().saturating_sub(1) {
            let (start, len) = self.buckets[bucket(lower[i], lower[i + 1])];
            if len == 0 {
                continue;
            }
            let from = usize::from(start);
            for (kw, bit) in self.keywords.iter().skip(from).take(usize::from(len)) {
                if mask & bit == 0 && lower[i..].starts_with(kw) {
                    mask |= bit;
                }
            }
        }
        mask
    }
}

/// Writes `text` lower-cased (as `str::to_lowercase` does, char by char) into `buf` and
/// returns its length, or `None` when it does not fit.
fn lowercase_into(text: &str, buf: &mut [u8]) -> Option<usize> {
    let mut len = 0;
    for c in text.chars() {
        if c.is_ascii() {
            *buf.get_mut(len)? = (c as u8).to_ascii_lowercase();
            len += 1;
        } else {
            for lc in c.to_lowercase() {
                let n = lc.len_utf8();
                lc.encode_utf8(buf.get_mut(len..len + n)?);
                len += n;
            }
        }
    }
    Some(len)
}

/// The division (first two digits) of a NACE code or prefix.
fn division(code: &str) -> Option<usize> {
    match code.as_bytes() {
        [a @ b'0'..=b'9', b @ b'0'..=b'9', ..] => Some(usize::from(a - b'0') * 10 + usize::from(b - b'0')),
        _ => None,
    }
}

/// `81.210` has prefix `81.21` and `81`; `810.1` does not have prefix `81`.
fn nace_has_prefix(code: &str, prefix: &str) -> bool {
    code.starts_with(prefix)
        && (code.len() == prefix.len()
            || prefix.contains('.')
            || code.as_bytes().get(prefix.len()) == Some(&b'.'))
}

/// How many CPV codes of one contract are read (a register cell rarely has more than 2).
pub(crate) const MAX_CPV: usize = 8;

/// The CPV codes of a contract, check digits stripped, in a fixed array (no allocation).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CpvCodes<'a> {
    codes: [&'a str; MAX_CPV],
    len: usize,
}

impl<'a> CpvCodes<'a> {
    pub(crate) fn as_slice(&self) -> &[&'a str] {
        &self.codes[..self.len]
    }
}

/// Splits a CPV cell into codes without check digits: `"90910000-9; 45000000-7"` gives
/// `["90910000", "45000000"]`. Tokens without at least two leading digits are skipped.
pub(crate) fn split_cpv(raw: &str) -> CpvCodes<'_> {
    let mut out = CpvCodes::default();
    for tok in raw.split(|c: char| c == ',' || c == ';' || c == '/' || c.is_whitespace()) {
        let end = tok.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(tok.len());
        let digits = &tok[..end];
        if digits.len() >= 2 && out.len < MAX_CPV {
            out.codes[out.len] = &digits[..digits.len().min(8)];
            out.len += 1;
        }
    }
    out
}

/// CPV division → kind of purchase: 45 is works, 50–98 services, the rest goods.
pub(crate) fn cpv_kind(code: &str) -> &'static str {
    match code.get(..2).and_then(|d| d.parse::<u8>().ok()) {
        Some(45) => "bygg_anlegg",
        Some(50..=98) => "tjeneste",
        _ => "vare",
    }
}

/// A NACE prefix as written in rule files: `NN`, `NN.N`, `NN.NN` or `NN.NNN`.
pub(crate) fn valid_nace_prefix(p: &str) -> bool {
    let b = p.as_bytes();
    match b.len() {
        2 => b.iter().all(u8::is_ascii_digit),
        4..=6 => {
            b[..2].iter().all(u8::is_ascii_digit) && b[2] == b'.' && b[3..].iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// A CPV prefix: 2–8 digits, optionally followed by `-` and a check digit (stripped).
pub(crate) fn normalise_cpv_prefix(p: &str) -> Option<String> {
    let digits = match p.split_once('-') {
        Some((d, check)) if check.len() == 1 && check.bytes().all(|b| b.is_ascii_digit()) => d,
        Some(_) => return None,
        None => p,
    };
    if (2..=8).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        // `90910000` and `9091` mean the same prefix; trailing zeros of a full code are
        // kept only up to the first significant digit, so `45000000` matches all of 45.
        let trimmed = if digits.len() == 8 {
            digits.trim_end_matches('0')
        } else {
            digits
        };
        let trimmed = if trimmed.len() < 2 { &digits[..2] } else { trimmed };
        Some(trimmed.to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpv_split_and_kind() {
        assert_eq!(
            split_cpv("90910000-9; 45000000-7,x 7731").as_slice(),
            ["90910000", "45000000", "7731"]
        );
        assert_eq!(cpv_kind("90910000"), "tjeneste");
        assert_eq!(cpv_kind("45000000"), "bygg_anlegg");
        assert_eq!(cpv_kind("03100000"), "vare");
        assert_eq!(normalise_cpv_prefix("90910000-9").as_deref(), Some("9091"));
        assert_eq!(normalise_cpv_prefix("45000000").as_deref(), Some("45"));
        assert_eq!(normalise_cpv_prefix("9091-x"), None);
    }

    #[test]
    fn nace_prefixes() {
        assert!(nace_has_prefix("81.210", "81.21"));
        assert!(nace_has_prefix("81.210", "81"));
        assert!(!nace_has_prefix("810.1", "81"));
        assert!(valid_nace_prefix("81.21") && valid_nace_prefix("43") && !valid_nace_prefix("4"));
    }

    #[test]
    fn keywords_case_insensitive_compound() {
        let ind = Industry {
            id: "renhold".into(),
            name: "Renhold".into(),
            nace_sn2007: vec![],
            nace_sn2025: vec![],
            cpv: vec![],
            keywords: vec!["renhold".into(), "rengjøring".into()],
            approval_register: None,
            min_wage_param: None,
        };
        let m = Matcher::new(&[ind]);
        assert_eq!(m.match_text("Kontorrenhold Bergen"), 1);
        assert_eq!(m.match_text("BYGGRENGJØRING"), 1);
        assert_eq!(m.match_text("Asfalt"), 0);
    }
}
