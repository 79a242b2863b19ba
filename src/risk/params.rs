//! Dated legal parameters: thresholds, chain limits, minimum wages. They live in the rule
//! files with a valid-from date each, never as constants in code, because the law changes
//! them (NFD adjusts thresholds, Tariffnemnda sets new wage rates).

use chrono::NaiveDate;
use serde::Serialize;

/// One value of a parameter and the date from which it applies.
#[derive(Clone, Debug, Serialize)]
pub struct ParamValue {
    pub from: NaiveDate,
    pub value: f64,
    pub source: Option<String>,
    /// `false` when the value or its date could not be checked against an official source.
    pub verified: bool,
    pub note: Option<String>,
}

/// A named parameter with its dated values, sorted by `from`.
#[derive(Clone, Debug, Serialize)]
pub struct Parameter {
    pub id: String,
    pub title: String,
    pub unit: Option<String>,
    pub source: String,
    pub values: Vec<ParamValue>,
}

impl Parameter {
    /// The value in force on `date`: the last one whose `from` is on or before it. `None`
    /// before the first valid-from date (the rule is then not computable, not zero).
    pub fn value_at(&self, date: NaiveDate) -> Option<&ParamValue> {
        let idx = self.values.partition_point(|v| v.from <= date);
        idx.checked_sub(1).and_then(|i| self.values.get(i))
    }
}
