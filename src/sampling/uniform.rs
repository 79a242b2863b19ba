//! The uniform part: Rivest's consistent sampler (github ron-rivest/consistent_sampler,
//! PyPI `consistent_sampler`).
//!
//! `seed_hash = sha256_hex(seed_s)`; each contract gets the ticket
//! `"0." + reversed(format(int(sha256_hex(seed_hash + id), 16), "064d"))`: the decimal digits
//! of the 256-bit hash, padded to at least 64 digits, written least significant digit first
//! (Rivest reverses them because the leading decimal digits of a 256-bit number are biased,
//! the trailing ones are not). Contracts are ordered by ticket string, byte-wise (ties — equal
//! hashes, never seen in practice — by id); the uniform part takes, in that order, the first
//! contracts not already picked.
//!
//! # Ordering without building a million ticket strings
//! A ticket has 64 to 78 digits, so its first 18 digits always exist. Let `key` be the integer
//! those 18 digits spell (first digit most significant), i.e. the lowest 18 decimal digits of
//! the hash read in reverse. For two tickets `"0."+a` and `"0."+b`, byte-wise comparison is
//! comparison of `a` and `b`; the first 18 characters of each are fixed-width digit strings,
//! and for those lexicographic order equals numeric order, so `key(a) < key(b)` ⇒ `a < b` and
//! `key(a) > key(b)` ⇒ `a > b`. Only when the keys are equal (chance about 10^-18 per pair)
//! are the full ticket strings built and compared. Hence sorting by (key, then full ticket,
//! then id) gives exactly the ticket-string order, and tickets are built only for picks.

use std::cmp::Ordering;

use sha2::{Digest, Sha256};

/// `sha256_uniform` of Rivest's `consistent_sampler`: the reversed decimal of SHA-256 of the
/// UTF-8 text as `"0.ddd…"`. `sha256_uniform("abc")` =
/// `0.56998071861792858926477341561059638840106636224182943832566300809078486324348`.
pub fn sha256_uniform(input: &str) -> String {
    ticket_from_digest(&Sha256::digest(input.as_bytes()).into())
}

/// The ticket of `id` under stratum seed `seed_s`.
pub fn ticket(seed_s: &str, id: &str) -> String {
    TicketHasher::new(seed_s).ticket(id)
}

/// Hashes `seed_hash + id`. `seed_hash` is 64 hex characters, exactly one SHA-256 block, so
/// the block is compressed once and the state cloned for every id.
#[derive(Clone)]
pub(crate) struct TicketHasher {
    prefix: Sha256,
}

impl TicketHasher {
    pub(crate) fn new(seed_s: &str) -> Self {
        let seed_hash = super::sha256_hex(seed_s);
        TicketHasher {
            prefix: Sha256::new_with_prefix(seed_hash.as_bytes()),
        }
    }

    fn digest(&self, id: &str) -> [u8; 32] {
        let mut h = self.prefix.clone();
        h.update(id.as_bytes());
        h.finalize().into()
    }

    pub(crate) fn ticket(&self, id: &str) -> String {
        ticket_from_digest(&self.digest(id))
    }

    /// The 18-digit ordering key (see the module docs).
    #[cfg(test)]
    pub(crate) fn key(&self, id: &str) -> u64 {
        key_from_digest(&self.digest(id))
    }
}

/// Base-10^9 limbs of a 256-bit big-endian number, least significant first, by repeated
/// short division (no bignum crate: 256 bits need at most 9 limbs, 81 digits).
fn decimal_limbs(digest: &[u8; 32]) -> Vec<u32> {
    let mut words = [0u32; 8];
    for (w, chunk) in words.iter_mut().zip(digest.chunks_exact(4)) {
        let mut b = [0u8; 4];
        b.copy_from_slice(chunk);
        *w = u32::from_be_bytes(b);
    }
    let mut limbs = Vec::with_capacity(9);
    while words.iter().any(|&w| w != 0) {
        limbs.push(div_rem_1e9(&mut words));
    }
    limbs
}

/// Divides the big-endian 32-bit-word number in place by 10^9 and returns the remainder.
fn div_rem_1e9(words: &mut [u32; 8]) -> u32 {
    const BASE: u64 = 1_000_000_000;
    let mut rem: u64 = 0;
    for w in words.iter_mut() {
        let cur = (rem << 32) | u64::from(*w);
        // cur < 10^9 * 2^32, so the quotient fits in 32 bits.
        *w = u32::try_from(cur / BASE).unwrap_or(u32::MAX);
        rem = cur % BASE;
    }
    u32::try_from(rem).unwrap_or(0)
}

/// `"0." + reversed(format(n, "064d"))` for the 256-bit number `n` in `digest`.
pub(crate) fn ticket_from_digest(digest: &[u8; 32]) -> String {
    let limbs = decimal_limbs(digest);
    // Least significant digit first: each limb gives 9 digits, low digit first.
    let mut digits: Vec<u8> = Vec::with_capacity(81);
    for limb in &limbs {
        let mut x = *limb;
        for _ in 0..9 {
            digits.push(b'0' + (x % 10) as u8);
            x /= 10;
        }
    }
    // Drop the zero digits above the most significant one (the top limb's padding) ...
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    // ... then pad to 64 digits as format(n, "064d") does (zeros at the high end, i.e. at the
    // end of the reversed string).
    while digits.len() < 64 {
        digits.push(b'0');
    }
    let mut out = String::with_capacity(2 + digits.len());
    out.push_str("0.");
    out.extend(digits.iter().map(|&d| char::from(d)));
    out
}

/// The integer spelled by the first 18 ticket digits: reverse of `n mod 10^9`, then reverse
/// of `(n / 10^9) mod 10^9`.
pub(crate) fn key_from_digest(digest: &[u8; 32]) -> u64 {
    let mut words = [0u32; 8];
    for (w, chunk) in words.iter_mut().zip(digest.chunks_exact(4)) {
        let mut b = [0u8; 4];
        b.copy_from_slice(chunk);
        *w = u32::from_be_bytes(b);
    }
    let low = div_rem_1e9(&mut words);
    let next = div_rem_1e9(&mut words);
    u64::from(reverse9(low)) * 1_000_000_000 + u64::from(reverse9(next))
}

/// The 9-digit (zero-padded) decimal of `x` read backwards.
fn reverse9(mut x: u32) -> u32 {
    let mut r = 0;
    for _ in 0..9 {
        r = r * 10 + x % 10;
        x /= 10;
    }
    r
}

/// Manifest indices of `ids` in ticket order (the full consistent-sampler order).
pub(crate) fn ticket_order<'a>(
    hasher: &TicketHasher,
    ids: impl Iterator<Item = &'a str>,
    id_at: impl Fn(usize) -> &'a str,
) -> Vec<u32> {
    let digests = ids.map(|id| hasher.digest(id));
    order_by_digest(digests, |i| hasher.digest(id_at(i)), &id_at)
}

/// Sorts by (18-digit key, full ticket, id); `digest_at` recomputes a digest for the rare
/// key ties, so only (key, index) pairs are held for the whole stratum.
fn order_by_digest<'a>(
    digests: impl Iterator<Item = [u8; 32]>,
    digest_at: impl Fn(usize) -> [u8; 32],
    id_at: impl Fn(usize) -> &'a str,
) -> Vec<u32> {
    let mut keyed: Vec<(u64, u32)> = digests
        .enumerate()
        .map(|(i, d)| (key_from_digest(&d), i as u32))
        .collect();
    keyed.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            let (ia, ib) = (a.1 as usize, b.1 as usize);
            let ta = ticket_from_digest(&digest_at(ia));
            let tb = ticket_from_digest(&digest_at(ib));
            match ta.as_bytes().cmp(tb.as_bytes()) {
                Ordering::Equal => id_at(ia).as_bytes().cmp(id_at(ib).as_bytes()),
                other => other,
            }
        })
    });
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// Rivest's `sampler(id_list, seed, take=n)` without replacement, output ids: the first `take`
/// ids in ticket order under `seed` (used directly as the stratum seed).
pub fn sampler<S: AsRef<str>>(ids: &[S], seed: &str, take: usize) -> Vec<String> {
    let hasher = TicketHasher::new(seed);
    let order = ticket_order(&hasher, ids.iter().map(|s| s.as_ref()), |i| {
        ids.get(i).map(|s| s.as_ref()).unwrap_or("")
    });
    order
        .into_iter()
        .take(take)
        .filter_map(|i| ids.get(i as usize).map(|s| s.as_ref().to_owned()))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn key_matches_ticket_prefix() {
        let h = TicketHasher::new("seed");
        for id in ["a", "K-2026-000001", "æøå", ""] {
            let t = h.ticket(id);
            let prefix: u64 = t[2..20].parse().unwrap();
            assert_eq!(h.key(id), prefix, "{id}");
        }
    }

    #[test]
    fn small_numbers_pad_to_64_digits() {
        let mut d = [0u8; 32];
        d[31] = 12;
        let t = ticket_from_digest(&d);
        assert_eq!(t.len(), 66);
        assert!(t.starts_with("0.21000"));
        assert_eq!(key_from_digest(&d), 210_000_000_000_000_000);
        assert_eq!(ticket_from_digest(&[0u8; 32]), format!("0.{}", "0".repeat(64)));
    }

    fn digest_of(value: u128) -> [u8; 32] {
        let mut d = [0u8; 32];
        d[16..].copy_from_slice(&value.to_be_bytes());
        d
    }

    fn digest_hex(hex: &str) -> [u8; 32] {
        let mut d = [0u8; 32];
        for (i, b) in d.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        d
    }

    #[test]
    fn equal_keys_fall_back_to_full_tickets_then_ids() {
        // Same lowest 18 decimal digits, different higher digits and lengths: 78 and 76
        // digits (both ≡ low mod 10^18, computed with Python), and short numbers padded to 64.
        let low = 123_456_789_012_345_678u128;
        let e18 = 1_000_000_000_000_000_000u128;
        let digests = [
            digest_of(low + 5 * e18),
            digest_of(low + 3 * e18),
            digest_hex("fffffffffffffffffffffffffffffffffffffffffffffffff99bcb315614f34e"),
            digest_of(low + 3 * e18), // identical to index 1: tie broken by id
            digest_of(7),
            digest_hex("03fffffffffffffffffffffffffffffffffffffffffffffffa6e51d69aa0f34e"),
        ];
        let ids = ["f", "e", "d", "c", "b", "a"];
        let order = order_by_digest(digests.iter().copied(), |i| digests[i], |i| ids[i]);
        let mut reference: Vec<(String, &str, u32)> = (0..digests.len())
            .map(|i| (ticket_from_digest(&digests[i]), ids[i], i as u32))
            .collect();
        reference.sort();
        let expected: Vec<u32> = reference.iter().map(|r| r.2).collect();
        assert_eq!(order, expected);
        assert_eq!(key_from_digest(&digests[0]), key_from_digest(&digests[2]));
        assert_eq!(key_from_digest(&digests[0]), key_from_digest(&digests[5]));
        assert_eq!(ticket_from_digest(&digests[2]).len(), 80);
        assert_eq!(ticket_from_digest(&digests[5]).len(), 78);
        // Index 3 ("c") sorts before index 1 ("e") on the id tie-break.
        let pos = |i: u32| order.iter().position(|&x| x == i).unwrap();
        assert!(pos(3) < pos(1));
    }

    #[test]
    fn max_value_has_78_digits() {
        let t = ticket_from_digest(&[0xff; 32]);
        // 2^256 - 1 = 115792089237316195423570985008687907853269984665640564039457584007913129639935
        let expected: String =
            "115792089237316195423570985008687907853269984665640564039457584007913129639935"
                .chars()
                .rev()
                .collect();
        assert_eq!(t, format!("0.{expected}"));
    }
}
