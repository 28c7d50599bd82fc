//! The Swarm runtime on a two-node swarm: a manager and a worker, each a Docker engine in a
//! network namespace of its own (`scripts/swarm-nodes.sh up` makes them, and `scripts/test-all`
//! runs it with `LTICONTAINER_SWARM_MANAGER=unix:///run/ltcs-m.sock`). By hand: `scripts/swarm-nodes.sh
//! up`, then `LTICONTAINER_SWARM_MANAGER=unix:///run/ltcs-m.sock cargo test -p lticontainer-docker
//! --test tests swarm_nodes -- --include-ignored`, then `scripts/swarm-nodes.sh down`.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use lticontainer_core::Runtime;
use lticontainer_core::container::ContainerEventKind;
use lticontainer_core::network::NetworkMode;
use lticontainer_core::testkit::{self, TESTKIT_LABEL};
use lticontainer_docker::{SwarmConfig, SwarmRuntime};

use crate::util::IMAGE;

/// The worker's address on the veth pair `scripts/swarm-nodes.sh` makes.
const WORKER_ADDR: &str = "10.241.7.2";

fn manager() -> SwarmRuntime {
    let host = std::env::var("LTICONTAINER_SWARM_MANAGER").expect(
        "LTICONTAINER_SWARM_MANAGER names the two-node swarm's manager (scripts/swarm-nodes.sh up)",
    );
    let mut config = SwarmConfig::default();
    config.host = Some(host);
    config.constraints = vec!["node.role==worker".to_owned()];
    config.events_poll_millis = 200;
    SwarmRuntime::from_config(config).expect("a runtime")
}

#[tokio::test]
#[ignore = "needs a two-node swarm (scripts/swarm-nodes.sh up) and LTICONTAINER_SWARM_MANAGER"]
async fn a_server_placed_on_the_worker_is_reached_at_the_workers_address_and_its_loss_is_seen() {
    let rt = manager();
    let prefix = format!("ltc-swarm-nodes-{}", std::process::id());
    testkit::cleanup(&rt, &prefix).await;
    let mut spec = testkit::sleeper(&prefix, "w", IMAGE);
    spec.network = NetworkMode::Host;
    let info = rt
        .create_and_start(&spec)
        .await
        .expect("placed on the worker");
    assert_eq!(
        info.address,
        Some(format!("{WORKER_ADDR}:18888").parse().expect("addr")),
        "the address of the node running the task"
    );
    let sel = BTreeMap::from([(TESTKIT_LABEL.to_owned(), prefix.clone())]);
    let mut events = rt.events(&sel).await.expect("subscribed");
    // The worker goes away (its engine is stopped by scripts/swarm-nodes.sh stop-worker, which
    // the test runs): the manager marks the node down, the task ends, the hub is told.
    let out = std::process::Command::new("scripts/swarm-nodes.sh")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .arg("stop-worker")
        .output()
        .expect("scripts/swarm-nodes.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = std::time::Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(ev) = events.next().await {
            let ev = ev.expect("an event");
            if ev.id == info.id && ev.kind.ends_container() {
                return ev;
            }
        }
        panic!("the event stream ended");
    })
    .await
    .expect("the lost node's server is reported within 120 s");
    eprintln!("node loss seen after {:?}: {ended:?}", started.elapsed());
    assert_eq!(ended.kind, ContainerEventKind::Died);
    let after = rt
        .inspect(&info.id)
        .await
        .expect("the service is still there");
    assert!(!after.state.is_running(), "{:?}", after.state);
    rt.remove(&info.id).await.expect("removed");
}
