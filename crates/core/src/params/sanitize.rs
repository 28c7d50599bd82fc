//! Character filters and number parsing for `lms_*` values (the original's S1/S2 sets, made strict).

use std::borrow::Cow;

/// The original's sanitizer set S1: characters removed from image, default URL and server URL/path.
/// Unlike the original, the backslash (missed by accident) and the backtick are removed too.
pub(crate) const S1: &[char] = &[
    ';', '$', '!', '"', '\'', '&', '|', '<', '>', '?', '^', '%', '(', ')', '{', '}', '\n', '\r',
    '~', ' ', '\\', '`',
];

/// [`S1`] as a bit set over ASCII (bit `n` set when the character `n` is in the set), so a
/// membership test is one shift instead of a scan of the list.
const S1_MASK: u128 = ascii_mask(S1);

/// The bit set of the ASCII characters of `set` (every character of S1 is ASCII).
const fn ascii_mask(set: &[char]) -> u128 {
    let mut mask = 0;
    let mut i = 0;
    while i < set.len() {
        assert!(
            set[i].is_ascii(),
            "the sanitizer sets hold ASCII characters only"
        );
        mask |= 1 << set[i] as u32;
        i += 1;
    }
    mask
}

/// True when `c` is in S1.
fn in_s1(c: char) -> bool {
    (c as u32) < 128 && S1_MASK & (1 << c as u32) != 0
}

/// `value` without the characters `drop` selects: borrowed when nothing is dropped (the usual
/// case), else copied once.
pub(crate) fn without(value: &str, drop: impl Fn(char) -> bool) -> Cow<'_, str> {
    // ASCII text (the usual case) is checked byte by byte, without decoding UTF-8.
    let first = if value.is_ascii() {
        value.bytes().position(|b| drop(char::from(b)))
    } else {
        value.char_indices().find(|&(_, c)| drop(c)).map(|(i, _)| i)
    };
    let Some(first) = first else {
        return Cow::Borrowed(value);
    };
    let mut kept = String::with_capacity(value.len());
    kept.push_str(&value[..first]);
    kept.extend(value[first..].chars().filter(|&c| !drop(c)));
    Cow::Owned(kept)
}

/// True when [`strip_set`] removes `c`: S1, every control character and, with `slash`, `/`.
pub(crate) fn in_set(c: char, slash: bool) -> bool {
    in_s1(c) || c.is_control() || (slash && c == '/')
}

/// Removes the S1 characters, every other control character (NUL, tab, …) and, when `slash` is
/// true, `/` as well (the original's S2). Borrows `value` when nothing is removed.
pub(crate) fn strip_set(value: &str, slash: bool) -> Cow<'_, str> {
    without(value, |c| in_set(c, slash))
}

/// Removes control characters and backslashes (the original's filter for course and activity
/// names, extended to every control character so the value is safe in an environment variable).
/// Borrows `value` when nothing is removed.
pub(crate) fn strip_controls(value: &str) -> Cow<'_, str> {
    without(value, |c| c.is_control() || c == '\\')
}

/// The first position of the non-empty `pat` in `hay`: a byte search for its first byte, then a
/// comparison, which beats a general substring search for the short patterns of this crate.
pub(crate) fn find_str(hay: &str, pat: &str) -> Option<usize> {
    let (&head, _) = pat.as_bytes().split_first()?;
    let mut from = 0;
    while let Some(i) = hay.as_bytes()[from..].iter().position(|&b| b == head) {
        let at = from + i;
        if hay.as_bytes()[at..].starts_with(pat.as_bytes()) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The outcome of reading a number out of a parameter value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num<T> {
    /// The value held nothing after filtering: use the configured default, silently.
    Empty,
    /// A usable number.
    Value(T),
    /// Something was there but is not a usable number: use the default and warn.
    Invalid,
}

/// What an empty filtered value means: [`Num::Empty`] when `value` was blank, else
/// [`Num::Invalid`].
fn nothing_kept<T>(value: &str) -> Num<T> {
    if value.trim().is_empty() {
        Num::Empty
    } else {
        Num::Invalid
    }
}

/// Keeps the ASCII digits of `value` (Moodle sends `524,288,000`) and parses them as a `u64`.
/// A value with non-digit content but no digits, or one that overflows, is [`Num::Invalid`].
pub(crate) fn digits_u64(value: &str) -> Num<u64> {
    let mut n: Option<u64> = None;
    for b in value.bytes().filter(u8::is_ascii_digit) {
        let digit = u64::from(b - b'0');
        match n
            .unwrap_or(0)
            .checked_mul(10)
            .and_then(|n| n.checked_add(digit))
        {
            Some(next) => n = Some(next),
            None => return Num::Invalid,
        }
    }
    n.map_or_else(|| nothing_kept(value), Num::Value)
}

/// Keeps the ASCII digits and dots of `value` and parses them as a finite, non-negative `f64`.
pub(crate) fn decimal_f64(value: &str) -> Num<f64> {
    let kept = without(value, |c| !(c.is_ascii_digit() || c == '.'));
    if kept.is_empty() {
        return nothing_kept(value);
    }
    match kept.parse::<f64>() {
        Ok(v) if v.is_finite() => Num::Value(v),
        _ => Num::Invalid,
    }
}

/// The host name of an `http(s)://` URL, lowercased, without userinfo and port; `None` when the
/// URL has no host or the host is not a DNS name or IPv4 address (`[a-z0-9.-]`).
pub(crate) fn url_host(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = &url[find_str(url, "://")? + 3..];
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host_port,
    };
    // Checked before lowercasing: ASCII letters of either case lowercase into `[a-z]`, and
    // nothing else changes.
    let ok = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['.', '-'])
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    ok.then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_set_removes_metacharacters() {
        assert_eq!(strip_set("a;b$c d\\e/f\0g", false), "abcde/fg");
        assert_eq!(strip_set("a;b$c d\\e/f\0g", true), "abcdefg");
        assert_eq!(strip_set("課題", true), "課題");
        assert_eq!(strip_set("a\u{85}b\u{7f}c\u{a0}", false), "abc\u{a0}");
        assert!(matches!(strip_set("jupyter/x:1", false), Cow::Borrowed(_)));
        assert!(matches!(strip_set("a b", false), Cow::Owned(_)));
        for c in S1 {
            assert!(in_s1(*c), "{c:?} is in S1");
        }
        assert!(!in_s1('a') && !in_s1('/') && !in_s1('課'));
    }

    #[test]
    fn strip_controls_keeps_text() {
        assert_eq!(strip_controls("Python\t101\\"), "Python101");
        assert!(matches!(strip_controls("Python 101"), Cow::Borrowed(_)));
    }

    #[test]
    fn numbers() {
        assert_eq!(digits_u64("524,288,000"), Num::Value(524_288_000));
        assert_eq!(digits_u64(""), Num::Empty);
        assert_eq!(digits_u64(" "), Num::Empty);
        assert_eq!(digits_u64("abc"), Num::Invalid);
        assert_eq!(digits_u64("99999999999999999999999"), Num::Invalid);
        assert_eq!(digits_u64("18446744073709551615"), Num::Value(u64::MAX));
        assert_eq!(digits_u64("18446744073709551616"), Num::Invalid);
        assert_eq!(digits_u64("000,001"), Num::Value(1));
        assert_eq!(decimal_f64("0.5"), Num::Value(0.5));
        assert_eq!(decimal_f64("-2"), Num::Value(2.0));
        assert_eq!(decimal_f64("1.2.3"), Num::Invalid);
        assert_eq!(decimal_f64(&"9".repeat(400)), Num::Invalid);
        assert_eq!(decimal_f64("x"), Num::Invalid);
        assert_eq!(decimal_f64(""), Num::Empty);
    }

    #[test]
    fn find_str_finds_the_first_match() {
        for (hay, pat) in [
            ("a:/b://c://", "://"),
            ("{gr{group}", "{group}"),
            ("", "x"),
            ("abc", "abcd"),
            ("課題://x", "://"),
        ] {
            assert_eq!(find_str(hay, pat), hay.find(pat), "{hay} {pat}");
        }
        assert_eq!(find_str("abc", ""), None);
    }

    #[test]
    fn hosts() {
        let h = |u| url_host(u);
        assert_eq!(
            h("https://El.mml.tuis.ac.jp:8443/mod/lti/service.php").as_deref(),
            Some("el.mml.tuis.ac.jp")
        );
        assert_eq!(h("http://u:p@moodle/x").as_deref(), Some("moodle"));
        assert_eq!(h("http://10.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(h("http://[::1]:80/"), None);
        assert_eq!(h("moodle.example"), None);
        assert_eq!(h("http://evil_host/"), None);
        assert_eq!(h("http:///path"), None);
    }
}
