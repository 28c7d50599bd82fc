//! [`GradeTarget`]: where one student's grade for one activity goes, as the launch said.

use serde::{Deserialize, Serialize};

use crate::launch::LtiLaunch;
use crate::lti13::SCOPE_LINEITEM;

/// Where a student's grade for an activity goes, from their latest launch of it.
///
/// `Debug` shows the service URL but not the sourcedid, which lets anyone holding the consumer's
/// secret set the student's grade.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "lti", rename_all = "snake_case")]
#[non_exhaustive]
pub enum GradeTarget {
    /// LTI 1.1 Basic Outcomes: `replaceResult` to `lis_outcome_service_url` for
    /// `lis_result_sourcedid`, signed with the launch's consumer key and its secret.
    V11 {
        /// `lis_outcome_service_url` (Moodle: `…/mod/lti/service.php`).
        service_url: String,
        /// `lis_result_sourcedid` (Moodle: a JSON blob with a hash).
        sourcedid: String,
        /// The launch's `oauth_consumer_key`: whose secret signs the request.
        consumer_key: String,
    },
    /// LTI 1.3 Assignment and Grade Services: a score for `user_id` (the launch's `sub`) posted
    /// to a line item of the platform `issuer`, with a token of its client `client_id`.
    V13 {
        /// The platform's issuer.
        issuer: String,
        /// The tool's client id at the platform.
        client_id: String,
        /// The student at the platform (`sub`).
        user_id: String,
        /// The activity's own line item, when it has a grade.
        lineitem: Option<String>,
        /// The course's line item container, when the tool may manage line items.
        lineitems: Option<String>,
        /// The consumer key the platform's launches go by (`[[lti13.platform]] consumer`): the
        /// LMS this target belongs to, as a 1.1 target's `consumer_key`.
        #[serde(default)]
        consumer_key: String,
    },
}

impl std::fmt::Debug for GradeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::V11 {
                service_url,
                consumer_key,
                ..
            } => f
                .debug_struct("V11")
                .field("service_url", service_url)
                .field("consumer_key", consumer_key)
                .finish_non_exhaustive(),
            Self::V13 {
                issuer,
                client_id,
                user_id,
                lineitem,
                lineitems,
                consumer_key,
            } => f
                .debug_struct("V13")
                .field("issuer", issuer)
                .field("client_id", client_id)
                .field("user_id", user_id)
                .field("lineitem", lineitem)
                .field("lineitems", lineitems)
                .field("consumer_key", consumer_key)
                .finish(),
        }
    }
}

impl GradeTarget {
    /// The consumer key of the launch that named this target: the LMS it belongs to.
    pub fn consumer_key(&self) -> &str {
        match self {
            Self::V11 { consumer_key, .. } | Self::V13 { consumer_key, .. } => consumer_key,
        }
    }

    /// Where `launch` says its student's grade goes; `None` when the activity accepts no grades
    /// (Moodle sends the outcome parameters, or with 1.3 the AGS claim, only when it does).
    pub fn from_launch(launch: &LtiLaunch) -> Option<Self> {
        if let Some(platform) = &launch.lti13 {
            let ags = platform.ags.as_ref()?;
            return Some(Self::V13 {
                issuer: platform.issuer.clone(),
                client_id: platform.client_id.clone(),
                user_id: launch.user_id.clone(),
                lineitem: ags.lineitem.clone(),
                lineitems: ags.lineitems.clone().filter(|_| ags.allows(SCOPE_LINEITEM)),
                consumer_key: launch.consumer_key.clone(),
            });
        }
        let get = |k: &str| {
            launch
                .params
                .get(k)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let service_url = get("lis_outcome_service_url")?;
        let sourcedid = get("lis_result_sourcedid")?;
        if !(service_url.starts_with("https://") || service_url.starts_with("http://")) {
            return None;
        }
        Some(Self::V11 {
            service_url: service_url.to_owned(),
            sourcedid: sourcedid.to_owned(),
            consumer_key: launch.consumer_key.clone(),
        })
    }
}

/// The activity a launch is of, as the grades pages and the admin API name it: the LTI
/// `resource_link_id` (Moodle: the External tool activity's instance id, the `lti_id` of
/// `lms_sessioninfo`); `None` when the launch has none.
pub fn activity_of(launch: &LtiLaunch) -> Option<&str> {
    // The launch model already holds it trimmed (and refuses a launch without one).
    Some(launch.resource_link_id.as_str()).filter(|v| !v.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::launch::DEFAULT_USERNAME_KEY;

    fn launch(extra: &[(&str, &str)]) -> LtiLaunch {
        let mut params: Vec<(String, String)> = [("user_id", "4"), ("resource_link_id", "7")]
            .iter()
            .chain(extra)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        params.push(("ext_user_username".into(), "student1".into()));
        LtiLaunch::from_params("moodle", &params, DEFAULT_USERNAME_KEY).unwrap()
    }

    #[test]
    fn a_launch_that_accepts_grades_names_its_target() {
        let l = launch(&[
            ("lis_outcome_service_url", "http://m/mod/lti/service.php"),
            ("lis_result_sourcedid", "{\"data\":1,\"hash\":\"h\"}"),
        ]);
        assert_eq!(activity_of(&l), Some("7"));
        let t = GradeTarget::from_launch(&l).unwrap();
        assert_eq!(
            t,
            GradeTarget::V11 {
                service_url: "http://m/mod/lti/service.php".into(),
                sourcedid: "{\"data\":1,\"hash\":\"h\"}".into(),
                consumer_key: "moodle".into(),
            }
        );
        assert!(!format!("{t:?}").contains("hash"), "{t:?}");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<GradeTarget>(&json).unwrap(), t);
    }

    #[test]
    fn a_launch_without_outcomes_has_no_target() {
        assert_eq!(GradeTarget::from_launch(&launch(&[])), None);
        let only_url = launch(&[("lis_outcome_service_url", "http://m/s")]);
        assert_eq!(GradeTarget::from_launch(&only_url), None);
        let bad_url = launch(&[
            ("lis_outcome_service_url", "javascript:x"),
            ("lis_result_sourcedid", "s"),
        ]);
        assert_eq!(GradeTarget::from_launch(&bad_url), None);
    }

    #[test]
    fn a_13_launch_names_its_ags_target_and_ignores_11_fields() {
        use crate::lti13::{CLAIM_AGS_ENDPOINT, PlatformLaunch, SCOPE_SCORE};
        let mut l = launch(&[
            ("lis_outcome_service_url", "http://m/mod/lti/service.php"),
            ("lis_result_sourcedid", "s"),
        ]);
        let serde_json::Value::Object(claims) = serde_json::json!({ CLAIM_AGS_ENDPOINT: {
            "scope": [SCOPE_SCORE], "lineitem": "http://m/li/5", "lineitems": "http://m/li"}})
        else {
            unreachable!()
        };
        l.lti13 = Some(PlatformLaunch::new("http://m", "c1", &claims));
        let t = GradeTarget::from_launch(&l).unwrap();
        assert_eq!(
            t,
            GradeTarget::V13 {
                issuer: "http://m".into(),
                client_id: "c1".into(),
                user_id: "4".into(),
                lineitem: Some("http://m/li/5".into()),
                lineitems: None,
                consumer_key: l.consumer_key.clone(),
            },
            "without the lineitem scope the container is not kept"
        );
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<GradeTarget>(&json).unwrap(), t);
        l.lti13 = Some(PlatformLaunch::new(
            "http://m",
            "c1",
            &serde_json::Map::new(),
        ));
        assert_eq!(
            GradeTarget::from_launch(&l),
            None,
            "a 1.3 launch without AGS has no target"
        );
    }
}
