//! Lowercase hex (secrets, seeds, cursors), and SHA-256 digests in it as the database
//! stores them.
//!
//! An import hashes every row three times (its data, its assessment's inputs and outcome):
//! the `hex` crate writes its output a `char` at a time through an iterator, which took
//! more of an import's time than the hashing itself. This writes it from a table.

use sha2::{Digest, Sha256};

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `bytes` as lowercase hex, two digits per byte.
pub fn lower_hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX_DIGITS[usize::from(b >> 4)]);
        out.push(HEX_DIGITS[usize::from(b & 0x0f)]);
    }
    // Only ASCII digits and letters were written.
    String::from_utf8(out).unwrap_or_default()
}

/// The SHA-256 of `data`, as 64 lowercase hex digits.
pub fn sha256_hex(data: &[u8]) -> String {
    lower_hex(&Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_known_digest() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(lower_hex(&[]), "");
    }

    proptest! {
        #[test]
        fn writes_what_the_hex_crate_writes(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            prop_assert_eq!(lower_hex(&bytes), hex::encode(&bytes));
        }
    }
}
