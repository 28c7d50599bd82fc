//! The LTI Assignment and Grade Services (AGS 2.0) claim of a 1.3 launch, and where the launch
//! came from ([`PlatformLaunch`]): what the hub needs to send that student's score back.
//!
//! Moodle sends the claim when the tool's "IMS LTI Assignment and Grade Services" setting
//! lets it (`ltiservice_gradesynchronization`): `scope` (what the tool may do), `lineitems`
//! (the course's line item container) and, when the activity has a grade, `lineitem` (the
//! activity's own grade item).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The AGS endpoint claim.
pub const CLAIM_AGS_ENDPOINT: &str = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint";
/// The scope to read and manage line items (find, create).
pub const SCOPE_LINEITEM: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem";
/// The scope to post scores.
pub const SCOPE_SCORE: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/score";

/// The AGS endpoint claim, as the platform sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgsEndpoint {
    /// The scopes the platform grants the tool.
    pub scope: Vec<String>,
    /// The course's line item container URL.
    pub lineitems: Option<String>,
    /// The activity's own line item URL, when it has a grade.
    pub lineitem: Option<String>,
}

impl AgsEndpoint {
    /// The endpoint in `claims`; `None` when there is none or it lets the tool post no scores
    /// or names no line item to post to.
    pub fn from_claims(claims: &Map<String, Value>) -> Option<Self> {
        let claim = claims.get(CLAIM_AGS_ENDPOINT)?.as_object()?;
        let url = |name: &str| {
            claim
                .get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                .map(str::to_owned)
        };
        let scope: Vec<String> = match claim.get("scope") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(s)) => s.split([',', ' ']).map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        let endpoint = Self {
            lineitems: url("lineitems"),
            lineitem: url("lineitem"),
            scope,
        };
        (endpoint.allows(SCOPE_SCORE)
            && (endpoint.lineitem.is_some()
                || (endpoint.lineitems.is_some() && endpoint.allows(SCOPE_LINEITEM))))
        .then_some(endpoint)
    }

    /// True when the platform granted `scope`.
    pub fn allows(&self, scope: &str) -> bool {
        self.scope.iter().any(|s| s == scope)
    }
}

/// Where a verified 1.3 launch came from, kept on the launch (never from a 1.1 form, so a 1.1
/// consumer cannot pose as a 1.3 platform).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlatformLaunch {
    /// The platform's issuer.
    pub issuer: String,
    /// The tool's client id at the platform.
    pub client_id: String,
    /// The AGS endpoint, when the launch may send scores back.
    pub ags: Option<AgsEndpoint>,
}

impl PlatformLaunch {
    /// The launch of `issuer`'s client `client_id` with the AGS endpoint of `claims`.
    pub fn new(issuer: &str, client_id: &str, claims: &Map<String, Value>) -> Self {
        Self {
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            ags: AgsEndpoint::from_claims(claims),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(endpoint: Value) -> Map<String, Value> {
        let Value::Object(m) = json!({ CLAIM_AGS_ENDPOINT: endpoint }) else {
            unreachable!()
        };
        m
    }

    #[test]
    fn moodles_claim_is_read() {
        let e = AgsEndpoint::from_claims(&claims(json!({
            "scope": [SCOPE_LINEITEM, SCOPE_SCORE],
            "lineitems": "http://m/mod/lti/services.php/2/lineitems?type_id=1",
            "lineitem": "http://m/mod/lti/services.php/2/lineitems/5/lineitem?type_id=1",
        })))
        .unwrap();
        assert!(e.allows(SCOPE_SCORE));
        assert_eq!(
            e.lineitem.as_deref(),
            Some("http://m/mod/lti/services.php/2/lineitems/5/lineitem?type_id=1")
        );
    }

    #[test]
    fn no_score_scope_or_nowhere_to_post_is_no_endpoint() {
        let none = |v| AgsEndpoint::from_claims(&claims(v));
        assert_eq!(
            none(json!({"scope": [SCOPE_LINEITEM], "lineitem": "http://m/l"})),
            None
        );
        assert_eq!(
            none(json!({"scope": [SCOPE_SCORE], "lineitems": "http://m/l"})),
            None
        );
        assert_eq!(
            none(json!({"scope": [SCOPE_SCORE], "lineitem": "javascript:x"})),
            None
        );
        assert_eq!(AgsEndpoint::from_claims(&Map::new()), None);
        assert!(
            none(json!({"scope": [SCOPE_SCORE, SCOPE_LINEITEM], "lineitems": "http://m/l"}))
                .is_some()
        );
    }
}
