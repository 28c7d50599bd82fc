//! Security defaults on real Podman: never privileged, Podman's default capabilities,
//! `no-new-privileges` unset (the notebook image's `start.sh` creates the user as root, then
//! drops to it); the check is the conformance suite's [`testkit::never_privileged`].

use lticontainer_core::testkit;

use crate::util::{IMAGE, runtime};

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn containers_are_unprivileged_with_the_default_capabilities() {
    testkit::never_privileged(&runtime(), IMAGE, "ltc-pm-security").await;
}
