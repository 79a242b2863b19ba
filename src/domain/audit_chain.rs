//! The audit log's hash chain, as pure functions.
//!
//! Each entry's hash is `SHA-256(prev_hash + "\n" + canonical JSON of the entry)`, hex, lowercase.
//! The canonical JSON is an array in a fixed order, so any implementation can recompute it:
//! `[seq, at, actor, action, object_type, object_id, detail]`, with `at` formatted as
//! `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds) and `detail` the stored JSON text.
//! The first entry's `prev_hash` is 64 zeros.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hashed content of one audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContent<'a> {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub actor: &'a str,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    pub detail: &'a str,
}

pub fn format_at(at: &NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Truncates to microseconds: both backends store that precision, so what is hashed is
/// exactly what is read back.
pub fn truncate_to_micros(at: NaiveDateTime) -> NaiveDateTime {
    use chrono::Timelike;
    let micros = at.nanosecond() / 1_000 * 1_000;
    at.with_nanosecond(micros).unwrap_or(at)
}

pub fn entry_hash(prev_hash: &str, content: &AuditContent<'_>) -> String {
    let canonical = serde_json::json!([
        content.seq,
        format_at(&content.at),
        content.actor,
        content.action,
        content.object_type,
        content.object_id,
        content.detail,
    ]);
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(canonical.to_string().as_bytes());
    super::digest::lower_hex(&h.finalize())
}

/// Why a stored chain does not hold, naming the first broken entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The entry's sequence number is not the previous one plus one (a row was removed or inserted).
    Gap { seq: i64, expected: i64 },
    /// The entry's `prev_hash` is not the previous entry's hash.
    Link { seq: i64 },
    /// The entry's content no longer matches its hash (it was edited).
    Content { seq: i64 },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::Gap { seq, expected } => write!(
                f,
                "entry {seq}: expected entry {expected} here; entries were removed or inserted"
            ),
            ChainBreak::Link { seq } => write!(
                f,
                "entry {seq}: prev_hash does not match the previous entry's hash; the chain was rewritten"
            ),
            ChainBreak::Content { seq } => write!(
                f,
                "entry {seq}: content does not match its hash; the entry was edited"
            ),
        }
    }
}

/// A stored entry as the verifier sees it.
pub struct StoredEntry<'a> {
    pub content: AuditContent<'a>,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

/// Walks entries in sequence order; `Ok(count)` when the chain holds.
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
        }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, e: &StoredEntry<'_>) -> Result<(), ChainBreak> {
        let seq = e.content.seq;
        if seq != self.expected_seq {
            return Err(ChainBreak::Gap {
                seq,
                expected: self.expected_seq,
            });
        }
        if e.prev_hash != self.prev_hash {
            return Err(ChainBreak::Link { seq });
        }
        if entry_hash(e.prev_hash, &e.content) != e.hash {
            return Err(ChainBreak::Content { seq });
        }
        self.expected_seq += 1;
        self.prev_hash = e.hash.to_owned();
        Ok(())
    }

    pub fn verified(&self) -> i64 {
        self.expected_seq - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_764_400_000, 123_456_000)
            .map(|d| d.naive_utc())
            .unwrap_or_default()
    }

    #[test]
    fn chain_detects_edit_and_gap() {
        let c1 = AuditContent {
            seq: 1,
            at: at(),
            actor: "admin",
            action: "login",
            object_type: "user",
            object_id: "1",
            detail: "{}",
        };
        let h1 = entry_hash(GENESIS_HASH, &c1);
        let c2 = AuditContent {
            seq: 2,
            action: "logout",
            ..c1.clone()
        };
        let h2 = entry_hash(&h1, &c2);
        let mut v = ChainVerifier::default();
        assert_eq!(
            v.check(&StoredEntry {
                content: c1.clone(),
                prev_hash: GENESIS_HASH,
                hash: &h1
            }),
            Ok(())
        );
        assert_eq!(
            v.check(&StoredEntry {
                content: c2.clone(),
                prev_hash: &h1,
                hash: &h2
            }),
            Ok(())
        );
        assert_eq!(v.verified(), 2);

        let mut v = ChainVerifier::default();
        let edited = AuditContent {
            actor: "mallory",
            ..c1.clone()
        };
        assert_eq!(
            v.check(&StoredEntry {
                content: edited,
                prev_hash: GENESIS_HASH,
                hash: &h1
            }),
            Err(ChainBreak::Content { seq: 1 })
        );

        let mut v = ChainVerifier::default();
        assert_eq!(
            v.check(&StoredEntry {
                content: c2,
                prev_hash: &h1,
                hash: &h2
            }),
            Err(ChainBreak::Gap { seq: 2, expected: 1 })
        );
    }

    #[test]
    fn hash_is_stable() {
        let c = AuditContent {
            seq: 1,
            at: at(),
            actor: "a",
            action: "b",
            object_type: "c",
            object_id: "d",
            detail: "{}",
        };
        // Pinned so an accidental change of the canonical form is caught.
        assert_eq!(format_at(&c.at), "2025-11-29T07:06:40.123456Z");
        assert_eq!(entry_hash(GENESIS_HASH, &c).len(), 64);
        assert_eq!(entry_hash(GENESIS_HASH, &c), entry_hash(GENESIS_HASH, &c.clone()));
    }
}
