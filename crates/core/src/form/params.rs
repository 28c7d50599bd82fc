//! [`FormParams`]: the decoded name/value pairs of a form body or query, kept in order with
//! duplicates, stored in one text buffer.
//!
//! A Moodle launch carries about fifty parameters. Decoding each name and value into a `String`
//! of its own costs a hundred allocations per launch; here every decoded byte goes into one
//! buffer and each pair is three offsets into it, so decoding a launch body allocates twice.

use std::fmt;

use super::{FormError, decode_into, not_utf8, percent_escape};

/// Where one pair lives in the buffer: the name is `text[start..mid]`, the value
/// `text[mid..end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PairSpan {
    start: usize,
    mid: usize,
    end: usize,
}

/// Decoded name/value pairs in the order they were sent, duplicates kept.
///
/// # Example
/// ```
/// use lticontainer_core::form::FormParams;
/// let form = FormParams::parse(b"a=1&b=x+y%20z&a=2").unwrap();
/// assert_eq!(form.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "x y z"), ("a", "2")]);
/// assert_eq!(form.last("a"), Some("2"));
/// let built: FormParams = [("a", "1")].into_iter().collect();
/// assert_eq!(built.to_urlencoded(), "a=1");
/// ```
#[derive(Clone, Default)]
pub struct FormParams {
    text: String,
    spans: Vec<PairSpan>,
}

impl FormParams {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes an `application/x-www-form-urlencoded` body or query string.
    ///
    /// `+` decodes to a space and `%XX` to the byte it names (HTML 4.01 §17.13.4, which
    /// RFC 5849 §3.4.1.3.1 refers to). Empty segments (`a=1&&b=2`) are skipped; a segment
    /// without `=` is a name with an empty value. A `%` not followed by two hex digits stays as
    /// it is, as browsers and Python's `parse_qsl` leave it.
    ///
    /// # Errors
    /// [`FormError::NotUtf8`] naming the first component that does not decode to UTF-8.
    pub fn parse(input: &[u8]) -> Result<Self, FormError> {
        let mut buf = Vec::with_capacity(input.len());
        // A Moodle launch averages some 40 bytes a parameter.
        let mut spans = Vec::with_capacity(input.len() / 32 + 4);
        // One pass over the body: copy plain bytes, act on the `&`, `=`, `%` or `+` that ends
        // each run.
        let mut i = 0;
        while i < input.len() {
            let (raw_start, start) = (i, buf.len());
            let mut mid = None;
            loop {
                i = copy_plain(input, i, &mut buf);
                match input.get(i) {
                    None | Some(b'&') => break,
                    Some(b'=') if mid.is_none() => {
                        mid = Some(buf.len());
                        i += 1;
                    }
                    Some(b'+') => {
                        buf.push(b' ');
                        i += 1;
                    }
                    Some(b'%') => {
                        let (byte, used) = percent_escape(&input[i..]);
                        buf.push(byte);
                        i += used;
                    }
                    // A `=` after the first belongs to the value.
                    Some(&b) => {
                        buf.push(b);
                        i += 1;
                    }
                }
            }
            // Empty segments (`a=1&&b=2`) are skipped.
            if i > raw_start {
                spans.push(PairSpan {
                    start,
                    mid: mid.unwrap_or(buf.len()),
                    end: buf.len(),
                });
            }
            // Past the `&` that ended the segment.
            i += 1;
        }
        // The whole text is UTF-8 and every component starts and ends on a character
        // boundary exactly when every component is UTF-8 on its own (`%C3=%BC` is not).
        let text = String::from_utf8(buf).map_err(|_| first_undecodable(input))?;
        let on_boundaries = spans.iter().all(|s| {
            text.is_char_boundary(s.start)
                && text.is_char_boundary(s.mid)
                && text.is_char_boundary(s.end)
        });
        if !on_boundaries {
            return Err(first_undecodable(input));
        }
        Ok(Self { text, spans })
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The pair at `index` in sending order.
    pub fn get(&self, index: usize) -> Option<(&str, &str)> {
        self.spans.get(index).map(|&span| self.pair(span))
    }

    /// The pairs in sending order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> + ExactSizeIterator + '_ {
        self.spans.iter().map(|&span| self.pair(span))
    }

    /// The value of the last pair named `name`.
    pub fn last(&self, name: &str) -> Option<&str> {
        self.iter().rev().find(|&(n, _)| n == name).map(|(_, v)| v)
    }

    /// The last value of `name`, trimmed, when it is not blank.
    pub fn last_nonblank(&self, name: &str) -> Option<&str> {
        self.last(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Appends a pair.
    pub fn push(&mut self, name: &str, value: &str) {
        let start = self.text.len();
        self.text.push_str(name);
        let mid = self.text.len();
        self.text.push_str(value);
        self.spans.push(PairSpan {
            start,
            mid,
            end: self.text.len(),
        });
    }

    /// Keeps only the pairs for which `keep(name, value)` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        *self = self.iter().filter(|&(n, v)| keep(n, v)).collect();
    }

    /// The pairs as owned strings, in sending order.
    pub fn to_vec(&self) -> Vec<(String, String)> {
        self.iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    /// Encodes the pairs as a form body (see [`super::encode_urlencoded`]).
    pub fn to_urlencoded(&self) -> String {
        super::encode_pairs(self.iter())
    }

    #[inline]
    fn pair(&self, span: PairSpan) -> (&str, &str) {
        (
            &self.text[span.start..span.mid],
            &self.text[span.mid..span.end],
        )
    }
}

/// Copies the bytes of `input` from `i` to `out` up to the first `&`, `=`, `%` or `+`, and
/// returns that byte's index (`input.len()` when there is none). Eight bytes at a time: a word
/// without any of the four is copied whole, so the short runs between escapes cost no copy call.
fn copy_plain(input: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    while let Some(word) = input.get(i..i + 8) {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            break;
        };
        let found = special_bytes(u64::from_le_bytes(word));
        if found != 0 {
            // The lowest marked byte is exact (later marks may be false positives).
            let n = (found.trailing_zeros() / 8) as usize;
            word[..n].iter().for_each(|&b| out.push(b));
            return i + n;
        }
        out.extend_from_slice(&word);
        i += 8;
    }
    while let Some(&b) = input.get(i) {
        if matches!(b, b'&' | b'=' | b'%' | b'+') {
            break;
        }
        out.push(b);
        i += 1;
    }
    i
}

/// Marks (with its high bit) each byte of the little-endian word `w` that is `&`, `=`, `%` or
/// `+`: the classic "has zero byte" test on `w` XOR each of them. The lowest mark is exact;
/// above it, a borrow can mark a byte that is none of them.
fn special_bytes(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    zero_bytes(w ^ (ONES * u64::from(b'&')))
        | zero_bytes(w ^ (ONES * u64::from(b'=')))
        | zero_bytes(w ^ (ONES * u64::from(b'%')))
        | zero_bytes(w ^ (ONES * u64::from(b'+')))
}

/// Splits a form body into raw `(name, value)` segments, skipping empty ones.
fn segments(input: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    input
        .split(|&b| b == b'&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| match segment.iter().position(|&b| b == b'=') {
            Some(i) => (&segment[..i], &segment[i + 1..]),
            None => (segment, &segment[segment.len()..]),
        })
}

/// The error for the first raw component of `input` that does not decode to UTF-8 (the slow
/// path of [`FormParams::parse`], taken only for a malformed body).
fn first_undecodable(input: &[u8]) -> FormError {
    let mut scratch = Vec::new();
    for (name, value) in segments(input) {
        for raw in [name, value] {
            scratch.clear();
            decode_into(&mut scratch, raw, true);
            if std::str::from_utf8(&scratch).is_err() {
                return not_utf8(raw);
            }
        }
    }
    // A component's bytes decode on their own or not at all, so one of them failed above.
    not_utf8(input)
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for FormParams {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut form = Self::new();
        for (name, value) in pairs {
            form.push(name.as_ref(), value.as_ref());
        }
        form
    }
}

impl From<Vec<(String, String)>> for FormParams {
    fn from(pairs: Vec<(String, String)>) -> Self {
        pairs.into_iter().collect()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> From<&[(K, V)]> for FormParams {
    fn from(pairs: &[(K, V)]) -> Self {
        pairs
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect()
    }
}

impl PartialEq for FormParams {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for FormParams {}

impl fmt::Debug for FormParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A decoded name and value as bytes.
    type RawPair = (Vec<u8>, Vec<u8>);

    #[test]
    fn parses_in_order_with_duplicates_and_empty_values() {
        let form = FormParams::parse(b"b=2&a=&&a=1&c&x=a=b").unwrap();
        assert_eq!(
            form.iter().collect::<Vec<_>>(),
            [("b", "2"), ("a", ""), ("a", "1"), ("c", ""), ("x", "a=b")]
        );
        assert_eq!(form.len(), 5);
        assert_eq!(form.last("a"), Some("1"));
        assert_eq!(form.last("zz"), None);
        assert_eq!(form.get(4), Some(("x", "a=b")));
        assert_eq!(form.get(5), None);
    }

    #[test]
    fn push_retain_and_equality_see_pairs_not_storage() {
        let mut form = FormParams::parse(b"a=1&b=2&a=3").unwrap();
        form.retain(|n, _| n != "b");
        form.push("c", "ü");
        let built: FormParams = [("a", "1"), ("a", "3"), ("c", "ü")].into_iter().collect();
        assert_eq!(form, built);
        assert_ne!(form, FormParams::parse(b"a=13").unwrap());
        assert_eq!(
            format!("{form:?}"),
            r#"[("a", "1"), ("a", "3"), ("c", "ü")]"#
        );
        assert_eq!(form.to_urlencoded(), "a=1&a=3&c=%C3%BC");
    }

    proptest::proptest! {
        /// Copying word by word stops at the same byte, with the same output, as a byte loop.
        #[test]
        fn copy_plain_matches_a_byte_loop(
            raw in proptest::collection::vec(
                proptest::prop_oneof![proptest::sample::select(b"&=%+\x00\x25\xffa".to_vec()), proptest::num::u8::ANY],
                0..40,
            ),
            from in 0usize..40,
        ) {
            let from = from.min(raw.len());
            let mut out = Vec::new();
            let stop = copy_plain(&raw, from, &mut out);
            let want = raw[from..].iter().position(|b| b"&=%+".contains(b)).map_or(raw.len(), |p| from + p);
            proptest::prop_assert_eq!(stop, want);
            proptest::prop_assert_eq!(&out[..], &raw[from..want]);
        }

        /// The one-pass parser agrees with splitting into segments and decoding each component.
        #[test]
        fn parse_matches_split_then_decode(raw in proptest::collection::vec(
            proptest::prop_oneof![proptest::sample::select(b"&=%+aF09zG".to_vec()), proptest::num::u8::ANY],
            0..60,
        )) {
            let reference: Result<Vec<RawPair>, ()> = segments(&raw)
                .map(|(n, v)| {
                    let (mut name, mut value) = (Vec::new(), Vec::new());
                    decode_into(&mut name, n, true);
                    decode_into(&mut value, v, true);
                    let ok = std::str::from_utf8(&name).is_ok() && std::str::from_utf8(&value).is_ok();
                    if ok { Ok((name, value)) } else { Err(()) }
                })
                .collect();
            match (FormParams::parse(&raw), reference) {
                (Ok(form), Ok(pairs)) => {
                    let got: Vec<RawPair> =
                        form.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec())).collect();
                    proptest::prop_assert_eq!(got, pairs);
                }
                (Err(_), Err(())) => {}
                (got, want) => proptest::prop_assert!(false, "parse {:?} vs reference {:?}", got, want),
            }
        }

        /// Encoding any pairs and parsing them back gives the same pairs.
        #[test]
        fn encode_then_parse_round_trips(pairs in proptest::collection::vec(("\\PC{0,8}", "\\PC{0,12}"), 0..8)) {
            let form: FormParams = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let parsed = FormParams::parse(form.to_urlencoded().as_bytes()).unwrap();
            proptest::prop_assert_eq!(parsed, form);
        }
    }
}
