//! LTI 1.1 launch verification through the public API: the accepted launch, and helpers the
//! other `auth_*` test modules share.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use lticontainer_core::auth::{
    Authenticator, InMemoryNonceStore, LaunchError, LaunchRequest, LaunchSigner,
    Lti11Authenticator, Lti11Config, ManualClock,
};
use lticontainer_core::launch::LtiLaunch;

pub(crate) const KEY: &str = "moodle";
pub(crate) const SECRET: &str = "s3cret";
pub(crate) const NOW: i64 = 1_764_160_000;
pub(crate) const URL: &str = "https://hub.school.edu/hub/lti/launch";

/// An authenticator for consumer [`KEY`] whose clock reads [`NOW`], with its clock.
pub(crate) fn authenticator() -> (Lti11Authenticator, Arc<ManualClock>) {
    authenticator_with(Lti11Config::default())
}

pub(crate) fn authenticator_with(config: Lti11Config) -> (Lti11Authenticator, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(NOW));
    let auth = Lti11Authenticator::in_memory(config.with_consumer(KEY, SECRET))
        .unwrap()
        .with_clock(clock.clone());
    (auth, clock)
}

pub(crate) fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// The LTI parameters of a minimal Moodle launch.
pub(crate) fn lti_params() -> Vec<(String, String)> {
    owned(&[
        ("lti_message_type", "basic-lti-launch-request"),
        ("lti_version", "LTI-1p0"),
        ("resource_link_id", "42"),
        ("user_id", "7"),
        ("ext_user_username", "alice"),
        ("roles", "Learner,urn:lti:role:ims/lis/TeachingAssistant"),
        ("context_id", "3"),
        ("context_title", "Python 101"),
        ("custom_lms_image", "jupyter/base-notebook"),
    ])
}

/// `params` signed for [`URL`] with [`KEY`]/[`SECRET`] at [`NOW`].
pub(crate) fn signed(params: Vec<(String, String)>, nonce: &str) -> LaunchRequest {
    signed_at(URL, params, NOW, nonce)
}

pub(crate) fn signed_at(
    url: &str,
    params: Vec<(String, String)>,
    timestamp: i64,
    nonce: &str,
) -> LaunchRequest {
    let form = LaunchSigner::new(KEY, SECRET)
        .sign(url, params, timestamp, nonce)
        .unwrap();
    LaunchRequest::post(url, form)
}

pub(crate) async fn run(
    auth: &Lti11Authenticator,
    req: &LaunchRequest,
) -> Result<LtiLaunch, LaunchError> {
    auth.authenticate(req).await
}

#[tokio::test]
async fn signed_launch_is_accepted_and_modelled() {
    let (auth, _) = authenticator();
    let launch = run(&auth, &signed(lti_params(), "n1")).await.unwrap();
    assert_eq!(launch.consumer_key, KEY);
    assert_eq!(launch.username, "alice");
    assert_eq!(launch.user_id, "7");
    assert_eq!(launch.resource_link_id, "42");
    assert_eq!(launch.context_title.as_deref(), Some("Python 101"));
    assert_eq!(launch.custom("lms_image"), Some("jupyter/base-notebook"));
    assert!(
        launch.params.keys().all(|k| !k.starts_with("oauth_")),
        "{:?}",
        launch.params
    );
}

#[tokio::test]
async fn username_key_is_configurable() {
    let (auth, _) =
        authenticator_with(Lti11Config::default().with_username_key("lis_person_sourcedid"));
    let mut params = lti_params();
    params.push(("lis_person_sourcedid".into(), "s1234".into()));
    let launch = run(&auth, &signed(params, "n1")).await.unwrap();
    assert_eq!(launch.username, "s1234");
}

#[tokio::test]
async fn query_parameters_are_signed_and_reach_the_launch() {
    let (auth, _) = authenticator();
    let url = "https://hub.school.edu/hub/lti/launch?course=PY101&next=%2Flab";
    let req = signed_at(url, lti_params(), NOW, "n1");
    assert!(
        req.form.iter().all(|(n, _)| n != "course"),
        "query params stay out of the body"
    );
    let launch = run(&auth, &req).await.unwrap();
    assert_eq!(launch.params.get("course"), Some("PY101"));
    assert_eq!(launch.params.get("next"), Some("/lab"));
}

#[tokio::test]
async fn raw_body_round_trip_through_from_body() {
    let (auth, _) = authenticator();
    let req = signed(lti_params(), "n1");
    let body = req.form.to_urlencoded();
    let parsed = LaunchRequest::from_body(URL, body.as_bytes(), None).unwrap();
    assert_eq!(parsed, req);
    run(&auth, &parsed).await.unwrap();
}

#[tokio::test]
async fn forwarding_impls_reach_the_authenticator() {
    let (auth, _) = authenticator();
    let arc: Arc<dyn Authenticator> = Arc::new(auth);
    arc.authenticate(&signed(lti_params(), "n1")).await.unwrap();
    let boxed: Box<dyn Authenticator> = Box::new(arc.clone());
    let err = boxed
        .authenticate(&signed(lti_params(), "n1"))
        .await
        .unwrap_err();
    assert!(matches!(err, LaunchError::ReplayedNonce { .. }), "{err}");
}

#[tokio::test]
async fn custom_nonce_store_is_used() {
    let store = Arc::new(InMemoryNonceStore::new(8));
    let auth = Lti11Authenticator::new(
        Lti11Config::default().with_consumer(KEY, SECRET),
        store.clone(),
    )
    .unwrap()
    .with_clock(Arc::new(ManualClock::new(NOW)));
    run(&auth, &signed(lti_params(), "n1")).await.unwrap();
    assert_eq!(store.len(), 1);
}

#[test]
fn invalid_configuration_is_refused_at_construction() {
    let err =
        Lti11Authenticator::in_memory(Lti11Config::default().with_consumer(KEY, "")).unwrap_err();
    assert!(err.to_string().contains("secret"), "{err}");
}
