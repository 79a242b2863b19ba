//! The contract ids a register has named so far, to refuse a second row with the same id.
//!
//! A register of a million rows kept every id as a `String` to find duplicates (about
//! 60 MB). As keyed 96-bit hashes with their rows in a `HashMap` it still took 36 MB, and
//! 53 MB while the map grew: the map's buckets are a power of two at most seven-eighths
//! full, so a million entries sit in two million buckets, and growing copies them all into
//! a table twice the size. [`SeenIds`] keeps the same 16-byte entries in small buckets
//! chosen by the key's leading bits, and doubles the number of buckets by splitting one
//! bucket at a time: about 20 bytes per id, and never a second copy of the table.

/// Turns a contract id into a 96-bit key: two SipHashes under random keys. Two different
/// ids share a key with a probability around 10^-17 for a million ids: never, in practice,
/// and the keys are secret, so a file cannot be built to make two ids collide (or to fill
/// one bucket).
struct IdKeys(std::hash::RandomState, std::hash::RandomState);

impl IdKeys {
    fn new() -> IdKeys {
        IdKeys(std::hash::RandomState::new(), std::hash::RandomState::new())
    }

    fn key(&self, id: &str) -> IdKey {
        use std::hash::BuildHasher;
        let (a, b) = (self.0.hash_one(id), self.1.hash_one(id));
        IdKey {
            lead: a,
            rest: b as u32,
        }
    }
}

/// A contract id's key (see [`IdKeys`]): `lead` picks the bucket. 4-byte aligned, so with
/// its row an entry is 16 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct IdKey {
    lead: u64,
    rest: u32,
}

#[derive(Clone, Copy)]
#[repr(C, packed(4))]
struct Entry {
    lead: u64,
    rest: u32,
    row: u32,
}

/// Buckets hold this many entries on average before their number doubles: a look-up scans
/// one bucket (under a kilobyte), and the buckets' own headers stay under half a byte per id.
const MEAN_BUCKET: usize = 48;

/// Buckets to start with (a small register never splits one).
const FIRST_BUCKETS_LOG2: u32 = 6;

/// The ids met so far, with the row that named each first.
pub(crate) struct SeenIds {
    keys: IdKeys,
    /// `1 << bits` buckets; an entry's bucket is the top `bits` bits of its `lead`.
    buckets: Vec<Vec<Entry>>,
    bits: u32,
    len: usize,
}

impl SeenIds {
    pub(crate) fn new() -> SeenIds {
        SeenIds {
            keys: IdKeys::new(),
            buckets: (0..1usize << FIRST_BUCKETS_LOG2).map(|_| Vec::new()).collect(),
            bits: FIRST_BUCKETS_LOG2,
            len: 0,
        }
    }

    /// The row that named `id` first, if one did; otherwise `row` is noted as naming it.
    pub(crate) fn first_row_or_insert(&mut self, id: &str, row: u32) -> Option<u32> {
        let key = self.keys.key(id);
        let bucket = &mut self.buckets[(key.lead >> (64 - self.bits)) as usize];
        if let Some(e) = bucket
            .iter()
            .find(|e| ({ e.lead }, { e.rest }) == (key.lead, key.rest))
        {
            return Some(e.row);
        }
        if bucket.len() == bucket.capacity() {
            // A quarter more, not twice as much: buckets are many and small, and doubling
            // would leave a third of the table empty on average.
            bucket.reserve_exact((bucket.len() / 4).max(4));
        }
        bucket.push(Entry {
            lead: key.lead,
            rest: key.rest,
            row,
        });
        self.len += 1;
        if self.len > self.buckets.len() * MEAN_BUCKET {
            self.split();
        }
        None
    }

    /// Doubles the buckets: bucket `i` becomes `2i` and `2i + 1` by the next bit of the key.
    /// The old bucket is freed as soon as its halves are made, so the table is never held
    /// twice (only the buckets' headers are, 24 bytes per bucket).
    fn split(&mut self) {
        let old = std::mem::take(&mut self.buckets);
        self.bits += 1;
        let shift = 64 - self.bits;
        let mut buckets = Vec::with_capacity(old.len() * 2);
        for bucket in old {
            let is_high = |e: &Entry| ({ e.lead } >> shift) & 1 == 1;
            let highs = bucket.iter().filter(|e| is_high(e)).count();
            let mut low = Vec::with_capacity(bucket.len() - highs);
            let mut high = Vec::with_capacity(highs);
            for e in bucket {
                if is_high(&e) { high.push(e) } else { low.push(e) }
            }
            buckets.push(low);
            buckets.push(high);
        }
        self.buckets = buckets;
    }

    /// Bytes the table holds on the heap (its buckets' capacity and headers).
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Vec<Entry>>()
            + self
                .buckets
                .iter()
                .map(|b| b.capacity() * std::mem::size_of::<Entry>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_entry_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 16);
    }

    #[test]
    fn a_million_ids_take_about_twenty_bytes_each_and_every_repeat_is_found() {
        let mut seen = SeenIds::new();
        let n = 1_000_000u32;
        for row in 0..n {
            assert_eq!(seen.first_row_or_insert(&format!("K-{row}"), row + 2), None);
        }
        let bytes = seen.heap_bytes();
        assert!(bytes < 24 * n as usize, "{bytes} bytes for {n} ids");
        for row in (0..n).step_by(997) {
            assert_eq!(
                seen.first_row_or_insert(&format!("K-{row}"), n + 5),
                Some(row + 2)
            );
        }
    }

    proptest! {
        /// The same answers as a map from id to first row, across bucket splits.
        #[test]
        fn answers_as_a_map_does(ids in prop::collection::vec(0u32..3_000, 0..8_000)) {
            let mut seen = SeenIds::new();
            let mut map: HashMap<String, u32> = HashMap::new();
            for (row, id) in ids.iter().enumerate() {
                let id = format!("A{id}");
                let row = row as u32;
                let want = map.get(&id).copied();
                if want.is_none() {
                    map.insert(id.clone(), row);
                }
                prop_assert_eq!(seen.first_row_or_insert(&id, row), want);
            }
        }
    }
}
