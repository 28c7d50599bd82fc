//! A restarted hub finds its containers again by their labels, with state and address.

use std::collections::BTreeMap;
use std::time::Duration;

use lticontainer_core::Runtime;
use lticontainer_core::container::{ContainerState, labels};
use lticontainer_core::testkit::{self, TESTKIT_LABEL};

use crate::util::{IMAGE, prefix, runtime};

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn a_new_runtime_readopts_running_and_stopped_containers() {
    let p = prefix("readopt");
    let hub = format!("{p}-hub");
    {
        let first = runtime();
        testkit::cleanup(&first, &p).await;
        for user in ["ann", "bob"] {
            let mut spec = testkit::sleeper(&p, user, IMAGE);
            spec.labels.insert(labels::MANAGED_BY.into(), hub.clone());
            first.create_and_start(&spec).await.expect("starts");
        }
        // Someone else's container with the same test label but another hub is not adopted.
        let stranger = testkit::sleeper(&p, "eve", IMAGE);
        first.create_and_start(&stranger).await.expect("starts");
        // `sleep` as PID 1 ignores SIGTERM, so the stop ends with SIGKILL after the grace.
        first
            .stop(&format!("{p}-bob"), Duration::from_secs(1))
            .await
            .expect("stops");
    }

    let restarted = runtime();
    let mine = BTreeMap::from([
        (TESTKIT_LABEL.to_owned(), p.clone()),
        (labels::MANAGED_BY.to_owned(), hub.clone()),
    ]);
    let mut found = restarted.list(&mine).await.expect("lists");
    found.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, [format!("{p}-ann"), format!("{p}-bob")]);
    assert_eq!(found[0].state, ContainerState::Running);
    assert_eq!(
        found[0].address,
        Some("127.0.0.1:18888".parse().expect("addr"))
    );
    assert_eq!(
        found[0].labels.get(labels::USER).map(String::as_str),
        Some("ann")
    );
    assert_eq!(found[0].image, IMAGE);
    assert_eq!(found[1].state, ContainerState::Exited { code: Some(137) });
    let inspected = restarted.inspect(&found[1].id).await.expect("inspect");
    assert_eq!(inspected.state, found[1].state);
    assert_eq!(inspected.address, found[1].address);

    testkit::cleanup(&restarted, &p).await;
    let left = BTreeMap::from([(TESTKIT_LABEL.to_owned(), p.clone())]);
    assert!(restarted.list(&left).await.expect("lists").is_empty());
}
