//! Who may frame the hub: the `Content-Security-Policy: frame-ancestors` header on every response.
//!
//! Without an LMS origin the hub answers `frame-ancestors 'self'`. Origins come from the
//! configuration and from launches that asked for iframe mode (`lms_iframe=1`); each is an
//! `https://host[:port]` origin, never a path or a wildcard the hub made up.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

pub(crate) use lticontainer_hub::origin::normalise_origin;

/// How many origins learned from launches are kept (the configured ones are always kept).
pub(crate) const MAX_LEARNED_ORIGINS: usize = 32;

/// The set of LMS origins allowed to frame the hub and the users' servers.
#[derive(Debug, Default)]
pub(crate) struct FrameAncestors {
    configured: Vec<String>,
    learned: Mutex<BTreeSet<String>>,
}

impl FrameAncestors {
    /// Starts with the configured origins (`https://moodle.example.edu`, or CSP sources like `https://*`).
    pub(crate) fn new(configured: Vec<String>) -> Self {
        Self {
            configured,
            learned: Mutex::default(),
        }
    }

    /// True when an LMS origin is configured (cookies then go cross-site).
    pub(crate) fn has_configured(&self) -> bool {
        !self.configured.is_empty()
    }

    /// Adds the origin of an iframe launch; returns false when it is not a valid origin or the set is full.
    pub(crate) fn learn(&self, origin: &str) -> bool {
        let Some(origin) = normalise_origin(origin) else {
            return false;
        };
        if self.configured.contains(&origin) {
            return true;
        }
        let mut learned = self.learned.lock().unwrap_or_else(PoisonError::into_inner);
        if learned.contains(&origin) {
            return true;
        }
        if learned.len() >= MAX_LEARNED_ORIGINS {
            return false;
        }
        learned.insert(origin)
    }

    /// The `frame-ancestors` directive: `frame-ancestors 'self' <origins…>`.
    pub(crate) fn directive(&self) -> String {
        let learned = self.learned.lock().unwrap_or_else(PoisonError::into_inner);
        let mut d = String::from("frame-ancestors 'self'");
        for o in self.configured.iter().chain(learned.iter()) {
            d.push(' ');
            d.push_str(o);
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
        assert!(f.learn("https://lms.example.org/mod/lti/launch.php?id=3"));
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
            assert!(!f.learn(bad), "{bad:?}");
        }
        assert_eq!(f.directive(), "frame-ancestors 'self'");
    }

    #[test]
    fn learned_origins_are_bounded() {
        let f = FrameAncestors::default();
        for i in 0..MAX_LEARNED_ORIGINS {
            assert!(f.learn(&format!("https://lms{i}.example.org")));
        }
        assert!(!f.learn("https://one-too-many.example.org"));
        assert!(
            f.learn("https://lms0.example.org"),
            "known origins still pass"
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
