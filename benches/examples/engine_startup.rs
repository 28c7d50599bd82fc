//! Run with: cargo run --release -p lticontainer-benches --example engine_startup -- <docker|podman> [ROUNDS_FOR_ONE ROUNDS_FOR_TWENTY]
//!
//! Compares starting containers with the engine's CLI (`docker run -d --network host` or
//! `podman run -d --network host`) and with the lticontainer backend (`create_and_start` over the
//! engine's API socket), 1 and 20 at once, and prints the median and maximum wall time per
//! container side by side. Rounds alternate between the two so that both see the same engine
//! state. Every container carries the label `lticontainer.bench=<pid>` and is removed after its
//! round. Needs the engine and the test image
//! (`scripts/setup-engines.sh <engine> && scripts/build-busybox-image.sh <engine>`).
//!
//! Rounds default to `10 3`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use lticontainer_core::Runtime;
use lticontainer_core::container::ContainerSpec;
use lticontainer_core::network::NetworkMode;
use lticontainer_docker::DockerRuntimeBuilder;
use lticontainer_podman::PodmanRuntimeBuilder;

const IMAGE: &str = "lticontainer-test/busybox:latest";
const LABEL: &str = "lticontainer.bench";

type Failure = Box<dyn std::error::Error>;

/// One engine under test: its CLI and its backend.
struct Engine {
    cli: &'static str,
    title: &'static str,
    backend_method: &'static str,
    runtime: Arc<dyn Runtime>,
}

impl Engine {
    fn open(name: &str) -> Result<Self, Failure> {
        Ok(match name {
            "docker" => Self {
                cli: "docker",
                title: "Docker",
                backend_method: "DockerRuntime::create_and_start",
                runtime: Arc::new(DockerRuntimeBuilder::from_env().build()?),
            },
            "podman" => Self {
                cli: "podman",
                title: "Podman",
                backend_method: "PodmanRuntime::create_and_start",
                runtime: Arc::new(PodmanRuntimeBuilder::from_env().build()?),
            },
            other => return Err(format!("unknown engine {other:?}: docker or podman").into()),
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let engine = Engine::open(
        &args
            .next()
            .ok_or("usage: engine_startup <docker|podman> [ROUNDS_FOR_ONE ROUNDS_FOR_TWENTY]")?,
    )?;
    let mut rounds = args.map(|a| a.parse::<usize>());
    let rounds_one = rounds.next().transpose()?.unwrap_or(10);
    let rounds_twenty = rounds.next().transpose()?.unwrap_or(3);
    let tag = std::process::id().to_string();
    let rt = engine.runtime.as_ref();
    rt.ensure_image(IMAGE, &|_| {}).await?;
    let selector = BTreeMap::from([(LABEL.to_owned(), tag.clone())]);

    // Warm both paths once (binaries and image in the page cache, API version negotiated).
    cli_batch(engine.cli, &tag, "cwarm", 1).await?;
    backend_batch(rt, &tag, "bwarm", 1).await?;
    cleanup(rt, &selector).await?;

    println!(
        "Container start: {} ({IMAGE}, host network), wall time per container",
        engine.title
    );
    println!(
        "{:>9} | {:<31} | {:>7} | {:>10} | {:>10}",
        "at once", "method", "samples", "median ms", "max ms"
    );
    let cli_method = format!("{} run -d (CLI)", engine.cli);
    let mut all_ok = true;
    for (n, rounds) in [(1, rounds_one), (20, rounds_twenty)] {
        let (mut cli, mut backend) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            cli.extend(cli_batch(engine.cli, &tag, &format!("c{n}-{round}"), n).await?);
            cleanup(rt, &selector).await?;
            backend.extend(backend_batch(rt, &tag, &format!("b{n}-{round}"), n).await?);
            cleanup(rt, &selector).await?;
        }
        let (cli_med, cli_max) = median_and_max(&mut cli);
        let (be_med, be_max) = median_and_max(&mut backend);
        row(n, &cli_method, cli.len(), cli_med, cli_max);
        row(n, engine.backend_method, backend.len(), be_med, be_max);
        all_ok &= be_med <= cli_med && be_max <= cli_max;
    }
    cleanup(rt, &selector).await?;
    let verdict = if all_ok {
        "is not slower than"
    } else {
        "is SLOWER than"
    };
    println!("backend {verdict} the CLI on median and max");
    Ok(())
}

/// Starts `n` containers with `<cli> run -d` at once; returns each one's wall time.
async fn cli_batch(cli: &str, tag: &str, round: &str, n: usize) -> Result<Vec<Duration>, Failure> {
    let start = Instant::now();
    let runs = (0..n).map(|i| async move {
        let out = tokio::process::Command::new(cli)
            .args(["run", "-d", "--network", "host", "--label"])
            .arg(format!("{LABEL}={tag}"))
            .arg("--name")
            .arg(format!("ltc-bench-{tag}-{round}-{i}"))
            .args([IMAGE, "sleep", "300"])
            .output()
            .await?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(format!("{cli} run: {stderr}").into());
        }
        Ok::<_, Failure>(start.elapsed())
    });
    join_all(runs).await.into_iter().collect()
}

/// Starts `n` containers through the backend at once; returns each one's wall time.
async fn backend_batch(
    rt: &dyn Runtime,
    tag: &str,
    round: &str,
    n: usize,
) -> Result<Vec<Duration>, Failure> {
    let specs: Vec<ContainerSpec> = (0..n)
        .map(|i| {
            let mut spec = ContainerSpec::new(format!("ltc-bench-{tag}-{round}-{i}"), IMAGE);
            spec.cmd = vec!["sleep".into(), "300".into()];
            spec.network = NetworkMode::Host;
            spec.labels.insert(LABEL.into(), tag.into());
            spec
        })
        .collect();
    let start = Instant::now();
    let runs = specs.iter().map(|spec| async move {
        rt.create_and_start(spec).await?;
        Ok::<_, Failure>(start.elapsed())
    });
    join_all(runs).await.into_iter().collect()
}

/// Removes every container of this run.
async fn cleanup(rt: &dyn Runtime, selector: &BTreeMap<String, String>) -> Result<(), Failure> {
    let found = rt.list(selector).await?;
    for result in join_all(found.iter().map(|c| rt.remove(&c.id))).await {
        result?;
    }
    Ok(())
}

/// Median and maximum in milliseconds (0 for no samples).
fn median_and_max(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = samples.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let median = if n % 2 == 1 {
        ms(samples[n / 2])
    } else {
        (ms(samples[n / 2 - 1]) + ms(samples[n / 2])) / 2.0
    };
    (median, ms(samples[n - 1]))
}

fn row(n: usize, method: &str, samples: usize, median: f64, max: f64) {
    println!("{n:>9} | {method:<31} | {samples:>7} | {median:>10.1} | {max:>10.1}");
}
