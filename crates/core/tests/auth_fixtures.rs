//! Launches signed by Python oauthlib (tests/fixtures/lti, made by scripts/gen-lti-fixtures.py):
//! an independent OAuth implementation must agree with ours on every base string and signature.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use lticontainer_core::auth::{
    LaunchError, LaunchRequest, Lti11Authenticator, Lti11Config, ManualClock,
};
use lticontainer_core::launch::LtiLaunch;

struct Fixture {
    name: String,
    key: String,
    secret: String,
    url: String,
    body: String,
    authorization: Option<String>,
    timestamp: i64,
    base_string: String,
}

fn fixtures() -> Vec<Fixture> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/lti");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let s = |k: &str| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("{}: {k}", path.display()))
                .to_owned()
        };
        out.push(Fixture {
            name: s("name"),
            key: s("consumer_key"),
            secret: s("consumer_secret"),
            url: s("url"),
            body: s("body"),
            authorization: v["authorization"].as_str().map(str::to_owned),
            timestamp: v["timestamp"].as_i64().unwrap(),
            base_string: s("base_string"),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(
        out.len() >= 11,
        "expected the committed fixtures in {}",
        dir.display()
    );
    out
}

fn fixture(name: &str) -> Fixture {
    fixtures().into_iter().find(|f| f.name == name).unwrap()
}

fn request(f: &Fixture) -> LaunchRequest {
    LaunchRequest::from_body(f.url.clone(), f.body.as_bytes(), f.authorization.clone()).unwrap()
}

async fn verify_with(f: &Fixture, secret: &str) -> Result<LtiLaunch, LaunchError> {
    let auth = Lti11Authenticator::in_memory(Lti11Config::default().with_consumer(&f.key, secret))
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(f.timestamp + 5)));
    auth.verify(&request(f)).await
}

#[tokio::test]
async fn every_oauthlib_fixture_verifies() {
    for f in fixtures() {
        if let Err(e) = verify_with(&f, &f.secret).await {
            panic!("fixture {}: {e}", f.name);
        }
    }
}

#[tokio::test]
async fn our_base_string_equals_oauthlibs() {
    // A wrong secret makes the verifier report the base string it computed.
    for f in fixtures() {
        match verify_with(&f, "wrong").await {
            Err(LaunchError::BadSignature { base_string, .. }) => {
                assert_eq!(base_string, f.base_string, "fixture {}", f.name);
            }
            other => panic!("fixture {}: expected BadSignature, got {other:?}", f.name),
        }
    }
}

#[tokio::test]
async fn tampering_with_any_fixture_breaks_it() {
    for f in fixtures() {
        let mut req = request(&f);
        assert!(
            req.form.last("resource_link_id").is_some(),
            "fixture {}",
            f.name
        );
        req.form = req
            .form
            .iter()
            .map(|(n, v)| match n {
                "resource_link_id" => (n, format!("{v}0")),
                _ => (n, v.to_owned()),
            })
            .collect();
        let auth =
            Lti11Authenticator::in_memory(Lti11Config::default().with_consumer(&f.key, &f.secret))
                .unwrap()
                .with_clock(Arc::new(ManualClock::new(f.timestamp)));
        let err = auth.verify(&req).await.unwrap_err();
        assert!(
            matches!(err, LaunchError::BadSignature { .. }),
            "fixture {}: {err}",
            f.name
        );
    }
}

#[tokio::test]
async fn moodle_full_launch_keeps_every_custom_parameter() {
    let launch = verify_with(&fixture("moodle_full"), &fixture("moodle_full").secret)
        .await
        .unwrap();
    assert_eq!(launch.customs().count(), 22);
    assert_eq!(launch.custom("lms_users"), Some("alice, bob carol"));
    assert_eq!(
        launch.outcome_service_url.as_deref(),
        Some("https://moodle.school.edu/mod/lti/service.php")
    );
    assert!(
        launch
            .result_sourcedid
            .as_deref()
            .is_some_and(|s| s.starts_with("{\"data\""))
    );
}

#[tokio::test]
async fn query_parameters_of_the_tool_url_count() {
    let f = fixture("query_in_tool_url");
    let launch = verify_with(&f, &f.secret).await.unwrap();
    assert_eq!(launch.params.get("course"), Some("PY101"));
    assert_eq!(launch.params.get("next"), Some("/user-redirect/lab"));
    assert_eq!(launch.params.get("flag"), Some(""));
}

#[tokio::test]
async fn plus_and_percent_twenty_bodies_are_the_same_launch() {
    let plus = fixture("spaces_plus");
    let pct = fixture("spaces_percent20");
    assert!(plus.body.contains("Week+1") && pct.body.contains("Week%201"));
    let a = verify_with(&plus, &plus.secret).await.unwrap();
    let b = verify_with(&pct, &pct.secret).await.unwrap();
    assert_eq!(
        a.resource_link_title.as_deref(),
        Some("Week 1: Intro to Python")
    );
    assert_eq!(
        a.params.get("resource_link_description"),
        Some("Line one\r\nLine two with  two spaces")
    );
    assert_eq!(a.params, b.params);
}

#[tokio::test]
async fn non_ascii_values_survive() {
    let f = fixture("non_ascii");
    let launch = verify_with(&f, &f.secret).await.unwrap();
    assert_eq!(launch.context_title.as_deref(), Some("数据科学 📊"));
    assert_eq!(
        launch.params.get("lis_person_name_full"),
        Some("Jürgen Müller-Łukasz")
    );
}

#[tokio::test]
async fn authorization_header_fixture_carries_no_oauth_in_the_body() {
    let f = fixture("authorization_header");
    assert!(!f.body.contains("oauth_"), "{}", f.body);
    assert!(
        f.authorization
            .as_deref()
            .is_some_and(|h| h.contains("realm="))
    );
    verify_with(&f, &f.secret).await.unwrap();
}
