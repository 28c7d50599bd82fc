//! Launch verification cost: a realistic Moodle LTI 1.1 launch (13 standard fields, 10 more
//! that Moodle and the LTIContainerSpawner patch add, and 22 `custom_lms_*` parameters)
//! verified (URL normalisation, base string, HMAC-SHA1, timestamp, nonce store, launch model),
//! then parsed into `LmsParams` and built into a `SpawnPlan`.
//!
//! Two measurements of each: `launch-cpu/*` counts the benchmark thread's CPU time, which stays
//! honest while other work shares the machine; `launch-wall/*` is criterion's wall clock.
//!
//! Run with: `cargo bench -p lticontainer-benches --bench launch`

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BatchSize, Criterion, criterion_main};
use lticontainer_core::auth::{
    LaunchRequest, LaunchSigner, Lti11Authenticator, Lti11Config, ManualClock, encode_urlencoded,
};
use lticontainer_core::launch::LtiLaunch;
use lticontainer_core::params::LmsParams;
use lticontainer_core::spec::{NoHostAccounts, SpecConfig, build_spawn_plan};

const KEY: &str = "moodle.school.edu";
const SECRET: &str = "s3cr3t&with~special chars";
const URL: &str = "https://hub.school.edu/hub/lti/launch";
const START: i64 = 1_764_160_000;
/// Every this many launches the simulated clock moves on by [`CLOCK_STEP`] seconds, so nonces
/// expire as in a long-running hub while the store stays under its default capacity
/// (at most 300 / 100 + 1 steps of live nonces).
const LAUNCHES_PER_STEP: u64 = 10_000;
/// A step well inside the 300 s window, so launches signed for a batch stay fresh.
const CLOCK_STEP: i64 = 100;

fn moodle_launch_params() -> Vec<(String, String)> {
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
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the in-memory launch path never waits"),
    }
}

/// Signs a fresh launch (new nonce) at the clock's time, moving the clock on now and then.
struct Launches {
    clock: Arc<ManualClock>,
    signer: LaunchSigner,
    params: Vec<(String, String)>,
    count: u64,
}

impl Launches {
    fn next_body(&mut self) -> Vec<u8> {
        self.count += 1;
        if self.count % LAUNCHES_PER_STEP == 0 {
            self.clock.advance(CLOCK_STEP);
        }
        let now = lticontainer_core::auth::Clock::now_unix(&*self.clock);
        let form = self
            .signer
            .sign(
                URL,
                self.params.clone(),
                now,
                &format!("{:032x}", self.count),
            )
            .expect("bench launch signs");
        encode_urlencoded(&form).into_bytes()
    }
}

fn setup() -> (Lti11Authenticator, Launches, SpecConfig) {
    let clock = Arc::new(ManualClock::new(START));
    let auth = Lti11Authenticator::in_memory(Lti11Config::default().with_consumer(KEY, SECRET))
        .expect("valid config")
        .with_clock(clock.clone());
    let launches = Launches {
        clock,
        signer: LaunchSigner::new(KEY, SECRET),
        params: moodle_launch_params(),
        count: 0,
    };
    let mut spec = SpecConfig::default();
    spec.allowed_images.push("jupyter/*".to_owned());
    (auth, launches, spec)
}

/// The CPU time of the benchmark thread (`CLOCK_THREAD_CPUTIME_ID`), shown like wall time.
struct ThreadCpu;

impl Measurement for ThreadCpu {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }
    fn end(&self, started: ThreadTime) -> Duration {
        started.elapsed()
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, d: &Duration) -> f64 {
        d.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WallTime.formatter()
    }
}

fn bench_launch<M: Measurement>(c: &mut Criterion<M>, group_name: &str) {
    let mut group = c.benchmark_group(group_name);

    let (auth, mut launches, _) = setup();
    group.bench_function("verify (body decode + signature + nonce + model)", |b| {
        b.iter_batched(
            || launches.next_body(),
            |body| {
                let req = LaunchRequest::from_body(URL, &body, None).expect("decodes");
                ready(auth.verify(&req)).expect("verifies")
            },
            BatchSize::SmallInput,
        )
    });

    let (auth, mut launches, spec) = setup();
    let clock = launches.clock.clone();
    group.bench_function("verify + parse + build", |b| {
        b.iter_batched(
            || launches.next_body(),
            |body| {
                let req = LaunchRequest::from_body(URL, &body, None).expect("decodes");
                let launch = ready(auth.verify(&req)).expect("verifies");
                let (params, _warnings) = LmsParams::from_launch(&launch);
                let now = lticontainer_core::auth::Clock::now_unix(&*clock);
                build_spawn_plan(&spec, &launch, &params, &NoHostAccounts, now, 8001)
                    .expect("builds")
            },
            BatchSize::SmallInput,
        )
    });

    // The parts, to see where the time goes.
    let (auth, mut launches, spec) = setup();
    let body = launches.next_body();
    group.bench_function("part: body decode", |b| {
        b.iter(|| LaunchRequest::from_body(URL, &body, None).expect("decodes"))
    });
    let req = LaunchRequest::from_body(URL, &body, None).expect("decodes");
    group.bench_function("part: launch model (LtiLaunch::from_params)", |b| {
        b.iter(|| LtiLaunch::from_params(KEY, &req.form, "ext_user_username").expect("models"))
    });
    let launch = ready(auth.verify(&req)).expect("verifies");
    group.bench_function("part: parse + build (LmsParams, spawn plan)", |b| {
        b.iter(|| {
            let (params, _warnings) = LmsParams::from_launch(&launch);
            build_spawn_plan(&spec, &launch, &params, &NoHostAccounts, START, 8001).expect("builds")
        })
    });
    group.finish();
}

fn cpu(c: &mut Criterion<ThreadCpu>) {
    bench_launch(c, "launch-cpu");
}

fn wall(c: &mut Criterion) {
    bench_launch(c, "launch-wall");
}

/// criterion's generated group functions are undocumented and `pub`.
#[allow(missing_docs, unreachable_pub)]
mod groups {
    criterion::criterion_group! {
        name = cpu;
        config = criterion::Criterion::default().with_measurement(super::ThreadCpu);
        targets = super::cpu
    }
    criterion::criterion_group!(wall, super::wall);
}
criterion_main!(groups::cpu, groups::wall);
