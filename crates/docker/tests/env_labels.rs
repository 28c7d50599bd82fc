//! Environment, user, working directory, labels, address and logs as the container sees them.

use lticontainer_core::Runtime;
use lticontainer_core::container::{ContainerState, labels};
use lticontainer_core::testkit;

use crate::util::{prefix, run_to_exit, runtime, script_spec, wait_exit};

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn env_user_and_working_dir_reach_the_process() {
    let rt = runtime();
    let p = prefix("env");
    testkit::cleanup(&rt, &p).await;
    let mut spec = script_spec(
        &p,
        "env",
        r#"printf '%s|%s|' "$NB_USER" "$ODD"; id -u; pwd"#,
    );
    spec.env.insert("NB_USER".into(), "alice".into());
    spec.env.insert("ODD".into(), "a b=c $HOME 'q' 課題".into());
    spec.user = Some("65534:65534".into());
    spec.working_dir = Some("/tmp".into());
    let (code, out) = run_to_exit(&rt, &spec).await;
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out, "alice|a b=c $HOME 'q' 課題|65534\n/tmp\n");
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn labels_are_kept_and_the_port_label_gives_the_address() {
    let rt = runtime();
    let p = prefix("labels");
    testkit::cleanup(&rt, &p).await;
    let mut spec = testkit::sleeper(&p, "lab", crate::util::IMAGE);
    spec.labels.remove(labels::PORT);
    spec.labels.insert(labels::COURSE.into(), "course-7".into());
    spec.port = 18999;
    let info = rt.create_and_start(&spec).await.expect("starts");
    assert_eq!(info.address, Some("127.0.0.1:18999".parse().expect("addr")));
    let seen = rt.inspect(&spec.name).await.expect("inspect by name");
    assert_eq!(
        seen.labels.get(labels::COURSE).map(String::as_str),
        Some("course-7")
    );
    assert_eq!(
        seen.labels.get(labels::PORT).map(String::as_str),
        Some("18999")
    );
    assert_eq!(seen.image, crate::util::IMAGE);
    assert!(seen.state.is_running());
    testkit::cleanup(&rt, &p).await;
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn logs_return_the_tail_of_stdout_and_stderr() {
    let rt = runtime();
    let p = prefix("logs");
    testkit::cleanup(&rt, &p).await;
    let spec = script_spec(
        &p,
        "logs",
        "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; exit 3",
    );
    let info = rt.create_and_start(&spec).await.expect("starts");
    assert_eq!(wait_exit(&rt, &info.id).await, Some(3));
    let all = rt.logs(&info.id, 100).await.expect("logs");
    for i in 1..=5 {
        assert!(all.contains(&format!("out{i}\n")), "{all}");
        assert!(all.contains(&format!("err{i}\n")), "{all}");
    }
    let tail = rt.logs(&info.id, 2).await.expect("logs");
    assert_eq!(tail.lines().count(), 2, "{tail:?}");
    assert!(tail.contains("out5") || tail.contains("err5"), "{tail:?}");
    assert!(!tail.contains("out1"), "{tail:?}");
    assert_eq!(
        rt.inspect(&info.id).await.expect("inspect").state,
        ContainerState::Exited { code: Some(3) }
    );
    testkit::cleanup(&rt, &p).await;
}
