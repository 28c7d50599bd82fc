//! The load tools' guard: they send load to loopback only (the project's network rule).

/// `127.0.0.1:PORT` (or `[::1]:PORT`) of a loopback URL with the given scheme (`"http"`, `"ws"`)
/// and an explicit port; `None` for anything else, including look-alike host names.
pub fn authority<'a>(url: &'a str, scheme: &str) -> Option<&'a str> {
    let rest = url.strip_prefix(scheme)?.strip_prefix("://")?;
    let auth = rest.split(['/', '?']).next()?;
    let (host, port) = auth.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    matches!(host, "127.0.0.1" | "[::1]").then_some(auth)
}

#[cfg(test)]
mod tests {
    use super::authority;

    #[test]
    fn only_loopback_urls_with_a_port_and_the_scheme_asked_for_pass() {
        assert_eq!(
            authority("http://127.0.0.1:9/x", "http"),
            Some("127.0.0.1:9")
        );
        assert_eq!(authority("http://[::1]:9/x", "http"), Some("[::1]:9"));
        assert_eq!(authority("ws://127.0.0.1:9?a=b", "ws"), Some("127.0.0.1:9"));
        for bad in [
            "http://10.0.0.1:9/x",
            "http://127.0.0.1/x",
            "https://127.0.0.1:9/",
            "http://127.0.0.1.evil:9/",
            "http://127.0.0.1:99999/",
            "ws://127.0.0.1:9/",
        ] {
            assert_eq!(authority(bad, "http"), None, "{bad}");
        }
    }
}
