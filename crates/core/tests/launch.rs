//! The launch model: username derivation and normalisation, roles, context, custom parameters.

use lticontainer_core::launch::{DEFAULT_USERNAME_KEY, LaunchModelError, LtiLaunch};

/// Owned `(key, value)` pairs from string slices.
pub(crate) fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The parameters of a realistic Moodle launch for `username` (Moodle user id `user_id`),
/// followed by `extra` (which may repeat keys: the last value wins).
pub(crate) fn moodle_params(
    username: &str,
    user_id: &str,
    roles: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut p = pairs(&[
        ("oauth_version", "1.0"),
        ("oauth_nonce", "abc"),
        ("oauth_timestamp", "1700000000"),
        ("oauth_consumer_key", "moodle"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_callback", "about:blank"),
        ("oauth_signature", "sig"),
        ("user_id", user_id),
        ("ext_user_username", username),
        ("roles", roles),
        ("context_id", "219"),
        ("context_title", "Cryptography 2026"),
        ("context_label", "CRYPTO"),
        ("resource_link_id", "76"),
        ("resource_link_title", "RSA exercises"),
        ("lti_message_type", "basic-lti-launch-request"),
        ("lti_version", "LTI-1p0"),
        (
            "lis_outcome_service_url",
            "https://el.mml.tuis.ac.jp/mod/lti/service.php",
        ),
        ("lis_result_sourcedid", "{\"data\":{\"instanceid\":\"76\"}}"),
        ("tool_consumer_info_product_family_code", "moodle"),
    ]);
    p.extend(pairs(extra));
    p
}

/// A launch built from [`moodle_params`]; panics when the model refuses it.
pub(crate) fn moodle_launch(
    username: &str,
    user_id: &str,
    roles: &str,
    extra: &[(&str, &str)],
) -> LtiLaunch {
    LtiLaunch::from_params(
        "moodle",
        &moodle_params(username, user_id, roles, extra),
        DEFAULT_USERNAME_KEY,
    )
    .expect("a valid Moodle launch")
}

#[test]
fn moodle_launch_fields() {
    let l = moodle_launch("alice", "123", "Learner", &[("custom_lms_vol_rsa", "RSA")]);
    assert_eq!(l.consumer_key, "moodle");
    assert_eq!(l.username, "alice");
    assert_eq!(l.user_id, "123");
    assert_eq!(l.roles, vec!["Learner"]);
    assert_eq!(l.context_id.as_deref(), Some("219"));
    assert_eq!(l.context_title.as_deref(), Some("Cryptography 2026"));
    assert_eq!(l.resource_link_id, "76");
    assert_eq!(l.resource_link_title.as_deref(), Some("RSA exercises"));
    assert_eq!(
        l.outcome_service_url.as_deref(),
        Some("https://el.mml.tuis.ac.jp/mod/lti/service.php")
    );
    assert!(l.result_sourcedid.is_some());
    assert_eq!(l.custom("lms_vol_rsa"), Some("RSA"));
    assert_eq!(l.custom("lms_vol_missing"), None);
    assert!(l.params.keys().all(|k| !k.starts_with("oauth_")));
    assert_eq!(l.params.get("context_label"), Some("CRYPTO"));
    assert!(!l.is_instructor());
}

#[test]
fn moodle_instructor_roles() {
    let roles =
        "Instructor,urn:lti:sysrole:ims/lis/Administrator,urn:lti:instrole:ims/lis/Administrator";
    let l = moodle_launch("teacher1", "2", roles, &[]);
    assert_eq!(l.roles.len(), 3);
    assert!(l.is_instructor());
    let l = moodle_launch("x", "3", " urn:lti:role:ims/lis/Learner , ,Mentor", &[]);
    assert_eq!(l.roles, vec!["urn:lti:role:ims/lis/Learner", "Mentor"]);
    assert!(!l.is_instructor());
}

#[test]
fn username_falls_back_to_user_id_in_a_namespace_of_its_own() {
    let mut p = moodle_params("", "123", "Learner", &[]);
    let l = LtiLaunch::from_params("k", &p, DEFAULT_USERNAME_KEY).expect("valid");
    assert!(l.username.starts_with("uid-123-"), "{}", l.username);
    assert_eq!(l.username.len(), "uid-123-".len() + 16);
    p.retain(|(k, _)| k != "ext_user_username");
    let again = LtiLaunch::from_params("k", &p, DEFAULT_USERNAME_KEY).expect("valid");
    assert_eq!(again.username, l.username, "stable");
    // A user_id that is someone's login does not reach that login's account, and the login
    // that spells the fallback name does not reach the user_id's account.
    let mut p = moodle_params("", "rt4iu4a", "Learner", &[]);
    p.retain(|(k, _)| k != "ext_user_username");
    let by_id = LtiLaunch::from_params("k", &p, DEFAULT_USERNAME_KEY).expect("valid");
    let by_login = moodle_launch("rt4iu4a", "17", "Learner", &[]);
    assert_eq!(by_login.username, "rt4iu4a");
    assert_ne!(by_id.username, by_login.username);
    let spoof = moodle_launch(&by_id.username, "99", "Learner", &[]);
    assert_ne!(spoof.username, by_id.username);
}

#[test]
fn username_key_is_configurable() {
    let p = moodle_params(
        "alice",
        "123",
        "Learner",
        &[("lis_person_sourcedid", "SakaiUser")],
    );
    let l = LtiLaunch::from_params("k", &p, "lis_person_sourcedid").expect("valid");
    assert_eq!(l.username, "sakaiuser");
}

#[test]
fn username_is_normalised() {
    let l = moodle_launch("Alice.Smith", "1", "Learner", &[]);
    assert_eq!(l.username, "alice.smith");
    let l = moodle_launch("bob@example.com", "1", "Learner", &[]);
    assert!(l.username.starts_with("bob-example.com-"), "{}", l.username);
    assert!(l.username.len() <= 32);
    let l = moodle_launch("../../etc/passwd", "1", "Learner", &[]);
    assert!(!l.username.contains('/'), "{}", l.username);
    assert!(!l.username.starts_with('.'), "{}", l.username);
    let l = moodle_launch("a;rm -rf $HOME", "1", "Learner", &[]);
    assert!(
        l.username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
        "{}",
        l.username
    );
}

#[test]
fn unusable_username_is_a_clear_error() {
    let p = moodle_params("山田太郎", "123", "Learner", &[]);
    let err = LtiLaunch::from_params("k", &p, DEFAULT_USERNAME_KEY).expect_err("unusable");
    assert_eq!(
        err,
        LaunchModelError::UnusableUsername {
            key: "ext_user_username".into(),
            raw: "山田太郎".into()
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("山田太郎") && msg.contains("ext_user_username"),
        "{msg}"
    );
    let core: lticontainer_core::Error = err.into();
    assert!(matches!(
        core,
        lticontainer_core::Error::InvalidInput { .. }
    ));
}

#[test]
fn missing_required_parameters() {
    for missing in ["user_id", "resource_link_id"] {
        let mut p = moodle_params("alice", "123", "Learner", &[]);
        p.retain(|(k, _)| k != missing);
        let err = LtiLaunch::from_params("k", &p, DEFAULT_USERNAME_KEY).expect_err(missing);
        assert_eq!(err, LaunchModelError::MissingParameter { name: missing });
        assert!(err.to_string().contains(missing));
    }
    let p = moodle_params("alice", "  ", "Learner", &[]);
    let err = LtiLaunch::from_params("k", &p, DEFAULT_USERNAME_KEY).expect_err("blank user_id");
    assert_eq!(err, LaunchModelError::MissingParameter { name: "user_id" });
}

#[test]
fn duplicate_keys_last_wins() {
    let l = moodle_launch(
        "alice",
        "1",
        "Learner",
        &[("custom_lms_image", "a"), ("custom_lms_image", "b")],
    );
    assert_eq!(l.custom("lms_image"), Some("b"));
}

mod prop {
    use lticontainer_core::launch::{
        HASH_SUFFIX_LEN, MAX_USERNAME_LEN, is_safe_username, normalize_username,
    };
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// Whatever the LMS sends, the result is a safe name or nothing, safe names are kept,
        /// and the same input gives the same name.
        #[test]
        fn normalised_names_are_safe_and_stable(raw in prop_oneof!["\\PC{0,40}", ".{0,40}", "[A-Za-z0-9@._ -]{0,40}"]) {
            let lowered = raw.trim().to_ascii_lowercase();
            match normalize_username(&raw) {
                Some(name) => {
                    prop_assert!(is_safe_username(&name), "{:?}", name);
                    prop_assert!(name.len() <= MAX_USERNAME_LEN);
                    let n = lowered.len();
                    let looks_mapped = n > HASH_SUFFIX_LEN
                        && lowered.as_bytes()[n - HASH_SUFFIX_LEN - 1] == b'-'
                        && lowered.bytes().skip(n - HASH_SUFFIX_LEN).all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
                    if is_safe_username(&lowered) && !looks_mapped {
                        // A safe name is kept as it is (unless it looks mapped).
                        prop_assert_eq!(&name, &lowered);
                    }
                    prop_assert_eq!(normalize_username(&raw), Some(name), "deterministic");
                }
                None => prop_assert!(!raw.chars().any(|c| c.is_ascii_alphanumeric()), "{:?}", raw),
            }
        }

        /// Different safe names never collide, and mapped names differ from each other when
        /// their inputs differ after lowercasing.
        #[test]
        fn distinct_names_stay_distinct(a in "[a-z0-9@#. _-]{1,20}", b in "[a-z0-9@#. _-]{1,20}") {
            let (na, nb) = (normalize_username(&a), normalize_username(&b));
            if a.trim() != b.trim() {
                if let (Some(na), Some(nb)) = (na, nb) {
                    prop_assert_ne!(na, nb, "{:?} and {:?} collide", a, b);
                }
            }
        }
    }
}
