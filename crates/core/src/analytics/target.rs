//! [`LmsTarget`]: where a user's notebook logs go and with which token, from the `lms_*`
//! parameters of their latest launch.

use crate::params::{LmsParams, SessionInfo};

use super::record::{REST_PATH, WS_FUNCTION};

/// The destination of one user's records. The token is a secret of the LMS: kept by the hub
/// for delivery only, never logged (its `Debug` hides it), never put in a container.
#[derive(Clone, PartialEq, Eq)]
pub struct LmsTarget {
    /// `lms_sessioninfo`: the mod_lticontainer instance and the LTI activity.
    pub session: SessionInfo,
    /// `<lms_serverurl><lms_serverpath>/webservice/rest/server.php`.
    pub endpoint: String,
    /// `lms_rpctoken`: the web-service token.
    pub token: String,
}

impl std::fmt::Debug for LmsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmsTarget")
            .field("session", &self.session)
            .field("endpoint", &self.endpoint)
            .field("token", &"<hidden>")
            .finish()
    }
}

impl LmsTarget {
    /// The target a launch names, or `None` when it lacks `lms_sessioninfo`, `lms_serverurl`
    /// or `lms_rpctoken` (then nothing is captured for the user), or the server URL is not
    /// `http(s)://…`. An empty `lms_serverpath` gives `//webservice/…`, as the original sent it
    /// and Moodle accepts.
    pub fn from_params(params: &LmsParams) -> Option<Self> {
        let session = params.session?;
        let url = params.server_url.as_deref()?.trim().trim_end_matches('/');
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) || url.len() < 9 {
            return None;
        }
        let token = params.rpc_token.as_deref()?.trim();
        if token.is_empty() {
            return None;
        }
        let path = params.server_path.as_deref().unwrap_or("").trim();
        let path = path.trim_end_matches('/');
        let sep = if path.starts_with('/') { "" } else { "/" };
        Some(Self {
            session,
            endpoint: format!("{url}{sep}{path}{REST_PATH}"),
            token: token.to_owned(),
        })
    }

    /// The URL a record is posted to: the endpoint with the function, the token and the JSON
    /// answer format in the query.
    pub fn request_url(endpoint: &str, token: &str) -> String {
        format!(
            "{endpoint}?wsfunction={WS_FUNCTION}&wstoken={}&moodlewsrestformat=json",
            crate::form::percent_encode(token)
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn params(url: Option<&str>, path: Option<&str>, token: Option<&str>) -> LmsParams {
        LmsParams {
            session: Some(SessionInfo {
                ltictr_id: 1,
                lti_id: 2,
            }),
            server_url: url.map(Into::into),
            server_path: path.map(Into::into),
            rpc_token: token.map(Into::into),
            ..LmsParams::default()
        }
    }

    #[test]
    fn endpoint_from_url_and_path() {
        let t = LmsTarget::from_params(&params(
            Some("http://127.0.0.1:8081"),
            Some(""),
            Some("ab12"),
        ))
        .unwrap();
        assert_eq!(
            t.endpoint,
            "http://127.0.0.1:8081//webservice/rest/server.php"
        );
        let t = LmsTarget::from_params(&params(
            Some("https://m.example:443"),
            Some("/moodle"),
            Some("ab12"),
        ))
        .unwrap();
        assert_eq!(
            t.endpoint,
            "https://m.example:443/moodle/webservice/rest/server.php"
        );
        assert_eq!(
            LmsTarget::request_url(&t.endpoint, &t.token),
            "https://m.example:443/moodle/webservice/rest/server.php?wsfunction=mod_lticontainer_write_nblogs&wstoken=ab12&moodlewsrestformat=json"
        );
        assert!(!format!("{t:?}").contains("ab12"));
    }

    #[test]
    fn no_target_without_every_part() {
        assert!(LmsTarget::from_params(&params(None, None, Some("t"))).is_none());
        assert!(LmsTarget::from_params(&params(Some("http://m"), None, None)).is_none());
        assert!(LmsTarget::from_params(&params(Some("http://m:80"), None, Some(" "))).is_none());
        assert!(LmsTarget::from_params(&params(Some("ftp://m:21"), None, Some("t"))).is_none());
        let mut p = params(Some("http://m:80"), None, Some("t"));
        p.session = None;
        assert!(LmsTarget::from_params(&p).is_none());
    }
}
