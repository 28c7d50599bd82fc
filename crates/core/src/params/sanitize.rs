//! Character filters and number parsing for `lms_*` values (the original's S1/S2 sets, made strict).

/// The original's sanitizer set S1: characters removed from image, default URL and server URL/path.
/// Unlike the original, the backslash (missed by accident) and the backtick are removed too.
pub(crate) const S1: &[char] = &[
    ';', '$', '!', '"', '\'', '&', '|', '<', '>', '?', '^', '%', '(', ')', '{', '}', '\n', '\r',
    '~', ' ', '\\', '`',
];

/// Removes the S1 characters, every other control character (NUL, tab, …) and, when `slash` is
/// true, `/` as well (the original's S2).
pub(crate) fn strip_set(value: &str, slash: bool) -> String {
    value
        .chars()
        .filter(|c| !(S1.contains(c) || c.is_control() || (slash && *c == '/')))
        .collect()
}

/// Removes control characters and backslashes (the original's filter for course and activity
/// names, extended to every control character so the value is safe in an environment variable).
pub(crate) fn strip_controls(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control() && *c != '\\')
        .collect()
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

/// Keeps the ASCII digits of `value` (Moodle sends `524,288,000`) and parses them as a `u64`.
/// A value with non-digit content but no digits, or one that overflows, is [`Num::Invalid`].
pub(crate) fn digits_u64(value: &str) -> Num<u64> {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return if value.trim().is_empty() {
            Num::Empty
        } else {
            Num::Invalid
        };
    }
    digits.parse().map_or(Num::Invalid, Num::Value)
}

/// Keeps the ASCII digits and dots of `value` and parses them as a finite, non-negative `f64`.
pub(crate) fn decimal_f64(value: &str) -> Num<f64> {
    let kept: String = value
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    if kept.is_empty() {
        return if value.trim().is_empty() {
            Num::Empty
        } else {
            Num::Invalid
        };
    }
    match kept.parse::<f64>() {
        Ok(v) if v.is_finite() => Num::Value(v),
        _ => Num::Invalid,
    }
}

/// The host name of an `http(s)://` URL, lowercased, without userinfo and port; `None` when the
/// URL has no host or the host is not a DNS name or IPv4 address (`[a-z0-9.-]`).
pub(crate) fn url_host(url: &str) -> Option<String> {
    let rest = url.trim().split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host_port,
    };
    let host = host.to_ascii_lowercase();
    let ok = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['.', '-'])
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    ok.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_set_removes_metacharacters() {
        assert_eq!(strip_set("a;b$c d\\e/f\0g", false), "abcde/fg");
        assert_eq!(strip_set("a;b$c d\\e/f\0g", true), "abcdefg");
        assert_eq!(strip_set("課題", true), "課題");
    }

    #[test]
    fn numbers() {
        assert_eq!(digits_u64("524,288,000"), Num::Value(524_288_000));
        assert_eq!(digits_u64(""), Num::Empty);
        assert_eq!(digits_u64(" "), Num::Empty);
        assert_eq!(digits_u64("abc"), Num::Invalid);
        assert_eq!(digits_u64("99999999999999999999999"), Num::Invalid);
        assert_eq!(decimal_f64("0.5"), Num::Value(0.5));
        assert_eq!(decimal_f64("-2"), Num::Value(2.0));
        assert_eq!(decimal_f64("1.2.3"), Num::Invalid);
        assert_eq!(decimal_f64(&"9".repeat(400)), Num::Invalid);
        assert_eq!(decimal_f64("x"), Num::Invalid);
        assert_eq!(decimal_f64(""), Num::Empty);
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
