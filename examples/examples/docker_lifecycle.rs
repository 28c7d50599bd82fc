//! Run with: cargo run -p lticontainer-examples --example docker_lifecycle
//!
//! Drives a container through its life on a real Docker engine: makes sure the image is there,
//! starts a container with limits and labels on the host network, finds it again by its labels,
//! reads its logs, stops and removes it. Needs Docker and the test image
//! (`scripts/setup-engines.sh docker && scripts/build-busybox-image.sh docker`); set
//! `DOCKER_HOST` to use another engine.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lticontainer_core::Runtime;
use lticontainer_core::container::{ContainerSpec, labels};
use lticontainer_docker::{DockerRuntimeBuilder, NetworkMode};

const IMAGE: &str = "lticontainer-test/busybox:latest";

#[tokio::main]
async fn main() -> lticontainer_core::Result<()> {
    let rt: Arc<dyn Runtime> = Arc::new(DockerRuntimeBuilder::from_env().build()?);
    rt.ensure_image(IMAGE, &|p| println!("pull: {}", p.status))
        .await?;

    let mut spec = ContainerSpec::new("lticontainer-example-alice", IMAGE);
    spec.cmd = vec![
        "sh".into(),
        "-c".into(),
        "echo hello from $NB_USER; sleep 300".into(),
    ];
    spec.env.insert("NB_USER".into(), "alice".into());
    spec.labels
        .insert(labels::MANAGED_BY.into(), "example".into());
    spec.labels.insert(labels::USER.into(), "alice".into());
    spec.limits.mem_limit = Some(128 << 20);
    spec.limits.cpu_limit = Some(0.5);
    spec.port = 18888;
    spec.network = NetworkMode::Host;
    rt.remove(&spec.name).await?; // a leftover from an interrupted run

    let info = rt.create_and_start(&spec).await?;
    println!(
        "started {} ({:?}) at {:?}",
        info.name, info.state, info.address
    );

    let mine = BTreeMap::from([(labels::MANAGED_BY.to_owned(), "example".to_owned())]);
    for c in rt.list(&mine).await? {
        println!("found by label: {} {:?}", c.name, c.state);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    print!("logs: {}", rt.logs(&info.id, 10).await?);

    rt.stop(&info.id, Duration::from_secs(1)).await?;
    println!("stopped: {:?}", rt.inspect(&info.id).await?.state);
    rt.remove(&info.id).await?;
    println!("removed");
    Ok(())
}
