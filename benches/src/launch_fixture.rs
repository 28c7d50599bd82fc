//! The launch the benchmarks measure: a realistic Moodle LTI 1.1 launch (13 standard fields, 10
//! more that Moodle and the LTIContainerSpawner patch add, and 22 `custom_lms_*` parameters),
//! signed like Moodle signs it, and the configuration it is verified and built with.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use lticontainer_core::auth::{
    Clock, LaunchSigner, Lti11Authenticator, Lti11Config, ManualClock, encode_urlencoded,
};
use lticontainer_core::spec::SpecConfig;

/// The consumer key the launches are signed with.
pub const KEY: &str = "moodle.school.edu";
/// The consumer secret (with characters that need percent-encoding in the HMAC key).
pub const SECRET: &str = "s3cr3t&with~special chars";
/// The public launch URL.
pub const URL: &str = "https://hub.school.edu/hub/lti/launch";
/// The simulated time of the first launch (Unix seconds).
pub const START: i64 = 1_764_160_000;

/// The launch's parameters before signing, in the order Moodle sends them.
pub fn moodle_launch_params() -> Vec<(String, String)> {
    [
        ("lti_message_type", "basic-lti-launch-request"),
        ("lti_version", "LTI-1p0"),
        ("resource_link_id", "42"),
        ("resource_link_title", "Week 1: Intro to Python"),
        ("resource_link_description", "Line one\r\nLine two"),
        ("user_id", "7"),
        ("ext_user_username", "alice"),
        ("roles", "Learner"),
        ("context_id", "3"),
        ("context_label", "PY101"),
        ("context_title", "Python 101"),
        ("context_type", "CourseSection"),
        ("tool_consumer_info_product_family_code", "moodle"),
        ("tool_consumer_info_version", "2024100700"),
        ("tool_consumer_instance_guid", "moodle.school.edu"),
        ("ext_lms", "moodle-2"),
        ("launch_presentation_locale", "en"),
        ("launch_presentation_document_target", "iframe"),
        (
            "launch_presentation_return_url",
            "https://moodle.school.edu/mod/lti/return.php?course=3&launch_container=3&instanceid=42&sesskey=abc",
        ),
        ("lis_person_name_full", "Alice Example"),
        ("lis_person_contact_email_primary", "alice@school.edu"),
        ("lis_outcome_service_url", "https://moodle.school.edu/mod/lti/service.php"),
        (
            "lis_result_sourcedid",
            r#"{"data":{"instanceid":"42","userid":"7","typeid":"1","launchid":123},"hash":"ab12"}"#,
        ),
        ("ext_user_userid", "1001"),
        ("ext_user_groupid", "1001"),
        ("ext_user_groupname", "students"),
        ("custom_lms_image", "jupyter/datascience-notebook:latest"),
        ("custom_lms_defurl", "/lab"),
        ("custom_lms_cpulimit", "2.0"),
        ("custom_lms_memlimit", "2G"),
        ("custom_lms_cpugrnt", "0.5"),
        ("custom_lms_memgrnt", "512M"),
        ("custom_lms_actlimit", "3600"),
        ("custom_lms_users", "alice, bob carol"),
        ("custom_lms_teachers", "tina"),
        ("custom_lms_vol_task", "Tasks"),
        ("custom_lms_vol_data", "Data:alice,bob"),
        ("custom_lms_sub_report", "Reports"),
        ("custom_lms_sub_report_close", "2026-12-24 23:59"),
        ("custom_lms_prs_mine", "My files"),
        ("custom_lms_iframe", "1"),
        ("custom_lms_options", "jupyterlab"),
        ("custom_lms_course", "PY101"),
        ("custom_lms_ltiname", "Notebook 1"),
        ("custom_lms_serverurl", "https://moodle.school.edu"),
        ("custom_lms_serverpath", "/"),
        ("custom_lms_rpctoken", "0123456789abcdef"),
        ("custom_lms_sessioninfo", "42"),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect()
}

/// Drives a future that never waits (the in-memory nonce store answers at once).
///
/// # Panics
/// When the future is not ready at its first poll.
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the in-memory launch path never waits"),
    }
}

/// An authenticator that knows [`KEY`], with an in-memory nonce store, on `clock`.
///
/// # Panics
/// Never for this fixed configuration.
pub fn authenticator(clock: Arc<ManualClock>) -> Lti11Authenticator {
    Lti11Authenticator::in_memory(Lti11Config::default().with_consumer(KEY, SECRET))
        .expect("valid config")
        .with_clock(clock)
}

/// The spec configuration: defaults plus an allowlist that admits the launch's image.
pub fn spec_config() -> SpecConfig {
    let mut spec = SpecConfig::default();
    spec.allowed_images.push("jupyter/*".to_owned());
    spec
}

/// Signs fresh launches (a new nonce each) at the clock's time.
#[derive(Debug)]
pub struct Launches {
    clock: Arc<ManualClock>,
    signer: LaunchSigner,
    params: Vec<(String, String)>,
    count: u64,
}

impl Launches {
    /// Launches signed at `clock`'s time.
    pub fn new(clock: Arc<ManualClock>) -> Self {
        Self {
            clock,
            signer: LaunchSigner::new(KEY, SECRET),
            params: moodle_launch_params(),
            count: 0,
        }
    }

    /// The clock the launches are signed at.
    pub fn clock(&self) -> &Arc<ManualClock> {
        &self.clock
    }

    /// The form body of the next launch.
    ///
    /// # Panics
    /// Never: the fixed launch always signs.
    pub fn next_body(&mut self) -> Vec<u8> {
        self.count += 1;
        let form = self
            .signer
            .sign(
                URL,
                self.params.clone(),
                self.clock.now_unix(),
                &format!("{:032x}", self.count),
            )
            .expect("bench launch signs");
        encode_urlencoded(&form).into_bytes()
    }

    /// How many launches were signed.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// The issuer of the LTI 1.3 launch (Moodle's `wwwroot`).
pub const ISSUER: &str = "https://moodle.school.edu";
/// The client id of the LTI 1.3 registration.
pub const CLIENT_ID: &str = "Xb3kq9ZtYfLm2Nc";
/// The nonce of the LTI 1.3 launch's login.
pub const NONCE: &str = "a3f1c2d4e5b60718293a4b5c6d7e8f90";

/// The same launch as [`moodle_launch_params`] by LTI 1.3: Moodle's id_token claims (the
/// `custom_*` parameters in the `custom` claim, `ext_*` in `ext`), issued at [`START`] with
/// [`NONCE`], signed RS256 by the committed test platform key (2048-bit, as Moodle's).
pub fn moodle_id_token() -> String {
    use lticontainer_core::lti13::{CLAIM_CUSTOM, CLAIM_EXT, PlatformSigner};
    let mut claims = PlatformSigner::student_launch_claims(ISSUER, CLIENT_ID, "1", NONCE, START);
    let (mut custom, mut ext) = (serde_json::Map::new(), serde_json::Map::new());
    for (k, v) in moodle_launch_params() {
        if let Some(name) = k.strip_prefix("custom_") {
            custom.insert(name.to_owned(), v.into());
        } else if let Some(name) = k.strip_prefix("ext_") {
            ext.insert(name.to_owned(), v.into());
        }
    }
    claims[CLAIM_CUSTOM] = custom.into();
    claims[CLAIM_EXT] = ext.into();
    PlatformSigner::test_platform().sign_claims(&claims)
}

/// The LTI 1.3 verifier of [`moodle_id_token`]'s platform on `clock`, and the platform's key set.
pub fn lti13_verifier(
    clock: Arc<ManualClock>,
) -> (
    lticontainer_core::lti13::Lti13Verifier,
    lticontainer_core::lti13::JwkSet,
) {
    use lticontainer_core::lti13::{
        JwkSet, Lti13Config, Lti13Verifier, PlatformConfig, PlatformSigner,
    };
    let config = Lti13Config::default()
        .with_platform(PlatformConfig::moodle(ISSUER, CLIENT_ID).with_deployments(["1"]));
    (
        Lti13Verifier::new(config).with_clock(clock),
        JwkSet::new(vec![PlatformSigner::test_platform().jwk()]),
    )
}
