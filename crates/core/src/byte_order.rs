//! Fast sorting of short byte strings by byte order, for the parameter lists of a launch.
//!
//! Both the OAuth signature (RFC 5849 §3.4.1.3.2) and the launch model sort about fifty
//! parameter names per launch. Comparing two names through their slices costs a bounds check
//! and a `memcmp` call; comparing their first sixteen bytes packed into a `u128` first settles
//! almost every comparison in one instruction.

use std::cmp::Ordering;

/// The first sixteen bytes of `bytes` as a big-endian number, zero-padded.
///
/// The key never contradicts byte order (`a <= b` implies `prefix_key(a) <= prefix_key(b)`:
/// cutting to sixteen bytes and padding with zeros both keep order), so a smaller key means a
/// smaller string and only equal keys need the bytes compared.
pub(crate) fn prefix_key(bytes: &[u8]) -> u128 {
    let mut key = [0u8; 16];
    let n = bytes.len().min(16);
    key[..n].copy_from_slice(&bytes[..n]);
    u128::from_be_bytes(key)
}

/// Compares two byte strings in byte order, given their [`prefix_key`]s.
pub(crate) fn cmp_keyed(a_key: u128, a: &[u8], b_key: u128, b: &[u8]) -> Ordering {
    a_key.cmp(&b_key).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The keyed comparison equals byte order, NUL bytes included.
        #[test]
        fn keyed_comparison_is_byte_order(
            a in proptest::collection::vec(proptest::prop_oneof![0u8..=2, proptest::num::u8::ANY], 0..40),
            b in proptest::collection::vec(proptest::prop_oneof![0u8..=2, proptest::num::u8::ANY], 0..40),
            shared in proptest::collection::vec(proptest::prop_oneof![0u8..=2, proptest::num::u8::ANY], 0..20),
        ) {
            let a = [shared.as_slice(), &a].concat();
            let b = [shared.as_slice(), &b].concat();
            proptest::prop_assert_eq!(cmp_keyed(prefix_key(&a), &a, prefix_key(&b), &b), a.cmp(&b));
        }
    }
}
