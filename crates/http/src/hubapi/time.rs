//! Timestamps in JupyterHub's format: ISO 8601 UTC with microseconds and a `Z`.

use std::time::SystemTime;

use time::format_description::well_known::{Iso8601, Rfc3339};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Formats `t` as JupyterHub's `isoformat` does: `2024-05-01T12:00:00.123456Z`.
pub(crate) fn isoformat(t: SystemTime) -> String {
    let t = OffsetDateTime::from(t).to_offset(UtcOffset::UTC);
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.format(&fmt)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses a timestamp a single-user server sends: RFC 3339 / ISO 8601 with an offset, or
/// without one (taken as UTC, as JupyterHub does with naive timestamps).
pub(crate) fn parse(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.into());
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Iso8601::DEFAULT) {
        return Some(t.into());
    }
    PrimitiveDateTime::parse(s, &Iso8601::DEFAULT)
        .ok()
        .map(|t| t.assume_utc().into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn formats_like_jupyterhub() {
        let t = UNIX_EPOCH + Duration::new(1_714_564_800, 123_456_789);
        assert_eq!(isoformat(t), "2024-05-01T12:00:00.123456Z");
    }

    #[test]
    fn parses_what_singleuser_sends() {
        let t = UNIX_EPOCH + Duration::new(1_714_564_800, 123_456_000);
        assert_eq!(parse("2024-05-01T12:00:00.123456Z"), Some(t));
        assert_eq!(parse("2024-05-01T14:00:00.123456+02:00"), Some(t));
        assert_eq!(parse("2024-05-01T12:00:00.123456"), Some(t));
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse(""), None);
    }
}
