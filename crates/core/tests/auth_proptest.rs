//! Property tests: arbitrary request content never panics the verifier, and any parameters a
//! consumer signs verify.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use lticontainer_core::auth::{LaunchRequest, encode_urlencoded, parse_urlencoded};

use crate::auth::{URL, authenticator, lti_params, signed};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary bytes as the body, URL and Authorization header: an error or a launch, never a panic.
    #[test]
    fn arbitrary_requests_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..400),
        url in "\\PC{0,60}",
        auth_header in proptest::option::of("(OAuth )?\\PC{0,80}"),
    ) {
        let (auth, _) = authenticator();
        if let Ok(req) = LaunchRequest::from_body(url.clone(), &body, auth_header.clone()) {
            let _ = block_on(auth.verify(&req));
        }
        if let Ok(req) = LaunchRequest::from_body(URL, &body, auth_header) {
            let result = block_on(auth.verify(&req));
            prop_assert!(result.is_err(), "an unsigned body was accepted");
        }
    }

    /// Form-shaped bodies built from OAuth and LTI names with arbitrary values: never a panic,
    /// never an acceptance without the secret.
    #[test]
    fn form_shaped_bodies_never_panic(
        pairs in proptest::collection::vec(
            (prop_oneof![
                Just("oauth_consumer_key".to_owned()), Just("oauth_signature".to_owned()),
                Just("oauth_timestamp".to_owned()), Just("oauth_nonce".to_owned()),
                Just("oauth_signature_method".to_owned()), Just("oauth_version".to_owned()),
                Just("lti_message_type".to_owned()), Just("lti_version".to_owned()),
                Just("user_id".to_owned()), Just("resource_link_id".to_owned()),
                Just("ext_user_username".to_owned()), "\\PC{0,12}",
            ], "\\PC{0,40}"),
            0..20,
        ),
    ) {
        let (auth, _) = authenticator();
        let body = encode_urlencoded(&pairs);
        let req = LaunchRequest::from_body(URL, body.as_bytes(), None).unwrap();
        prop_assert!(block_on(auth.verify(&req)).is_err());
    }

    /// Whatever extra parameters a consumer signs (any Unicode, duplicates, empty values), the
    /// launch verifies, survives a trip through the urlencoded body, and keeps the values.
    #[test]
    fn signed_launches_with_arbitrary_parameters_verify(
        extra in proptest::collection::vec(("x_[a-z]{0,6}\\PC{0,6}", "\\PC{0,30}"), 0..12),
        nonce in "[A-Za-z0-9]{1,32}",
    ) {
        let (auth, _) = authenticator();
        let mut params = lti_params();
        params.extend(extra.iter().cloned());
        let req = signed(params, &nonce);
        let body = encode_urlencoded(&req.form.to_vec());
        prop_assert_eq!(parse_urlencoded(body.as_bytes()).unwrap(), req.form.to_vec());
        let launch = block_on(auth.verify(&req));
        prop_assert!(launch.is_ok(), "{:?}", launch.err().map(|e| e.to_string()));
        if let Ok(launch) = launch {
            for (n, v) in extra.iter().rev() {
                // The launch keeps the last value of each name.
                if extra.iter().rev().find(|(m, _)| m == n).map(|(_, w)| w) == Some(v) {
                    prop_assert_eq!(launch.params.get(n), Some(v.as_str()));
                }
            }
        }
    }
}

/// The `custom_*` names LTIContainerSpawner reads, plus a few it does not.
fn custom_name() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "lms_users",
            "lms_teachers",
            "lms_image",
            "lms_defurl",
            "lms_cpulimit",
            "lms_memlimit",
            "lms_actlimit",
            "lms_cpugrnt",
            "lms_memgrnt",
            "lms_options",
            "lms_iframe",
            "lms_sessioninfo",
            "lms_serverurl",
            "lms_serverpath",
            "lms_rpctoken",
            "lms_course",
            "lms_ltiname",
        ])
        .prop_map(str::to_owned),
        "lms_(vol|sub|prs)_[a-z0-9_.]{0,8}(_close)?",
        "[a-z_]{1,10}",
    ]
    .prop_map(|n| format!("custom_{n}"))
}

/// A value: often a plausible one, sometimes hostile (traversal, huge numbers, metacharacters).
fn custom_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,24}",
        "-?[0-9]{1,25}(\\.[0-9]{0,4})?[kKmMgGtT]?",
        "\\.\\./[a-z./]{0,10}",
        "[a-z]{1,6}(:[a-z, ]{0,12})?",
        "[;&|`$()<>*?! ]{1,6}",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The whole pure launch path — decode the body, verify, read the lms_* parameters, build
    /// the spawn plan — never panics on signed launches with arbitrary custom parameters, and
    /// every such launch verifies.
    #[test]
    fn verify_parse_and_build_never_panic(
        customs in proptest::collection::vec((custom_name(), custom_value()), 0..16),
        roles in proptest::sample::select(vec!["Learner", "Instructor", "urn:lti:role:ims/lis/Administrator", ""]),
        user in "[a-z]{1,8}|\\PC{0,8}",
    ) {
        let (auth, _) = authenticator();
        let mut params = lti_params();
        params.retain(|(n, _)| n != "roles" && n != "ext_user_username");
        params.push(("roles".into(), roles.to_owned()));
        params.push(("ext_user_username".into(), user));
        params.extend(customs);
        let body = signed(params, "n").form.to_urlencoded();
        let req = LaunchRequest::from_body(URL, body.as_bytes(), None).unwrap();
        // An unusable username is the one refusal a correctly signed launch may get.
        let launch = match block_on(auth.verify(&req)) {
            Ok(launch) => launch,
            Err(e) => {
                prop_assert!(matches!(e, lticontainer_core::auth::LaunchError::Launch(_)), "{e}");
                return Ok(());
            }
        };
        let (lms, _warnings) = lticontainer_core::params::LmsParams::from_launch(&launch);
        let cfg = lticontainer_core::spec::SpecConfig::default();
        let _ = lticontainer_core::spec::build_spawn_plan(
            &cfg, &launch, &lms, &lticontainer_core::spec::NoHostAccounts, crate::auth::NOW, 8001,
        );
    }
}
