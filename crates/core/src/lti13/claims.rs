//! The LTI 1.3 claims the hub reads, and their mapping onto the LTI 1.1 parameter names, so a
//! 1.3 launch becomes the same [`LtiLaunch`](crate::launch::LtiLaunch) a 1.1 launch does.
//!
//! The mapping is the inverse of Moodle's own (`mod/lti/locallib.php`,
//! `lti_get_jwt_claim_mapping()` and `lti_convert_to_jwt()`): `sub` → `user_id`, the `roles`
//! array → the comma-separated `roles`, the `context`, `resource_link`, `lis`,
//! `launch_presentation` and `tool_platform` objects → `context_id`, `resource_link_id`, … , the
//! `custom` object → `custom_<name>` (so `lms_image` is read exactly as 1.1's
//! `custom_lms_image`), the `ext` object → `ext_<name>` (Moodle's `ext.user_username` is 1.1's
//! `ext_user_username`, the LMS login), and `name`/`given_name`/`family_name`/`email` → the
//! `lis_person_*` parameters.

use serde_json::{Map, Value};

/// The prefix of the LTI 1.3 core claims.
const LTI: &str = "https://purl.imsglobal.org/spec/lti/claim/";

/// `message_type`.
pub const CLAIM_MESSAGE_TYPE: &str = "https://purl.imsglobal.org/spec/lti/claim/message_type";
/// `version`.
pub const CLAIM_VERSION: &str = "https://purl.imsglobal.org/spec/lti/claim/version";
/// `deployment_id`.
pub const CLAIM_DEPLOYMENT_ID: &str = "https://purl.imsglobal.org/spec/lti/claim/deployment_id";
/// `roles`.
pub const CLAIM_ROLES: &str = "https://purl.imsglobal.org/spec/lti/claim/roles";
/// `resource_link`.
pub const CLAIM_RESOURCE_LINK: &str = "https://purl.imsglobal.org/spec/lti/claim/resource_link";
/// `custom`: the custom parameters, names without `custom_`.
pub const CLAIM_CUSTOM: &str = "https://purl.imsglobal.org/spec/lti/claim/custom";
/// `ext`: Moodle's extensions, names without `ext_`.
pub const CLAIM_EXT: &str = "https://purl.imsglobal.org/spec/lti/claim/ext";

/// The only message type the hub launches.
pub const RESOURCE_LINK_REQUEST: &str = "LtiResourceLinkRequest";
/// The LTI version of a 1.3 message.
pub const LTI_VERSION_13: &str = "1.3.0";

/// Claim objects whose members map to `<prefix><member>` (Moodle's groups).
const GROUPS: [(&str, &str); 4] = [
    ("context", "context_"),
    ("resource_link", "resource_link_"),
    ("lis", "lis_"),
    ("launch_presentation", "launch_presentation_"),
];

/// `tool_platform` members → the 1.1 names.
const PLATFORM: [(&str, &str); 5] = [
    ("guid", "tool_consumer_instance_guid"),
    ("name", "tool_consumer_instance_name"),
    ("description", "tool_consumer_instance_description"),
    (
        "product_family_code",
        "tool_consumer_info_product_family_code",
    ),
    ("version", "tool_consumer_info_version"),
];

/// Top-level OpenID Connect claims → the 1.1 names.
const PERSON: [(&str, &str); 5] = [
    ("sub", "user_id"),
    ("name", "lis_person_name_full"),
    ("given_name", "lis_person_name_given"),
    ("family_name", "lis_person_name_family"),
    ("email", "lis_person_contact_email_primary"),
];

/// A claim value as a 1.1 parameter value: strings as they are, numbers and booleans written
/// out, arrays joined with commas (as Moodle splits them), anything else left out.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => Some(items.iter().filter_map(text).collect::<Vec<_>>().join(",")),
        Value::Null | Value::Object(_) => None,
    }
}

/// The launch parameters, by their LTI 1.1 names, that the verified `claims` carry.
pub(crate) fn to_params(claims: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut push = |name: String, value: &Value| {
        if let Some(v) = text(value) {
            out.push((name, v));
        }
    };
    for (claim, name) in PERSON {
        if let Some(v) = claims.get(claim) {
            push(name.to_owned(), v);
        }
    }
    if let Some(v) = claims.get(CLAIM_ROLES) {
        push("roles".to_owned(), v);
    }
    let object = |name: &str| claims.get(&[LTI, name].concat()).and_then(Value::as_object);
    for (group, prefix) in GROUPS {
        for (k, v) in object(group).into_iter().flatten() {
            push([prefix, k].concat(), v);
        }
    }
    for (member, name) in PLATFORM {
        if let Some(v) = object("tool_platform").and_then(|o| o.get(member)) {
            push(name.to_owned(), v);
        }
    }
    for (k, v) in object("custom").into_iter().flatten() {
        push(["custom_", k].concat(), v);
    }
    for (k, v) in object("ext").into_iter().flatten() {
        push(["ext_", k].concat(), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lti13::PlatformSigner;

    #[test]
    fn moodles_claims_map_back_to_its_11_names() {
        let mut claims =
            PlatformSigner::student_launch_claims("https://lms", "client", "1", "n", 1_700_000_000);
        claims[CLAIM_CUSTOM] =
            serde_json::json!({"lms_image": "jupyter", "lms_cpulimit": 2, "lms_x": null});
        claims["https://purl.imsglobal.org/spec/lti/claim/tool_platform"] =
            serde_json::json!({"guid": "g", "product_family_code": "moodle"});
        claims["https://purl.imsglobal.org/spec/lti/claim/launch_presentation"] = serde_json::json!({"return_url": "https://lms/mod/lti/return.php", "document_target": "iframe"});
        let Value::Object(claims) = claims else {
            unreachable!()
        };
        let params = to_params(&claims);
        let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("user_id"), Some("4"));
        assert_eq!(
            get("roles"),
            Some("http://purl.imsglobal.org/vocab/lis/v2/membership#Learner")
        );
        assert_eq!(get("context_id"), Some("2"));
        assert_eq!(get("context_title"), Some("Data Science 101"));
        assert_eq!(get("context_type"), Some("CourseSection"));
        assert_eq!(get("resource_link_id"), Some("1"));
        assert_eq!(get("resource_link_title"), Some("Jupyter"));
        assert_eq!(get("ext_user_username"), Some("student1"));
        assert_eq!(get("ext_lms"), Some("moodle-2"));
        assert_eq!(get("custom_lms_image"), Some("jupyter"));
        assert_eq!(get("custom_lms_cpulimit"), Some("2"));
        assert_eq!(get("custom_lms_x"), None);
        assert_eq!(get("lis_person_name_full"), Some("Student One"));
        assert_eq!(
            get("lis_person_contact_email_primary"),
            Some("student1@example.com")
        );
        assert_eq!(get("tool_consumer_instance_guid"), Some("g"));
        assert_eq!(
            get("tool_consumer_info_product_family_code"),
            Some("moodle")
        );
        assert_eq!(
            get("launch_presentation_return_url"),
            Some("https://lms/mod/lti/return.php")
        );
        assert_eq!(get("launch_presentation_document_target"), Some("iframe"));
    }
}
