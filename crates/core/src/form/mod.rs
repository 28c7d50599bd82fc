//! The decoded form: `application/x-www-form-urlencoded` bodies and query strings
//! ([`FormParams`], [`parse_urlencoded`], [`encode_urlencoded`]), the `Authorization: OAuth …`
//! header's parameters ([`parse_authorization`], RFC 5849 §3.5.1) and RFC 3986 percent-encoding.
//!
//! A layer below [`auth`](crate::auth), which verifies the signature over these parameters,
//! and [`launch`](crate::launch), whose [`LaunchParams`](crate::launch::LaunchParams) indexes a
//! decoded form; it depends on neither. `auth` re-exports its items and turns a [`FormError`]
//! into a malformed launch.

mod params;

pub use params::FormParams;

/// Why a form body, query string or `Authorization` header cannot be decoded. Auth turns it
/// into [`LaunchError::Malformed`](crate::auth::LaunchError::Malformed) with this text as the
/// reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    /// A name or value does not decode to UTF-8 text.
    #[error("the parameter component {component:?} does not decode to UTF-8 text")]
    NotUtf8 {
        /// The raw (still percent-encoded) component, invalid UTF-8 replaced.
        component: String,
    },
    /// An `Authorization: OAuth` parameter is not `name="value"`.
    #[error(
        "the Authorization header's OAuth parameter {item:?} is not of the form name=\"value\""
    )]
    MalformedAuthorization {
        /// The parameter as sent.
        item: String,
    },
}

/// Decodes an `application/x-www-form-urlencoded` body or query string into owned name/value
/// pairs, in order with duplicates, by the rules of [`FormParams::parse`].
///
/// # Errors
/// [`FormError::NotUtf8`] when a name or value does not decode to UTF-8.
///
/// # Example
/// ```
/// use lticontainer_core::form::parse_urlencoded;
/// let pairs = parse_urlencoded(b"a=1&b=x+y%20z&a=2").unwrap();
/// assert_eq!(pairs, [("a".into(), "1".into()), ("b".into(), "x y z".into()), ("a".into(), "2".into())]);
/// ```
pub fn parse_urlencoded(input: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    Ok(FormParams::parse(input)?.to_vec())
}

/// The value of an ASCII hex digit.
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes one component in one pass; with `plus_is_space`, `+` becomes a space.
fn decode_component(raw: &[u8], plus_is_space: bool) -> Result<String, FormError> {
    let mut out = Vec::with_capacity(raw.len());
    decode_into(&mut out, raw, plus_is_space);
    String::from_utf8(out).map_err(|_| not_utf8(raw))
}

/// The error for a component whose decoded bytes are not UTF-8.
fn not_utf8(raw: &[u8]) -> FormError {
    FormError::NotUtf8 {
        component: String::from_utf8_lossy(raw).into_owned(),
    }
}

/// Appends the percent-decoding of `raw` to `out` (with `plus_is_space`, `+` becomes a space);
/// a `%` not followed by two hex digits stays as it is. The caller checks UTF-8.
fn decode_into(out: &mut Vec<u8>, raw: &[u8], plus_is_space: bool) {
    let next_special = |rest: &[u8]| {
        if plus_is_space {
            memchr::memchr2(b'%', b'+', rest)
        } else {
            memchr::memchr(b'%', rest)
        }
    };
    let mut rest = raw;
    // Copy each run of plain bytes at once, then decode the `%XX` or `+` that ends it.
    while let Some(i) = next_special(rest) {
        out.extend_from_slice(&rest[..i]);
        rest = &rest[i..];
        if rest[0] == b'+' {
            out.push(b' ');
            rest = &rest[1..];
            continue;
        }
        let (byte, used) = percent_escape(rest);
        out.push(byte);
        rest = &rest[used..];
    }
    out.extend_from_slice(rest);
}

/// Decodes the escape at the start of `rest`, which starts with `%`: the byte `%XX` names and
/// the 3 bytes it takes, or a stray `%` (kept as it is) and 1 byte when two hex digits do not
/// follow.
fn percent_escape(rest: &[u8]) -> (u8, usize) {
    let hi = rest.get(1).copied().and_then(hex_value);
    let lo = rest.get(2).copied().and_then(hex_value);
    match (hi, lo) {
        (Some(hi), Some(lo)) => (hi << 4 | lo, 3),
        _ => (b'%', 1),
    }
}

pub(crate) const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Which bytes are RFC 3986 unreserved characters, which percent-encoding leaves as they are.
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~');
        b += 1;
    }
    table
};

/// True for the RFC 3986 unreserved characters `A-Z a-z 0-9 - . _ ~`.
pub(crate) fn is_unreserved(b: u8) -> bool {
    UNRESERVED[usize::from(b)]
}

/// Appends `s` percent-encoded per RFC 5849 §3.6 (RFC 3986 unreserved characters
/// `A-Z a-z 0-9 - . _ ~` stay; every other UTF-8 byte becomes `%XX` with uppercase hex).
pub(crate) fn percent_encode_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len());
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if is_unreserved(b) {
            continue;
        }
        if run_start < i {
            // A non-empty run is ASCII, so it starts on a char boundary, and the byte after
            // an ASCII byte starts a character, so it ends on one too.
            out.push_str(&s[run_start..i]);
        }
        out.push('%');
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
        // A multi-byte character's continuation bytes are encoded one by one in turn.
        run_start = i + 1;
    }
    out.push_str(&s[run_start..]);
}

/// Percent-encodes `s` per RFC 5849 §3.6.
///
/// # Example
/// ```
/// assert_eq!(lticontainer_core::form::percent_encode("a b/ü~"), "a%20b%2F%C3%BC~");
/// ```
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    percent_encode_into(&mut out, s);
    out
}

/// Encodes pairs as an `application/x-www-form-urlencoded` body, with RFC 3986 percent-encoding
/// (spaces as `%20`), the way Moodle's launch form posts them.
pub fn encode_urlencoded<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    encode_pairs(pairs.iter().map(|(n, v)| (n.as_ref(), v.as_ref())))
}

/// [`encode_urlencoded`] over any iterator of pairs.
fn encode_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode_into(&mut out, name);
        out.push('=');
        percent_encode_into(&mut out, value);
    }
    out
}

/// Writes OAuth protocol parameters as an `Authorization: OAuth` header value (RFC 5849
/// §3.5.1, with an empty `realm`), names and values percent-encoded; what
/// [`parse_authorization`] reads.
///
/// # Example
/// ```
/// use lticontainer_core::form::{authorization_header, parse_authorization};
/// let h = authorization_header(&[("oauth_nonce", "a b")]);
/// assert_eq!(h, r#"OAuth realm="",oauth_nonce="a%20b""#);
/// assert_eq!(parse_authorization(&h).unwrap().unwrap()[1], ("oauth_nonce".into(), "a b".into()));
/// ```
pub fn authorization_header<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let mut out = String::from("OAuth realm=\"\"");
    for (name, value) in params {
        out.push(',');
        percent_encode_into(&mut out, name.as_ref());
        out.push_str("=\"");
        percent_encode_into(&mut out, value.as_ref());
        out.push('"');
    }
    out
}

/// Reads the OAuth protocol parameters of an `Authorization` header (RFC 5849 §3.5.1).
///
/// Returns `Ok(None)` when the header uses another scheme (e.g. `Basic`), which the launch
/// ignores. `realm` is returned like any other parameter; the caller drops it from the
/// signature base string.
///
/// # Errors
/// [`FormError::MalformedAuthorization`] when the header says `OAuth` but a parameter is not
/// `name="value"`, [`FormError::NotUtf8`] when one does not decode to UTF-8.
///
/// # Example
/// ```
/// use lticontainer_core::form::parse_authorization;
/// let params = parse_authorization(r#"OAuth realm="x", oauth_nonce="a%20b""#).unwrap().unwrap();
/// assert_eq!(params, [("realm".into(), "x".into()), ("oauth_nonce".into(), "a b".into())]);
/// assert!(parse_authorization("Basic dXNlcjpwdw==").unwrap().is_none());
/// ```
pub fn parse_authorization(header: &str) -> Result<Option<Vec<(String, String)>>, FormError> {
    let header = header.trim_start();
    let (scheme, rest) = header.split_at(header.find(' ').unwrap_or(header.len()));
    if !scheme.eq_ignore_ascii_case("OAuth") {
        return Ok(None);
    }
    let malformed = |item: &str| FormError::MalformedAuthorization {
        item: item.to_owned(),
    };
    let mut params = Vec::new();
    for item in rest.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (name, value) = item.split_once('=').ok_or_else(|| malformed(item))?;
        let value = value
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| malformed(item))?;
        params.push((
            decode_component(name.trim().as_bytes(), false)?,
            decode_component(value.as_bytes(), false)?,
        ));
    }
    Ok(Some(params))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    proptest::proptest! {
        /// The run-copying encoder equals the byte-at-a-time definition for any text.
        #[test]
        fn percent_encode_matches_the_definition(s in "\\PC{0,40}") {
            let reference: String = s
                .bytes()
                .map(|b| if is_unreserved(b) { char::from(b).to_string() } else { format!("%{b:02X}") })
                .collect();
            proptest::prop_assert_eq!(percent_encode(&s), reference);
        }

        /// The one-pass decoder agrees with the `percent-encoding` crate on any input.
        #[test]
        fn decoder_matches_percent_encoding_crate(raw in proptest::collection::vec(
            proptest::prop_oneof![proptest::sample::select(b"%+aF09zG".to_vec()), proptest::num::u8::ANY],
            0..40,
        )) {
            let reference: Vec<u8> = percent_encoding::percent_decode(&raw).collect();
            match decode_component(&raw, false) {
                Ok(s) => proptest::prop_assert_eq!(s.into_bytes(), reference),
                Err(_) => proptest::prop_assert!(String::from_utf8(reference).is_err()),
            }
        }
    }

    #[test]
    fn plus_and_percent_twenty_both_decode_to_space() {
        assert_eq!(
            parse_urlencoded(b"t=a+b%20c%2Bd").unwrap(),
            pairs(&[("t", "a b c+d")])
        );
    }

    #[test]
    fn keeps_order_duplicates_and_empty_values() {
        assert_eq!(
            parse_urlencoded(b"b=2&a=&&a=1&c").unwrap(),
            pairs(&[("b", "2"), ("a", ""), ("a", "1"), ("c", "")])
        );
    }

    #[test]
    fn value_may_contain_equals_signs() {
        assert_eq!(parse_urlencoded(b"x=a=b").unwrap(), pairs(&[("x", "a=b")]));
    }

    #[test]
    fn decodes_utf8_and_keeps_stray_percent() {
        assert_eq!(
            parse_urlencoded("n=J%C3%BCrgen&p=100%&q=%zz".as_bytes()).unwrap(),
            pairs(&[("n", "Jürgen"), ("p", "100%"), ("q", "%zz")])
        );
    }

    #[test]
    fn percent_encoding_follows_rfc3986() {
        assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(
            percent_encode(" !*'()+/:=&%"),
            "%20%21%2A%27%28%29%2B%2F%3A%3D%26%25"
        );
        assert_eq!(percent_encode("é€"), "%C3%A9%E2%82%AC");
    }

    #[test]
    fn encode_then_parse_round_trips() {
        let p = pairs(&[("a b", "c&d=e"), ("ü", "~-._+"), ("x", "")]);
        let body = encode_urlencoded(&p);
        assert_eq!(body, "a%20b=c%26d%3De&%C3%BC=~-._%2B&x=");
        assert_eq!(parse_urlencoded(body.as_bytes()).unwrap(), p);
    }

    #[test]
    fn authorization_header_is_parsed_and_decoded() {
        let h = r#"OAuth realm="Example",
            oauth_consumer_key="9djdj82h48djs9d2", oauth_signature="wOJIO9A2W5mFwDgiDvZbTSMK%2FPY%3D""#;
        let p = parse_authorization(h).unwrap().unwrap();
        assert_eq!(
            p,
            pairs(&[
                ("realm", "Example"),
                ("oauth_consumer_key", "9djdj82h48djs9d2"),
                ("oauth_signature", "wOJIO9A2W5mFwDgiDvZbTSMK/PY="),
            ])
        );
    }

    #[test]
    fn authorization_scheme_is_case_insensitive_and_others_are_ignored() {
        assert!(parse_authorization("oauth a=\"1\"").unwrap().is_some());
        assert!(parse_authorization("Bearer abc").unwrap().is_none());
        assert!(parse_authorization("").unwrap().is_none());
    }
}
