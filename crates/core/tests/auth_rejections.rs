//! Every way a launch is refused: each error's variant, status, admin message and student message.

#![allow(clippy::unwrap_used)]

use lticontainer_core::auth::{LaunchError, LaunchRequest, LaunchSigner, Lti11Config};

use crate::auth::{
    KEY, NOW, SECRET, URL, authenticator, authenticator_with, lti_params, run, signed, signed_at,
};

/// Runs `req` through a fresh authenticator and returns the error.
async fn refuse(req: &LaunchRequest) -> LaunchError {
    let (auth, _) = authenticator();
    match run(&auth, req).await {
        Ok(launch) => panic!("launch unexpectedly accepted: {launch:?}"),
        Err(e) => e,
    }
}

fn without(mut req: LaunchRequest, name: &str) -> LaunchRequest {
    req.form.retain(|n, _| n != name);
    req
}

fn with_value(mut req: LaunchRequest, name: &str, value: &str) -> LaunchRequest {
    req.form = req
        .form
        .iter()
        .map(|(n, v)| (n, if n == name { value } else { v }))
        .collect();
    req
}

fn assert_status(err: &LaunchError, status: u16) {
    assert_eq!(err.status(), status, "{err}");
    assert!(!err.student_message().is_empty());
}

#[tokio::test]
async fn non_post_is_malformed() {
    let mut req = signed(lti_params(), "n");
    req.method = "GET".into();
    let err = refuse(&req).await;
    assert!(matches!(err, LaunchError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("POST"), "{err}");
    assert_status(&err, 400);
}

#[tokio::test]
async fn relative_url_is_malformed() {
    let mut req = signed(lti_params(), "n");
    req.url = "/hub/lti/launch".into();
    let err = refuse(&req).await;
    assert!(matches!(err, LaunchError::Malformed { .. }), "{err}");
    assert_status(&err, 400);
}

#[tokio::test]
async fn each_missing_or_empty_oauth_parameter_is_named() {
    for name in [
        "oauth_consumer_key",
        "oauth_signature_method",
        "oauth_timestamp",
        "oauth_nonce",
        "oauth_signature",
    ] {
        for req in [
            without(signed(lti_params(), "n"), name),
            with_value(signed(lti_params(), "n"), name, " "),
        ] {
            let err = refuse(&req).await;
            match &err {
                LaunchError::MissingParameter { name: missing } => assert_eq!(*missing, name),
                other => panic!("{name}: expected MissingParameter, got {other}"),
            }
            assert!(err.to_string().contains(name), "{err}");
            assert_status(&err, 400);
        }
    }
}

#[tokio::test]
async fn each_missing_lti_parameter_is_named() {
    for name in [
        "lti_message_type",
        "lti_version",
        "resource_link_id",
        "user_id",
    ] {
        let mut params = lti_params();
        params.retain(|(n, _)| n != name);
        let err = refuse(&signed(params.clone(), "n")).await;
        match &err {
            LaunchError::MissingParameter { name: missing } => assert_eq!(*missing, name),
            other => panic!("{name}: expected MissingParameter, got {other}"),
        }
        assert_status(&err, 400);
        params.push((name.into(), String::new()));
        let err = refuse(&signed(params, "n")).await;
        assert!(
            matches!(err, LaunchError::MissingParameter { .. }),
            "{name} empty: {err}"
        );
    }
}

#[tokio::test]
async fn wrong_message_type_and_version_are_refused() {
    for (name, value) in [
        ("lti_message_type", "ContentItemSelectionRequest"),
        ("lti_version", "LTI-1p1"),
        ("lti_version", "LTI-2p0"),
        ("lti_version", "lti-1p0"),
    ] {
        let mut params = lti_params();
        params.retain(|(n, _)| n != name);
        params.push((name.into(), value.into()));
        let err = refuse(&signed(params, "n")).await;
        assert!(
            matches!(&err, LaunchError::InvalidParameter { name: n, value: v, .. } if *n == name && v == value),
            "{err}"
        );
        assert!(err.to_string().contains(value), "{err}");
        assert_status(&err, 400);
    }
}

#[tokio::test]
async fn bad_oauth_values_are_refused() {
    for (name, value) in [
        ("oauth_signature_method", "HMAC-SHA256"),
        ("oauth_signature_method", "PLAINTEXT"),
        ("oauth_version", "2.0"),
        ("oauth_timestamp", "17641600OO"),
        ("oauth_timestamp", "-1764160000"),
        ("oauth_timestamp", "1.76416e9"),
        ("oauth_timestamp", "99999999999999999999999"),
    ] {
        let err = refuse(&with_value(signed(lti_params(), "n"), name, value)).await;
        assert!(
            matches!(&err, LaunchError::InvalidParameter { name: n, .. } if *n == name),
            "{name}={value}: {err}"
        );
        assert_status(&err, 400);
    }
}

#[tokio::test]
async fn oauth_version_may_be_absent() {
    let (auth, _) = authenticator();
    let params = lti_params();
    // Sign by hand without oauth_version: drop it from the signer's output and re-sign.
    let signer = LaunchSigner::new(KEY, SECRET);
    let mut form = signer.sign(URL, params, NOW, "n").unwrap();
    form.retain(|(n, _)| n != "oauth_version" && n != "oauth_signature");
    let base = lticontainer_core::auth::signature_base_string(
        "POST",
        URL,
        &form
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
    );
    form.push((
        "oauth_signature".into(),
        lticontainer_core::auth::sign_hmac_sha1(&base, SECRET),
    ));
    run(&auth, &LaunchRequest::post(URL, form)).await.unwrap();
}

#[tokio::test]
async fn duplicate_oauth_parameters_are_refused() {
    let mut req = signed(lti_params(), "n");
    req.form.push("oauth_nonce", "other");
    let err = refuse(&req).await;
    assert!(
        matches!(&err, LaunchError::DuplicateParameter { name } if name == "oauth_nonce"),
        "{err}"
    );
    assert_status(&err, 400);

    // The same parameter in the body and in the Authorization header is just as ambiguous.
    let mut req = signed(lti_params(), "n");
    req.authorization = Some(r#"OAuth oauth_consumer_key="moodle""#.into());
    let err = refuse(&req).await;
    assert!(
        matches!(&err, LaunchError::DuplicateParameter { name } if name == "oauth_consumer_key"),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_authorization_header_is_refused() {
    let mut req = signed(lti_params(), "n");
    req.authorization = Some("OAuth oauth_nonce=unquoted".into());
    let err = refuse(&req).await;
    assert!(matches!(err, LaunchError::Malformed { .. }), "{err}");
}

#[tokio::test]
async fn unknown_consumer_key_is_401() {
    let form = LaunchSigner::new("canvas", SECRET)
        .sign(URL, lti_params(), NOW, "n")
        .unwrap();
    let err = refuse(&LaunchRequest::post(URL, form)).await;
    assert!(
        matches!(&err, LaunchError::UnknownConsumer { key } if key == "canvas"),
        "{err}"
    );
    assert!(err.to_string().contains("canvas"), "{err}");
    assert_status(&err, 401);
}

#[tokio::test]
async fn wrong_secret_is_401_with_base_string_and_no_secret() {
    let form = LaunchSigner::new(KEY, "not-the-secret")
        .sign(URL, lti_params(), NOW, "n")
        .unwrap();
    let err = refuse(&LaunchRequest::post(URL, form)).await;
    let LaunchError::BadSignature {
        consumer_key,
        base_string,
    } = &err
    else {
        panic!("expected BadSignature, got {err}");
    };
    assert_eq!(consumer_key, KEY);
    assert!(
        base_string.starts_with("POST&https%3A%2F%2Fhub.school.edu%2Fhub%2Flti%2Flaunch&"),
        "{base_string}"
    );
    let shown = format!("{err} {err:?}");
    assert!(shown.contains(base_string.as_str()));
    assert!(
        !shown.contains(SECRET) && !shown.contains("not-the-secret"),
        "{shown}"
    );
    assert_status(&err, 401);
}

#[tokio::test]
async fn tampered_values_break_the_signature() {
    for (name, value) in [
        ("ext_user_username", "mallory"),
        ("roles", "Instructor"),
        ("custom_lms_image", "evil:latest"),
    ] {
        let err = refuse(&with_value(signed(lti_params(), "n"), name, value)).await;
        assert!(
            matches!(err, LaunchError::BadSignature { .. }),
            "{name}: {err}"
        );
    }
    // An added parameter breaks it too.
    let mut req = signed(lti_params(), "n");
    req.form.push("custom_lms_memlimit", "64G");
    assert!(matches!(
        refuse(&req).await,
        LaunchError::BadSignature { .. }
    ));
    // So does a different signature of the right length.
    let req = with_value(
        signed(lti_params(), "n"),
        "oauth_signature",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    );
    assert!(matches!(
        refuse(&req).await,
        LaunchError::BadSignature { .. }
    ));
}

#[tokio::test]
async fn url_seen_by_the_hub_must_match_the_signed_one() {
    // Signed for https, checked against http: the TLS-terminating proxy failure.
    let mut req = signed(lti_params(), "n");
    req.url = "http://hub.school.edu/hub/lti/launch".into();
    let err = refuse(&req).await;
    assert!(
        matches!(&err, LaunchError::BadSignature { base_string, .. } if base_string.contains("http%3A%2F%2Fhub")),
        "{err}"
    );
    // A query parameter dropped by a proxy breaks it too.
    let mut req = signed_at(&format!("{URL}?course=1"), lti_params(), NOW, "n");
    req.url = URL.into();
    assert!(matches!(
        refuse(&req).await,
        LaunchError::BadSignature { .. }
    ));
}

#[tokio::test]
async fn stale_and_future_timestamps_are_401_with_boundaries_accepted() {
    let (auth, clock) = authenticator();
    let window = 300;
    // Exactly at the edges: accepted.
    clock.set(NOW + window);
    run(&auth, &signed(lti_params(), "edge-old")).await.unwrap();
    clock.set(NOW - window);
    run(&auth, &signed(lti_params(), "edge-new")).await.unwrap();

    clock.set(NOW + window + 1);
    let err = run(&auth, &signed(lti_params(), "stale"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LaunchError::StaleTimestamp {
                age: 301,
                window: 300,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.student_message().contains("expired"),
        "{}",
        err.student_message()
    );
    assert_status(&err, 401);

    clock.set(NOW - window - 1);
    let err = run(&auth, &signed(lti_params(), "future"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LaunchError::FutureTimestamp { ahead: 301, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("clock"), "{err}");
    assert_status(&err, 401);
}

#[tokio::test]
async fn window_is_configurable() {
    let (auth, clock) = authenticator_with(Lti11Config::default().with_timestamp_window_secs(30));
    clock.set(NOW + 31);
    let err = run(&auth, &signed(lti_params(), "n")).await.unwrap_err();
    assert!(
        matches!(err, LaunchError::StaleTimestamp { window: 30, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn replayed_nonce_is_401_and_other_keys_are_not() {
    let (auth, clock) = authenticator();
    let req = signed(lti_params(), "once");
    run(&auth, &req).await.unwrap();
    clock.advance(10);
    let err = run(&auth, &req).await.unwrap_err();
    assert!(
        matches!(&err, LaunchError::ReplayedNonce { nonce, timestamp: NOW, .. } if nonce == "once"),
        "{err}"
    );
    assert!(
        err.student_message().contains("already used"),
        "{}",
        err.student_message()
    );
    assert_status(&err, 401);
    // Same nonce, another timestamp: a different launch.
    run(&auth, &signed_at(URL, lti_params(), NOW + 1, "once"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_launch_at_the_edge_of_either_side_of_the_window_is_accepted_once() {
    let (auth, clock) = authenticator();
    let window = i64::try_from(Lti11Config::default().timestamp_window_secs).unwrap();
    // Exactly `window` seconds old: accepted, and every replay in that same second refused.
    let old = signed_at(URL, lti_params(), NOW - window, "edge-old");
    run(&auth, &old).await.unwrap();
    for _ in 0..5 {
        let err = run(&auth, &old).await.unwrap_err();
        assert!(matches!(err, LaunchError::ReplayedNonce { .. }), "{err}");
    }
    // Exactly `window` seconds ahead: accepted, then refused as a replay until its timestamp is
    // out of the window on the other side.
    let ahead = signed_at(URL, lti_params(), NOW + window, "edge-ahead");
    run(&auth, &ahead).await.unwrap();
    for step in [0, window, 2 * window] {
        clock.set(NOW + step);
        let err = run(&auth, &ahead).await.unwrap_err();
        assert!(
            matches!(err, LaunchError::ReplayedNonce { .. }),
            "at +{step}: {err}"
        );
    }
    clock.set(NOW + 2 * window + 1);
    let err = run(&auth, &ahead).await.unwrap_err();
    assert!(matches!(err, LaunchError::StaleTimestamp { .. }), "{err}");
}

#[tokio::test]
async fn a_huge_refused_launch_makes_a_short_admin_message() {
    // Anyone can send a launch with the public consumer key and a junk signature; the refusal's
    // message (what the hub logs) stays a few hundred bytes whatever the body held.
    let mut params = lti_params();
    params.push(("custom_junk".to_owned(), "x".repeat(200_000)));
    let req = with_value(signed(params, "n"), "oauth_signature", "junk");
    let err = refuse(&req).await;
    assert!(matches!(err, LaunchError::BadSignature { .. }), "{err}");
    let shown = err.to_string();
    assert!(
        shown.len() < 1_500,
        "{} bytes: {}",
        shown.len(),
        &shown[..300]
    );
    assert!(shown.contains("bytes in all, SHA-256"), "{shown}");

    let long_key = "k".repeat(100_000);
    let req = with_value(signed(lti_params(), "n"), "oauth_consumer_key", &long_key);
    let shown = refuse(&req).await.to_string();
    assert!(shown.len() < 1_000, "{} bytes", shown.len());
}

#[tokio::test]
async fn refused_launches_do_not_use_up_their_nonce() {
    let (auth, _) = authenticator();
    let good = signed(lti_params(), "n");
    let forged = with_value(good.clone(), "ext_user_username", "mallory");
    assert!(run(&auth, &forged).await.is_err());
    run(&auth, &good).await.unwrap();
}

#[tokio::test]
async fn full_nonce_store_is_503_until_entries_expire() {
    let (auth, clock) = authenticator_with(Lti11Config::default().with_nonce_capacity(2));
    run(&auth, &signed(lti_params(), "a")).await.unwrap();
    run(&auth, &signed(lti_params(), "b")).await.unwrap();
    let err = run(&auth, &signed(lti_params(), "c")).await.unwrap_err();
    assert!(matches!(err, LaunchError::NonceStore(_)), "{err}");
    assert_status(&err, 503);
    let source = std::error::Error::source(&err)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(source.contains("capacity"), "{source}");
    // After the window the old nonces expire and a new launch fits.
    clock.advance(301);
    run(&auth, &signed_at(URL, lti_params(), NOW + 301, "c"))
        .await
        .unwrap();
}

#[tokio::test]
async fn unusable_username_is_400() {
    let mut params = lti_params();
    params.retain(|(n, _)| n != "ext_user_username");
    params.push(("ext_user_username".into(), "中文".into()));
    params.retain(|(n, _)| n != "user_id");
    params.push(("user_id".into(), "中文".into()));
    let err = refuse(&signed(params, "n")).await;
    assert!(matches!(err, LaunchError::Launch(_)), "{err}");
    assert_status(&err, 400);
}
