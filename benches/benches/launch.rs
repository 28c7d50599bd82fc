//! Launch verification cost: a realistic Moodle LTI 1.1 launch (13 standard fields, 10 more
//! that Moodle and the LTIContainerSpawner patch add, and 22 `custom_lms_*` parameters)
//! verified (URL normalisation, base string, HMAC-SHA1, timestamp, nonce store, launch model),
//! then parsed into `LmsParams` and built into a `SpawnPlan`.
//!
//! Beside it, the same launch by LTI 1.3 (`lti13 …`): Moodle's id_token with the same claims
//! (RS256, a 2048-bit key as Moodle's) parsed, its signature verified and its claims checked and
//! mapped onto the same launch model; the login state's one-use lookup is a hash map removal,
//! not measured.
//!
//! Two measurements of each: `launch-cpu/*` counts the benchmark thread's CPU time, which stays
//! honest while other work shares the machine; `launch-wall/*` is criterion's wall clock.
//!
//! Run with: `cargo bench -p lticontainer-benches --bench launch`

use std::sync::Arc;
use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BatchSize, Criterion, criterion_main};
use lticontainer_benches::launch_fixture::{
    CLIENT_ID, ISSUER, KEY, Launches, NONCE, START, URL, authenticator, lti13_verifier,
    moodle_id_token, ready, spec_config,
};
use lticontainer_core::auth::{Clock, LaunchRequest, Lti11Authenticator, ManualClock};
use lticontainer_core::launch::LtiLaunch;
use lticontainer_core::lti13::{PendingLogin, UnverifiedToken};
use lticontainer_core::params::LmsParams;
use lticontainer_core::spec::{NoHostAccounts, SpecConfig, build_spawn_plan};

/// Every this many launches the simulated clock moves on by [`CLOCK_STEP`] seconds, so nonces
/// expire as in a long-running hub while the store stays under its default capacity
/// (at most 300 / 100 + 1 steps of live nonces).
const LAUNCHES_PER_STEP: u64 = 10_000;
/// A step well inside the 300 s window, so launches signed for a batch stay fresh.
const CLOCK_STEP: i64 = 100;
/// Launches signed ahead of each timed batch. A hub verifies a body it has just read from the
/// socket, so the bodies of a batch should fit in the CPU's cache (64 × ≈ 2 kB); criterion's
/// `SmallInput` batches grow with the iteration count (tens of MB of bodies, read cold from
/// memory), which measured memory traffic, not the launch path.
const LAUNCHES_PER_BATCH: u64 = 64;

/// The next launch's body, moving the simulated clock on every [`LAUNCHES_PER_STEP`] launches.
fn next_body(launches: &mut Launches) -> Vec<u8> {
    if (launches.count() + 1) % LAUNCHES_PER_STEP == 0 {
        launches.clock().advance(CLOCK_STEP);
    }
    launches.next_body()
}

fn setup() -> (Lti11Authenticator, Launches, SpecConfig) {
    let clock = Arc::new(ManualClock::new(START));
    (
        authenticator(clock.clone()),
        Launches::new(clock),
        spec_config(),
    )
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
            || next_body(&mut launches),
            |body| {
                let req = LaunchRequest::from_body(URL, &body, None).expect("decodes");
                ready(auth.verify(&req)).expect("verifies")
            },
            BatchSize::NumIterations(LAUNCHES_PER_BATCH),
        )
    });

    let (auth, mut launches, spec) = setup();
    let clock = launches.clock().clone();
    group.bench_function("verify + parse + build", |b| {
        b.iter_batched(
            || next_body(&mut launches),
            |body| {
                let req = LaunchRequest::from_body(URL, &body, None).expect("decodes");
                let launch = ready(auth.verify(&req)).expect("verifies");
                let (params, _warnings) = LmsParams::from_launch(&launch);
                let now = clock.now_unix();
                build_spawn_plan(&spec, &launch, &params, &NoHostAccounts, now, 8001)
                    .expect("builds")
            },
            BatchSize::NumIterations(LAUNCHES_PER_BATCH),
        )
    });

    let clock = Arc::new(ManualClock::new(START));
    let (verifier, keys) = lti13_verifier(clock);
    let token = moodle_id_token();
    let login = PendingLogin::new(ISSUER, CLIENT_ID, NONCE);
    group.bench_function("lti13 verify (token parse + RS256 + claims + model)", |b| {
        b.iter(|| {
            let parsed = UnverifiedToken::parse(&token).expect("parses");
            verifier.verify(&parsed, &login, &keys).expect("verifies")
        })
    });
    let (_, _, spec) = setup();
    group.bench_function("lti13 verify + parse + build", |b| {
        b.iter(|| {
            let parsed = UnverifiedToken::parse(&token).expect("parses");
            let launch = verifier.verify(&parsed, &login, &keys).expect("verifies");
            let (params, _warnings) = LmsParams::from_launch(&launch);
            build_spawn_plan(&spec, &launch, &params, &NoHostAccounts, START, 8001).expect("builds")
        })
    });

    // The parts, to see where the time goes.
    let (auth, mut launches, spec) = setup();
    let body = next_body(&mut launches);
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
