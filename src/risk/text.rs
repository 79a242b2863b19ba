//! [`Text`]: an immutable string that is free to clone when it comes from a rule set.
//!
//! Every [`Finding`](super::Finding) repeats its indicator's title, explanation and source,
//! and every assessment the rule ids, tier and rule-set version. Copying those texts per
//! assessment was most of the time of a bulk rescore, and sharing them through `Arc`
//! would make every thread bump the same reference counts. Instead the rule set's texts
//! are interned once, when the rule set is loaded, for the life of the process (a rule
//! set is a few kB of text and a reload reuses every text that did not change), and an
//! assessment holds plain `&'static str` references to them. A `Text` read back from
//! JSON owns its string.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string shared with the rule set (no copy) or owned (deserialised). Serialises as a
/// plain JSON string; compares, hashes and orders like `str`.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Owned(Box<str>),
}

impl Text {
    /// A text that lives as long as the process (see the module documentation).
    pub(crate) fn interned(s: &str) -> Text {
        Text(Repr::Static(intern(s)))
    }

    pub const fn from_static(s: &'static str) -> Text {
        Text(Repr::Static(s))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Owned(s) => s,
        }
    }
}

/// The process-wide copy of `s`, leaked on first use (rule-set texts only).
fn intern(s: &str) -> &'static str {
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let set = SEEN.get_or_init(|| Mutex::new(HashSet::new()));
    let mut g = match set.lock() {
        Ok(g) => g,
        // Inserting a leaked &'static str cannot leave the set half-updated.
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(s) = g.get(s) {
        return s;
    }
    let leaked: &'static str = Box::leak(Box::<str>::from(s));
    g.insert(leaked);
    leaked
}

impl Default for Text {
    fn default() -> Text {
        Text::from_static("")
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Repr::Owned(s.into_boxed_str()))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Repr::Owned(s.into()))
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        match t.0 {
            Repr::Static(s) => s.to_owned(),
            Repr::Owned(s) => s.into_string(),
        }
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        String::deserialize(d).map(Text::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_texts_are_shared_and_behave_like_str() {
        let a = Text::interned("renhold");
        let b = Text::interned(&String::from("renhold"));
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, "renhold");
        assert_eq!(a, Text::from("renhold".to_owned()));
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"renhold\"");
        let back: Text = serde_json::from_str("\"renhold\"").unwrap();
        assert_eq!(back, a);
        let mut v = vec![Text::interned("b"), Text::from("a")];
        v.sort();
        assert_eq!(v, ["a", "b"]);
    }
}
