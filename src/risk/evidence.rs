//! [`Evidence`]: what an indicator saw, field name → JSON value.
//!
//! A small vector sorted by field name instead of a `BTreeMap<String, Value>`: the names
//! come from the rule set (no copy, see [`Text`]) and the order is worked out once per
//! indicator when the rule set is loaded, so building the evidence of a finding is one
//! allocation plus the values that are texts. Serialises exactly like the map did (a JSON
//! object with the keys in sorted order).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::text::Text;

/// Every input an indicator's conditions refer to, by field name (`null` = missing),
/// sorted by name, each name once.
#[derive(Clone, Default, PartialEq)]
pub struct Evidence {
    entries: Vec<(Text, Value)>,
}

impl Evidence {
    pub fn new() -> Evidence {
        Evidence::default()
    }

    /// Entries already sorted by name with no name twice (the rule set's evidence plan).
    pub(crate) fn from_sorted(entries: Vec<(Text, Value)>) -> Evidence {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        Evidence { entries }
    }

    /// Sets `name` to `value`, replacing an earlier value.
    pub fn insert(&mut self, name: impl Into<Text>, value: Value) {
        let name = name.into();
        match self
            .entries
            .binary_search_by(|(k, _)| k.as_str().cmp(name.as_str()))
        {
            Ok(i) => self.entries[i].1 = value,
            Err(i) => self.entries.insert(i, (name, value)),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entries
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .and_then(|i| self.entries.get(i))
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The field names, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// `(name, value)` sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn to_map(&self) -> BTreeMap<String, Value> {
        self.iter().map(|(k, v)| (k.to_owned(), v.clone())).collect()
    }
}

impl From<BTreeMap<String, Value>> for Evidence {
    fn from(m: BTreeMap<String, Value>) -> Evidence {
        Evidence {
            entries: m.into_iter().map(|(k, v)| (Text::from(k), v)).collect(),
        }
    }
}

impl From<Evidence> for BTreeMap<String, Value> {
    fn from(e: Evidence) -> BTreeMap<String, Value> {
        e.entries.into_iter().map(|(k, v)| (String::from(k), v)).collect()
    }
}

impl<'a> IntoIterator for &'a Evidence {
    type Item = (&'a str, &'a Value);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (Text, Value)>, fn(&'a (Text, Value)) -> (&'a str, &'a Value)>;

    fn into_iter(self) -> Self::IntoIter {
        fn pair((k, v): &(Text, Value)) -> (&str, &Value) {
            (k.as_str(), v)
        }
        self.entries.iter().map(pair)
    }
}

impl fmt::Debug for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            m.serialize_entry(k.as_str(), v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Evidence {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Evidence, D::Error> {
        BTreeMap::<String, Value>::deserialize(d).map(Evidence::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_like_a_sorted_map() {
        let mut e = Evidence::new();
        e.insert("supplier.employees", Value::from(3));
        e.insert("contract.value_nok", Value::Null);
        e.insert("supplier.employees", Value::from(4));
        let mut m = BTreeMap::new();
        m.insert("contract.value_nok".to_owned(), Value::Null);
        m.insert("supplier.employees".to_owned(), Value::from(4));
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            serde_json::to_string(&m).unwrap()
        );
        let back: Evidence = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, e);
        assert_eq!(e.get("supplier.employees"), Some(&Value::from(4)));
        assert_eq!(
            e.keys().collect::<Vec<_>>(),
            ["contract.value_nok", "supplier.employees"]
        );
        assert_eq!(BTreeMap::from(e), m);
    }
}
