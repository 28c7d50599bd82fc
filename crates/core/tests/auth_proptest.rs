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
        let body = encode_urlencoded(&req.form);
        prop_assert_eq!(&parse_urlencoded(body.as_bytes()).unwrap(), &req.form);
        let launch = block_on(auth.verify(&req));
        prop_assert!(launch.is_ok(), "{:?}", launch.err().map(|e| e.to_string()));
        if let Ok(launch) = launch {
            for (n, v) in extra.iter().rev() {
                // The launch keeps the last value of each name.
                if extra.iter().rev().find(|(m, _)| m == n).map(|(_, w)| w) == Some(v) {
                    prop_assert_eq!(launch.params.get(n), Some(v));
                }
            }
        }
    }
}
