//! CPU and memory limits reach the container's cgroup (v1, or v2 when the host uses it).

use lticontainer_core::testkit;

use crate::util::{prefix, run_to_exit, runtime, script_spec};

/// Prints `key=value` lines for the limits, from cgroup v1 files or their v2 counterparts.
const READ_CGROUP: &str = r#"
if [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
  echo v=1
  echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)
  echo soft=$(cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes)
  echo quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)
  echo period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
  echo shares=$(cat /sys/fs/cgroup/cpu/cpu.shares)
else
  echo v=2
  echo mem=$(cat /sys/fs/cgroup/memory.max)
  echo soft=$(cat /sys/fs/cgroup/memory.low)
  set -- $(cat /sys/fs/cgroup/cpu.max)
  echo quota=$1
  echo period=$2
fi
"#;

fn value<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key}= in {out:?}"))
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn limits_and_reservations_are_applied() {
    let rt = runtime();
    let p = prefix("limits");
    testkit::cleanup(&rt, &p).await;
    let mut spec = script_spec(&p, "limits", READ_CGROUP);
    spec.limits.mem_limit = Some(64 << 20);
    spec.limits.mem_guarantee = Some(32 << 20);
    spec.limits.cpu_limit = Some(0.5);
    spec.limits.cpu_guarantee = Some(0.25);
    let (code, out) = run_to_exit(&rt, &spec).await;
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(value(&out, "mem"), (64u64 << 20).to_string(), "{out}");
    assert_eq!(value(&out, "soft"), (32u64 << 20).to_string(), "{out}");
    assert_eq!(value(&out, "quota"), "50000", "{out}");
    assert_eq!(value(&out, "period"), "100000", "{out}");
    if value(&out, "v") == "1" {
        assert_eq!(value(&out, "shares"), "256", "{out}");
    }
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn no_limits_means_unlimited() {
    let rt = runtime();
    let p = prefix("nolimits");
    testkit::cleanup(&rt, &p).await;
    let (code, out) = run_to_exit(&rt, &script_spec(&p, "free", READ_CGROUP)).await;
    assert_eq!(code, Some(0), "{out}");
    if value(&out, "v") == "1" {
        assert_eq!(value(&out, "quota"), "-1", "{out}");
        // The kernel's "no limit" is a huge page-aligned number.
        let mem: u64 = value(&out, "mem").parse().expect("a number");
        assert!(mem > 1 << 50, "{out}");
    } else {
        assert_eq!(value(&out, "mem"), "max", "{out}");
        assert_eq!(value(&out, "quota"), "max", "{out}");
    }
}
