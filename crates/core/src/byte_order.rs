//! Fast sorting of short byte strings by byte order, for the parameter lists of a launch.
//!
//! Both the OAuth signature (RFC 5849 §3.4.1.3.2) and the launch model sort about fifty
//! parameters per launch. Sorting `(key, index)` pairs, where the key packs the first sixteen
//! bytes of the name into a `u128`, needs no slice access per comparison; the rare names that
//! share their first sixteen bytes are then put in order among themselves.

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

/// Sorts `(prefix_key, item)` pairs by key, then orders each run of equal keys with `tie`,
/// which must agree with byte order of the strings the keys were made from (and may break
/// ties between equal strings however it likes).
pub(crate) fn sort_keyed<T: Copy>(items: &mut [(u128, T)], mut tie: impl FnMut(T, T) -> Ordering) {
    items.sort_unstable_by_key(|&(key, _)| key);
    let mut start = 0;
    while let Some(&(key, _)) = items.get(start) {
        let run = items[start..]
            .iter()
            .take_while(|&&(k, _)| k == key)
            .count();
        if run > 1 {
            items[start..start + run].sort_unstable_by(|a, b| tie(a.1, b.1));
        }
        start += run;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn byte() -> impl proptest::strategy::Strategy<Value = u8> {
        proptest::prop_oneof![0u8..=2, b'a'..=b'c', proptest::num::u8::ANY]
    }

    proptest::proptest! {
        /// Sorting by key with byte-order ties equals sorting the strings.
        #[test]
        fn keyed_sort_is_byte_order(
            shared in proptest::collection::vec(byte(), 0..20),
            tails in proptest::collection::vec(proptest::collection::vec(byte(), 0..24), 0..30),
        ) {
            let strings: Vec<Vec<u8>> = tails.iter().map(|t| [shared.as_slice(), t].concat()).collect();
            let mut keyed: Vec<(u128, usize)> =
                strings.iter().enumerate().map(|(i, s)| (prefix_key(s), i)).collect();
            sort_keyed(&mut keyed, |a, b| strings[a].cmp(&strings[b]));
            let got: Vec<&Vec<u8>> = keyed.iter().map(|&(_, i)| &strings[i]).collect();
            let mut want: Vec<&Vec<u8>> = strings.iter().collect();
            want.sort();
            proptest::prop_assert_eq!(got, want);
        }
    }
}
