//! Run with: cargo run --release -p lticontainer-podman --example engine_startup
//!
//! Compares starting containers with the Podman CLI (`podman run -d --network host`) and with
//! this backend (`create_and_start` over the libpod API socket), 1 and 20 at once, and prints
//! the median and maximum wall time per container side by side, in the same table as the Docker
//! backend's `engine_startup` example. Rounds alternate between the two so both see the same
//! engine state. Every container carries the label `lticontainer.bench=<pid>` and is removed
//! after its round. Needs the Podman service and the test image
//! (`scripts/setup-engines.sh podman && scripts/build-busybox-image.sh podman`).
//!
//! Optional arguments: `ROUNDS_FOR_ONE ROUNDS_FOR_TWENTY` (default `10 3`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use lticontainer_core::Runtime;
use lticontainer_core::container::ContainerSpec;
use lticontainer_podman::{NetworkMode, PodmanRuntime, PodmanRuntimeBuilder};

const IMAGE: &str = "lticontainer-test/busybox:latest";
const LABEL: &str = "lticontainer.bench";

type Failure = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let rounds_one = args.next().transpose()?.unwrap_or(10);
    let rounds_twenty = args.next().transpose()?.unwrap_or(3);
    let tag = std::process::id().to_string();
    let rt = PodmanRuntimeBuilder::from_env()
        .with_network(NetworkMode::Host)
        .build()?;
    rt.ensure_image(IMAGE, &|_| {}).await?;
    let selector = BTreeMap::from([(LABEL.to_owned(), tag.clone())]);

    // Warm both paths once (binaries and image layers in the page cache).
    cli_batch(&tag, "cwarm", 1).await?;
    backend_batch(&rt, &tag, "bwarm", 1).await?;
    cleanup(&rt, &selector).await?;

    println!("Container start: Podman ({IMAGE}, host network), wall time per container");
    println!(
        "{:>9} | {:<31} | {:>7} | {:>10} | {:>10}",
        "at once", "method", "samples", "median ms", "max ms"
    );
    let mut all_ok = true;
    for (n, rounds) in [(1, rounds_one), (20, rounds_twenty)] {
        let (mut cli, mut backend) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            cli.extend(cli_batch(&tag, &format!("c{n}-{round}"), n).await?);
            cleanup(&rt, &selector).await?;
            backend.extend(backend_batch(&rt, &tag, &format!("b{n}-{round}"), n).await?);
            cleanup(&rt, &selector).await?;
        }
        let (cli_med, cli_max) = median_and_max(&mut cli);
        let (be_med, be_max) = median_and_max(&mut backend);
        println!(
            "{n:>9} | {:<31} | {:>7} | {cli_med:>10.1} | {cli_max:>10.1}",
            "podman run -d (CLI)",
            cli.len()
        );
        println!(
            "{n:>9} | {:<31} | {:>7} | {be_med:>10.1} | {be_max:>10.1}",
            "PodmanRuntime::create_and_start",
            backend.len()
        );
        all_ok &= be_med <= cli_med && be_max <= cli_max;
    }
    cleanup(&rt, &selector).await?;
    let verdict = if all_ok {
        "is not slower than"
    } else {
        "is SLOWER than"
    };
    println!("backend {verdict} the CLI on median and max");
    Ok(())
}

/// Starts `n` containers with `podman run -d` at once; returns each one's wall time.
async fn cli_batch(tag: &str, round: &str, n: usize) -> Result<Vec<Duration>, Failure> {
    let start = Instant::now();
    let runs = (0..n).map(|i| async move {
        let out = tokio::process::Command::new("podman")
            .args(["run", "-d", "--network", "host", "--label"])
            .arg(format!("{LABEL}={tag}"))
            .arg("--name")
            .arg(format!("ltc-pmbench-{tag}-{round}-{i}"))
            .args([IMAGE, "sleep", "300"])
            .output()
            .await?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(format!("podman run: {stderr}").into());
        }
        Ok::<_, Failure>(start.elapsed())
    });
    join_all(runs).await.into_iter().collect()
}

/// Starts `n` containers through the backend at once; returns each one's wall time.
async fn backend_batch(
    rt: &PodmanRuntime,
    tag: &str,
    round: &str,
    n: usize,
) -> Result<Vec<Duration>, Failure> {
    let specs: Vec<ContainerSpec> = (0..n)
        .map(|i| {
            let mut spec = ContainerSpec::new(format!("ltc-pmbench-{tag}-{round}-{i}"), IMAGE);
            spec.cmd = vec!["sleep".into(), "300".into()];
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
async fn cleanup(rt: &PodmanRuntime, selector: &BTreeMap<String, String>) -> Result<(), Failure> {
    let found = rt.list(selector).await?;
    for result in join_all(found.iter().map(|c| rt.remove(&c.id))).await {
        result?;
    }
    Ok(())
}

/// Median and maximum in milliseconds (0 for no samples).
fn median_and_max(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    match &*samples {
        [] => (0.0, 0.0),
        [.., last] => {
            let mid = samples.len() / 2;
            let median = if samples.len() % 2 == 1 {
                ms(&samples[mid])
            } else {
                (ms(&samples[mid - 1]) + ms(&samples[mid])) / 2.0
            };
            (median, ms(last))
        }
    }
}
