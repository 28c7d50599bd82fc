//! Run with: cargo run --release -p lticontainer-benches --example launch_path -- [LAUNCHES] [verify|all]
//!
//! Runs pre-signed Moodle launches (the criterion bench's launch, see
//! `lticontainer_benches::launch_fixture`) through the pure launch path: `verify` decodes and
//! verifies them (`LaunchRequest::from_body` + `Lti11Authenticator::verify`); `all` (the
//! default) also reads the `lms_*` parameters and builds the spawn plan, then drops everything.
//! The same launches go through 15 rounds, each with a fresh authenticator (so no nonce is a
//! replay), and the lowest and median round averages are printed.
//!
//! Its purpose is the repeatable figure: under callgrind, the launches alone are counted with
//! `valgrind --tool=callgrind --toggle-collect='launch_path::run_*' <binary> 200 all`
//! (instructions per launch = the total / (200 × 15)). Valgrind hides the CPU's SHA extensions,
//! so the SHA-1 and SHA-256 there run in software and count more than they cost for real.
//!
//! LAUNCHES defaults to 1000.

use std::sync::Arc;
use std::time::Instant;

use lticontainer_benches::launch_fixture::{
    Launches, START, URL, authenticator, ready, spec_config,
};
use lticontainer_core::auth::{LaunchRequest, Lti11Authenticator, ManualClock};
use lticontainer_core::params::LmsParams;
use lticontainer_core::spec::{NoHostAccounts, SpecConfig, build_spawn_plan};

const ROUNDS: usize = 15;

/// One step of the path, run on one launch body.
type Step = fn(&Lti11Authenticator, &SpecConfig, &[u8]) -> usize;

/// Decodes and verifies one launch; returns something that depends on the result.
#[inline(never)]
fn run_verify(auth: &Lti11Authenticator, _spec: &SpecConfig, body: &[u8]) -> usize {
    let req = LaunchRequest::from_body(URL, body, None).expect("the launch decodes");
    let launch = ready(auth.verify(&req)).expect("the launch verifies");
    launch.params.len()
}

/// Verifies one launch, reads its parameters and builds its spawn plan.
#[inline(never)]
fn run_all(auth: &Lti11Authenticator, spec: &SpecConfig, body: &[u8]) -> usize {
    let req = LaunchRequest::from_body(URL, body, None).expect("the launch decodes");
    let launch = ready(auth.verify(&req)).expect("the launch verifies");
    let (params, _warnings) = LmsParams::from_launch(&launch);
    let plan = build_spawn_plan(spec, &launch, &params, &NoHostAccounts, START, 8001)
        .expect("the plan builds");
    plan.container.env.len()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(1000, |a| {
        a.parse()
            .expect("LAUNCHES is a number of launches, e.g. 1000")
    });
    let (name, run): (&str, Step) = match args.next().as_deref() {
        None | Some("all") => ("verify + parse + build", run_all),
        Some("verify") => ("verify", run_verify),
        Some(other) => panic!("unknown step {other:?}: use verify or all"),
    };
    let clock = Arc::new(ManualClock::new(START));
    let mut launches = Launches::new(clock.clone());
    let bodies: Vec<Vec<u8>> = (0..count).map(|_| launches.next_body()).collect();
    let spec = spec_config();

    let mut averages = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let auth = authenticator(clock.clone());
        let started = Instant::now();
        let checksum: usize = bodies.iter().map(|b| run(&auth, &spec, b)).sum();
        averages.push(started.elapsed().as_secs_f64() * 1e6 / count as f64);
        std::hint::black_box(checksum);
    }
    averages.sort_by(f64::total_cmp);
    println!(
        "{name}: {count} launches x {ROUNDS} rounds, wall time per launch: lowest round {:.2} µs, median round {:.2} µs",
        averages[0],
        averages[ROUNDS / 2]
    );
}
