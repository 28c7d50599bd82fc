//! Escaping text for HTML and XML (`& < > " '`): the hub's pages and the LTI 1.1 Basic
//! Outcomes messages ([`crate::grades::outcomes`]) share it.

/// Escapes `s` for HTML or XML text and attribute values (`& < > " '`; `'` as `&#39;`, which
/// both read).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
