//! The query of `GET /hub/api/users`, read as JupyterHub 5 reads it (`get_api_pagination`,
//! `UserListAPIHandler.get`): `offset`, `limit`, `name_filter`, `state`, `sort`, and whether the
//! caller asked for the pagination envelope.

use axum::http::{HeaderMap, StatusCode, header::ACCEPT};

use super::super::error::JsonError;

/// The media type that asks for the pagination envelope (`items` + `_pagination`).
pub(super) const PAGINATION_MEDIA_TYPE: &str = "application/jupyterhub-pagination+json";

/// JupyterHub's `api_page_default_limit`: the page size when the envelope is asked for.
pub(super) const DEFAULT_LIMIT: usize = 50;

/// JupyterHub's `api_page_max_limit`: the largest page.
pub(super) const MAX_LIMIT: usize = 200;

/// Which users by server state (`state=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StateFilter {
    /// A server starting or running.
    Active,
    /// A server running and ready.
    Ready,
    /// No server starting or running.
    Inactive,
}

/// The order of the list (`sort=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SortKey {
    /// Creation order (JupyterHub's user id).
    Id,
    /// By name.
    Name,
    /// By last activity (no activity first when ascending, last when descending).
    LastActivity,
}

/// A read `GET /hub/api/users` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ListQuery {
    /// Users skipped.
    pub(super) offset: usize,
    /// The page size; `None` (no envelope and no `limit`) lists everyone.
    pub(super) limit: Option<usize>,
    /// A case-insensitive part of the name.
    pub(super) name_filter: Option<String>,
    /// By server state.
    pub(super) state: Option<StateFilter>,
    /// The order.
    pub(super) sort: SortKey,
    /// Descending (`sort=-…`).
    pub(super) descending: bool,
    /// The caller accepts the pagination envelope.
    pub(super) envelope: bool,
}

/// Whether `headers` accept the pagination envelope: one of the comma-separated `Accept`
/// values is exactly the media type (JupyterHub's `accepts_pagination`).
fn accepts_pagination(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(PAGINATION_MEDIA_TYPE))
}

/// `s` as Python's `repr` writes a string, for JupyterHub's error messages.
fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

impl ListQuery {
    /// Reads `query` and the `Accept` header. Out-of-range numbers are brought in range as
    /// JupyterHub does (negative ones made positive, `limit` between 1 and [`MAX_LIMIT`]).
    /// Unlike JupyterHub, a caller without the envelope and without `limit` gets every user,
    /// not the first 200: mod_lticontainer asks so and must see every student.
    ///
    /// # Errors
    /// JupyterHub's 400s: a number that is not an integer, an unknown `state` or `sort`.
    pub(super) fn parse(query: Option<&str>, headers: &HeaderMap) -> Result<Self, JsonError> {
        let bad = |m: String| JsonError::new(StatusCode::BAD_REQUEST, m);
        // Tornado's get_argument: the last value, stripped.
        let arg = |name: &str| {
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .filter(|(k, _)| k == name)
                .last()
                .map(|(_, v)| v.trim().to_owned())
        };
        let number = |v: &str| {
            v.parse::<i64>()
                .map(|n| usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX))
                .map_err(|_| {
                    bad("Invalid argument type, offset and limit must be integers".to_owned())
                })
        };
        let envelope = accepts_pagination(headers);
        let offset = arg("offset").map_or(Ok(0), |v| number(&v))?;
        let limit = match arg("limit") {
            Some(v) => Some(number(&v)?.clamp(1, MAX_LIMIT)),
            None => envelope.then_some(DEFAULT_LIMIT),
        };
        let state = match arg("state").as_deref() {
            None | Some("") => None,
            Some("active") => Some(StateFilter::Active),
            Some("ready") => Some(StateFilter::Ready),
            Some("inactive") => Some(StateFilter::Inactive),
            Some(other) => {
                return Err(bad(format!(
                    "Unrecognized state filter: {}",
                    py_repr(other)
                )));
            }
        };
        let sort_param = arg("sort").unwrap_or_else(|| "id".to_owned());
        let (descending, sort_name) = match sort_param.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, sort_param.as_str()),
        };
        let sort = match sort_name {
            "id" => SortKey::Id,
            "name" => SortKey::Name,
            "last_activity" => SortKey::LastActivity,
            _ => {
                return Err(bad(format!(
                    "sort must be 'id', 'name', or 'last_activity', not '{sort_param}'"
                )));
            }
        };
        Ok(Self {
            offset,
            limit,
            name_filter: arg("name_filter").filter(|f| !f.is_empty()),
            state,
            sort,
            descending,
            envelope,
        })
    }

    /// The same query with `offset` and `limit` replaced (added when missing), the other
    /// parameters kept in their order: the `next` page's query.
    pub(super) fn next_query(raw: Option<&str>, offset: usize, limit: usize) -> String {
        let mut pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .filter(|(k, _)| k != "offset" && k != "limit")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        pairs.push(("offset".to_owned(), offset.to_string()));
        pairs.push(("limit".to_owned(), limit.to_string()));
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(q: &str, envelope: bool) -> Result<ListQuery, JsonError> {
        let mut h = HeaderMap::new();
        if envelope {
            h.insert(
                ACCEPT,
                "application/json, application/jupyterhub-pagination+json"
                    .parse()
                    .unwrap(),
            );
        }
        ListQuery::parse(Some(q), &h)
    }

    #[test]
    fn numbers_are_read_as_jupyterhub_reads_them() {
        let q = parse("", false).unwrap();
        assert_eq!((q.offset, q.limit, q.envelope), (0, None, false));
        let q = parse("", true).unwrap();
        assert_eq!((q.offset, q.limit, q.envelope), (0, Some(50), true));
        let q = parse("offset=-3&limit=0", false).unwrap();
        assert_eq!((q.offset, q.limit), (3, Some(1)));
        let q = parse("limit=5000&limit=7", true).unwrap();
        assert_eq!(q.limit, Some(7), "the last value counts");
        assert_eq!(parse("limit=5000", true).unwrap().limit, Some(200));
        for bad in ["offset=ten", "limit=1.5", "offset="] {
            let e = parse(bad, false).unwrap_err();
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn state_and_sort_are_checked() {
        assert_eq!(
            parse("state=ready", false).unwrap().state,
            Some(StateFilter::Ready)
        );
        assert_eq!(parse("state=", false).unwrap().state, None);
        assert!(parse("state=running", false).is_err());
        let q = parse("sort=-last_activity", false).unwrap();
        assert_eq!((q.sort, q.descending), (SortKey::LastActivity, true));
        assert!(parse("sort=created", false).is_err());
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("x"), "'x'");
    }

    #[test]
    fn the_next_query_keeps_the_other_parameters() {
        assert_eq!(
            ListQuery::next_query(Some("name_filter=a&offset=0&limit=2&state=ready"), 2, 2),
            "name_filter=a&state=ready&offset=2&limit=2"
        );
    }
}
