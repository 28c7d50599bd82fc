//! Security defaults on real Docker: never privileged, Docker's default capabilities,
//! `no-new-privileges` unset (the notebook image's `start.sh` creates the user as root, then
//! drops to it); the check is the conformance suite's [`testkit::never_privileged`].

use lticontainer_core::testkit;

use crate::util::{IMAGE, prefix, runtime};

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn containers_are_unprivileged_with_the_default_capabilities() {
    testkit::never_privileged(&runtime(), IMAGE, &prefix("security")).await;
}
