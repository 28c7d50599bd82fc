//! Web origins of the LMS (`https://moodle.school.edu`), as the configuration and the frame
//! policy compare them.

/// `scheme://host[:port]` from an origin or URL, lower-cased, when it is http(s) and has a host.
///
/// ```
/// use lticontainer_hub::origin::normalise_origin;
/// assert_eq!(normalise_origin("https://Moodle.School.edu/mod/lti/launch.php?id=3").as_deref(), Some("https://moodle.school.edu"));
/// assert_eq!(normalise_origin("javascript:alert(1)"), None);
/// ```
pub fn normalise_origin(s: &str) -> Option<String> {
    let url = url::Url::parse(s.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.host_str()?;
    Some(url.origin().ascii_serialization())
}
