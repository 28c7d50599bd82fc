//! Who may frame the hub: the `Content-Security-Policy: frame-ancestors` header on every response.
//!
//! Without an LMS origin the hub answers `frame-ancestors 'self'`. Origins come from the
//! configuration and from launches that asked for iframe mode (`lms_iframe=1`); each is an
//! `https://host[:port]` origin, never a path or a wildcard the hub made up.
//!
//! A launch's origin is learned only from the URLs the LMS itself signed into the launch
//! (`launch_presentation_return_url`, `lis_outcome_service_url`: Moodle's wwwroot), never from
//! the request's `Origin` or `Referer` headers — a student could re-post their own signed
//! launch with any `Origin` and make every response of the hub, for every user, frameable by
//! their site — nor from `custom_lms_serverurl`, an activity setting a teacher can edit (a
//! teacher could make the hub frameable by any site and fill their consumer's origins). Learned
//! origins are kept per consumer key (at most [`MAX_LEARNED_ORIGINS_PER_CONSUMER`] each, so one
//! consumer cannot crowd out another) and saved in `<state_dir>/frame-origins.json`, so a
//! restart does not forget them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::middleware::Next;
use axum::response::Response;
use lticontainer_core::launch::LtiLaunch;
use lticontainer_hub::state_file::{read_json_or_default, write_atomically};
use std::sync::Arc;

pub(crate) use lticontainer_hub::origin::normalise_origin;

/// How many origins are learned per consumer key (the configured ones are always kept): an LMS
/// is reached under one or two host names.
pub(crate) const MAX_LEARNED_ORIGINS_PER_CONSUMER: usize = 4;

/// The file under the state directory.
const FILE: &str = "frame-origins.json";

/// The signed launch parameters an LMS origin is read from, in order: those the LMS sets
/// itself (the same that name where notebook logs may go).
const SIGNED_ORIGIN_SOURCES: [&str; 2] = lticontainer_hub::analytics::destination::LMS_SET_URLS;

/// The set of LMS origins allowed to frame the hub and the users' servers.
#[derive(Debug, Default)]
pub(crate) struct FrameAncestors {
    configured: Vec<String>,
    learned: Mutex<BTreeMap<String, BTreeSet<String>>>,
    path: Option<PathBuf>,
}

impl FrameAncestors {
    /// Starts with the configured origins (`https://moodle.example.edu`, or CSP sources like
    /// `https://*`), without learned ones kept anywhere (tests).
    #[cfg(test)]
    pub(crate) fn new(configured: Vec<String>) -> Self {
        Self {
            configured,
            ..Self::default()
        }
    }

    /// The configured origins and those learned earlier, kept in `state_dir`.
    pub(crate) fn load(configured: Vec<String>, state_dir: &Path) -> Self {
        let path = state_dir.join(FILE);
        let learned = read_json_or_default(&path, "the learned LMS frame origins");
        Self {
            configured,
            learned: Mutex::new(learned),
            path: Some(path),
        }
    }

    /// True when an LMS origin is configured (cookies then go cross-site).
    pub(crate) fn has_configured(&self) -> bool {
        !self.configured.is_empty()
    }

    /// Learns the LMS origin of an iframe launch from its signed parameters; returns the origin,
    /// or `None` when the launch names none that is valid, or its consumer's set is full.
    pub(crate) fn learn_from(&self, launch: &LtiLaunch) -> Option<String> {
        let origin = SIGNED_ORIGIN_SOURCES
            .iter()
            .find_map(|name| launch.params.get(name).and_then(normalise_origin))?;
        self.learn(&launch.consumer_key, &origin).then_some(origin)
    }

    /// Adds `origin` for `consumer`; false when it is not a valid origin or the consumer's set is
    /// full. A new origin is saved in the state directory (a failure there is logged; the origin
    /// still holds until a restart).
    pub(crate) fn learn(&self, consumer: &str, origin: &str) -> bool {
        let Some(origin) = normalise_origin(origin) else {
            return false;
        };
        if self.configured.contains(&origin) {
            return true;
        }
        let snapshot = {
            let mut learned = self.learned.lock().unwrap_or_else(PoisonError::into_inner);
            let set = learned.entry(consumer.to_owned()).or_default();
            if set.contains(&origin) {
                return true;
            }
            if set.len() >= MAX_LEARNED_ORIGINS_PER_CONSUMER {
                return false;
            }
            set.insert(origin);
            serde_json::to_vec(&*learned).unwrap_or_default()
        };
        if let Some(path) = &self.path {
            if let Err(e) = write_atomically(path, &snapshot) {
                tracing::error!(file = %path.display(), error = %e, "cannot save the learned LMS frame origins; they hold until the hub restarts");
            }
        }
        true
    }

    /// The `frame-ancestors` directive: `frame-ancestors 'self' <origins…>`.
    pub(crate) fn directive(&self) -> String {
        let learned = self.learned.lock().unwrap_or_else(PoisonError::into_inner);
        let mut seen = BTreeSet::new();
        let mut d = String::from("frame-ancestors 'self'");
        for o in self.configured.iter().chain(learned.values().flatten()) {
            if seen.insert(o) {
                d.push(' ');
                d.push_str(o);
            }
        }
        d
    }
}

/// Replaces the `frame-ancestors` directive of `existing` (keeping its other directives) with `directive`.
pub(crate) fn merge_csp(existing: Option<&str>, directive: &str) -> String {
    let mut parts: Vec<&str> = existing
        .unwrap_or("")
        .split(';')
        .map(str::trim)
        .filter(|d| {
            !d.is_empty()
                && !d
                    .split_ascii_whitespace()
                    .next()
                    .is_some_and(|name| name.eq_ignore_ascii_case("frame-ancestors"))
        })
        .collect();
    parts.insert(0, directive);
    parts.join("; ")
}

/// Middleware: sets the `frame-ancestors` directive on every response, merging with the
/// policy a user's server sent.
pub(crate) async fn frame_ancestors_layer(
    State(frames): State<Arc<FrameAncestors>>,
    req: Request,
    next: Next,
) -> Response {
    let mut resp = next.run(req).await;
    let existing = resp
        .headers()
        .get(CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let csp = merge_csp(existing.as_deref(), &frames.directive());
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut().insert(CONTENT_SECURITY_POLICY, v);
    }
    resp
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn self_only_without_origins() {
        assert_eq!(
            FrameAncestors::default().directive(),
            "frame-ancestors 'self'"
        );
    }

    #[test]
    fn configured_and_learned_origins_are_listed() {
        let f = FrameAncestors::new(vec!["https://moodle.example.edu".into()]);
        assert!(f.learn("moodle", "https://lms.example.org/mod/lti/launch.php?id=3"));
        assert_eq!(
            f.directive(),
            "frame-ancestors 'self' https://moodle.example.edu https://lms.example.org"
        );
    }

    #[test]
    fn bad_origins_are_not_learned() {
        let f = FrameAncestors::default();
        for bad in [
            "",
            "null",
            "javascript:alert(1)",
            "moodle",
            "file:///etc/passwd",
        ] {
            assert!(!f.learn("moodle", bad), "{bad:?}");
        }
        assert_eq!(f.directive(), "frame-ancestors 'self'");
    }

    #[test]
    fn learned_origins_are_bounded_per_consumer() {
        let f = FrameAncestors::default();
        for i in 0..MAX_LEARNED_ORIGINS_PER_CONSUMER {
            assert!(f.learn("moodle", &format!("https://lms{i}.example.org")));
        }
        assert!(!f.learn("moodle", "https://one-too-many.example.org"));
        assert!(
            f.learn("moodle", "https://lms0.example.org"),
            "known origins still pass"
        );
        assert!(
            f.learn("other-lms", "https://lms.other.example"),
            "a full consumer does not crowd out another"
        );
    }

    #[test]
    fn learned_origins_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let f = FrameAncestors::load(Vec::new(), dir.path());
        assert!(f.learn("moodle", "https://moodle.school.edu/mod/lti/return.php"));
        let again = FrameAncestors::load(Vec::new(), dir.path());
        assert_eq!(
            again.directive(),
            "frame-ancestors 'self' https://moodle.school.edu"
        );
    }

    #[test]
    fn only_signed_launch_parameters_name_the_origin() {
        let params = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
            [
                ("user_id", "1"),
                ("ext_user_username", "a"),
                ("resource_link_id", "r"),
            ]
            .iter()
            .chain(extra)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
        };
        let launch = |extra: &[(&str, &str)]| {
            LtiLaunch::from_params("moodle", &params(extra), "ext_user_username").unwrap()
        };
        let f = FrameAncestors::default();
        assert_eq!(f.learn_from(&launch(&[])), None);
        assert_eq!(
            f.learn_from(&launch(&[(
                "launch_presentation_return_url",
                "https://moodle.school.edu/mod/lti/return.php?course=3"
            )]))
            .as_deref(),
            Some("https://moodle.school.edu")
        );
        // A teacher's `lms_serverurl` names no origin: only the URLs Moodle sets do.
        assert_eq!(
            f.learn_from(&launch(&[(
                "custom_lms_serverurl",
                "https://teachers-site.example"
            )])),
            None
        );
        assert_eq!(
            f.learn_from(&launch(&[
                ("custom_lms_serverurl", "https://teachers-site.example"),
                (
                    "lis_outcome_service_url",
                    "https://moodle.school.edu/mod/lti/service.php"
                ),
            ]))
            .as_deref(),
            Some("https://moodle.school.edu")
        );
    }

    #[test]
    fn upstream_policy_keeps_other_directives() {
        let merged = merge_csp(
            Some("frame-ancestors 'self'; report-uri /user/a/api/security/csp-report"),
            "frame-ancestors 'self' https://m.example",
        );
        assert_eq!(
            merged,
            "frame-ancestors 'self' https://m.example; report-uri /user/a/api/security/csp-report"
        );
        assert_eq!(
            merge_csp(None, "frame-ancestors 'self'"),
            "frame-ancestors 'self'"
        );
    }
}
