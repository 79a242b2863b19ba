//! Runtime values of the condition language and its three-valued logic.
//!
//! Missing data is a value of its own ([`Val::Missing`]), never zero or `false`: every
//! operator propagates it, and `and`/`or` follow Kleene's logic, so a condition is false
//! only when it is false whatever the missing input would have been.
//!
//! Numbers are closed intervals `[lo, hi]`: a known number is `[n, n]`, and the register's
//! hidden employee band is `[1, 4]`. Comparisons on intervals are three-valued too, so
//! `supplier.employees < 5` is true for a hidden band, `< 3` is unknown and `== 0` false:
//! the hidden band is neither zero nor "few" unless the threshold itself decides.

use chrono::{Datelike, NaiveDate};

use super::industry::Industry;

/// The static type of an expression, checked when the rule set is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Type {
    Bool,
    Num,
    Str,
    Date,
    List,
}

impl Type {
    /// Norwegian name, for error messages to rule authors.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Type::Bool => "sann/usann",
            Type::Num => "tall",
            Type::Str => "tekst",
            Type::Date => "dato",
            Type::List => "liste",
        }
    }
}

/// Why a value is missing. The distinction matters for `is_missing(x)`: when we hold no
/// data at all (supplier not looked up, register not loaded) we cannot say whether the
/// field is empty, so `is_missing` is itself unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Miss {
    /// The source of the field is not available (no supplier facts, register not loaded).
    NoSource,
    /// The source is there and says nothing about this field.
    Absent,
    /// A computation had no defined result (division by an interval holding zero).
    Undefined,
}

impl Miss {
    /// When two missing inputs meet, the less informative one wins.
    pub(crate) fn join(self, other: Miss) -> Miss {
        if self == Miss::NoSource || other == Miss::NoSource {
            Miss::NoSource
        } else if self == Miss::Absent || other == Miss::Absent {
            Miss::Absent
        } else {
            Miss::Undefined
        }
    }
}

/// A list of texts, borrowed from the rule set, the input or the evaluation context.
/// Industry and register lists are bit masks over the rule set's industries, so that
/// building them per assessment allocates nothing.
#[derive(Clone, Copy, Debug)]
pub(crate) enum List<'a> {
    Owned(&'a [String]),
    Refs(&'a [&'a str]),
    /// The ids of the industries whose bits are set.
    Industries(u64, &'a [Industry]),
    /// The approval registers of the industries whose bits are set, each once.
    Registers(u64, &'a [Industry]),
}

fn has_bit(mask: u64, i: usize) -> bool {
    u32::try_from(i)
        .ok()
        .and_then(|i| 1u64.checked_shl(i))
        .is_some_and(|b| mask & b != 0)
}

pub(crate) struct ListIter<'a> {
    list: List<'a>,
    i: usize,
    /// For the mask lists: the bits not yet visited.
    rest: u64,
}

impl<'a> Iterator for ListIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match self.list {
            List::Owned(v) => {
                self.i += 1;
                v.get(self.i - 1).map(String::as_str)
            }
            List::Refs(v) => {
                self.i += 1;
                v.get(self.i - 1).copied()
            }
            List::Industries(_, inds) => {
                while self.rest != 0 {
                    let k = self.rest.trailing_zeros() as usize;
                    self.rest &= self.rest - 1;
                    if let Some(ind) = inds.get(k) {
                        return Some(&ind.id);
                    }
                }
                None
            }
            List::Registers(mask, inds) => {
                while self.rest != 0 {
                    let k = self.rest.trailing_zeros() as usize;
                    self.rest &= self.rest - 1;
                    let Some(r) = inds.get(k).and_then(|i| i.approval_register.as_ref()) else {
                        continue;
                    };
                    // Each register once, even when two matched industries share it.
                    let seen = inds
                        .iter()
                        .take(k)
                        .enumerate()
                        .any(|(j, o)| has_bit(mask, j) && o.approval_register.as_ref() == Some(r));
                    if !seen {
                        return Some(r);
                    }
                }
                None
            }
        }
    }
}

impl<'a> List<'a> {
    pub(crate) fn iter(self) -> ListIter<'a> {
        let rest = match self {
            List::Industries(m, _) | List::Registers(m, _) => m,
            _ => 0,
        };
        ListIter {
            list: self,
            i: 0,
            rest,
        }
    }

    pub(crate) fn len(self) -> usize {
        match self {
            List::Owned(v) => v.len(),
            List::Refs(v) => v.len(),
            List::Industries(m, _) => m.count_ones() as usize,
            List::Registers(..) => self.iter().count(),
        }
    }

    pub(crate) fn contains(self, s: &str) -> bool {
        self.iter().any(|x| x == s)
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Val<'a> {
    Missing(Miss),
    Bool(bool),
    /// Closed interval; `lo == hi` for an exact number.
    Num(f64, f64),
    Str(&'a str),
    Date(NaiveDate),
    List(List<'a>),
}

impl<'a> Val<'a> {
    pub(crate) fn num(n: f64) -> Val<'a> {
        if n.is_finite() {
            Val::Num(n, n)
        } else {
            Val::Missing(Miss::Undefined)
        }
    }

    pub(crate) fn opt_num(n: Option<f64>) -> Val<'a> {
        n.map_or(Val::Missing(Miss::Absent), Val::num)
    }

    pub(crate) fn opt_date(d: Option<NaiveDate>) -> Val<'a> {
        d.map_or(Val::Missing(Miss::Absent), Val::Date)
    }

    /// Text values are trimmed of ASCII whitespace; an empty or blank text is missing.
    pub(crate) fn opt_str(s: Option<&'a str>) -> Val<'a> {
        match s.map(str::trim_ascii) {
            Some(t) if !t.is_empty() => Val::Str(t),
            _ => Val::Missing(Miss::Absent),
        }
    }

    pub(crate) fn opt_bool(b: Option<bool>) -> Val<'a> {
        b.map_or(Val::Missing(Miss::Absent), Val::Bool)
    }

    pub(crate) fn tri(self) -> Tri {
        match self {
            Val::Bool(true) => Tri::True,
            Val::Bool(false) => Tri::False,
            _ => Tri::Unknown,
        }
    }

    /// Evidence for findings: what the condition saw, as JSON.
    pub(crate) fn to_json(self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Val::Missing(_) => J::Null,
            Val::Bool(b) => J::Bool(b),
            Val::Num(lo, hi) if lo == hi => num_json(lo),
            // The hidden employee band and intervals derived from it: "1–4".
            Val::Num(lo, hi) => J::String(format!("{}–{}", fmt_num(lo), fmt_num(hi))),
            Val::Str(s) => J::String(s.to_owned()),
            Val::Date(d) => J::String(iso_date(d)),
            Val::List(l) => J::Array(l.iter().map(|s| J::String(s.to_owned())).collect()),
        }
    }
}

/// `YYYY-MM-DD` without the formatting machinery (evidence is built for every finding).
pub(crate) fn iso_date(d: NaiveDate) -> String {
    let mut s = String::with_capacity(10);
    let y = d.year();
    if (0..=9999).contains(&y) {
        let y = y as u32;
        for v in [y / 1000, y / 100 % 10, y / 10 % 10, y % 10] {
            s.push(char::from(b'0' + v as u8));
        }
    } else {
        s.push_str(&y.to_string());
    }
    for v in [d.month(), d.day()] {
        s.push('-');
        s.push(char::from(b'0' + (v / 10) as u8));
        s.push(char::from(b'0' + (v % 10) as u8));
    }
    s
}

fn num_json(n: f64) -> serde_json::Value {
    // Whole numbers print as integers (øre-exact NOK amounts, counts, years).
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        format!("{}", n as i64)
    } else {
        format!("{n:.2}")
    }
}

/// Kleene's three truth values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    pub(crate) fn to_val<'a>(self) -> Val<'a> {
        match self {
            Tri::True => Val::Bool(true),
            Tri::False => Val::Bool(false),
            Tri::Unknown => Val::Missing(Miss::Undefined),
        }
    }
}
