//! Security defaults: never privileged, Docker's default capabilities, `no-new-privileges` unset
//! (the notebook image's `start.sh` creates the user as root, then drops to it with `sudo`).

use lticontainer_core::testkit;

use crate::util::{prefix, run_to_exit, runtime, script_spec};

const CAP_CHOWN: u32 = 0;
const CAP_DAC_OVERRIDE: u32 = 1;
const CAP_FOWNER: u32 = 3;
const CAP_SETGID: u32 = 6;
const CAP_SETUID: u32 = 7;
const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_MODULE: u32 = 16;
const CAP_SYS_ADMIN: u32 = 21;

fn field<'a>(status: &'a str, name: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {name} in {status}"))
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn containers_are_unprivileged_with_the_default_capabilities() {
    let rt = runtime();
    let p = prefix("security");
    testkit::cleanup(&rt, &p).await;
    let mut spec = script_spec(&p, "caps", "cat /proc/self/status");
    spec.user = Some("root".into());
    let (code, status) = run_to_exit(&rt, &spec).await;
    assert_eq!(code, Some(0), "{status}");
    let caps = u64::from_str_radix(field(&status, "CapEff"), 16).expect("hex capability set");
    let has = |bit: u32| caps & (1 << bit) != 0;
    for (name, bit) in [
        ("CHOWN", CAP_CHOWN),
        ("DAC_OVERRIDE", CAP_DAC_OVERRIDE),
        ("FOWNER", CAP_FOWNER),
        ("SETGID", CAP_SETGID),
        ("SETUID", CAP_SETUID),
    ] {
        assert!(has(bit), "start.sh needs CAP_{name}: {caps:#x}");
    }
    for (name, bit) in [
        ("NET_ADMIN", CAP_NET_ADMIN),
        ("SYS_MODULE", CAP_SYS_MODULE),
        ("SYS_ADMIN", CAP_SYS_ADMIN),
    ] {
        assert!(
            !has(bit),
            "a privileged capability CAP_{name} is set: {caps:#x}"
        );
    }
    assert_eq!(
        field(&status, "NoNewPrivs"),
        "0",
        "sudo needs setuid to work"
    );
}
