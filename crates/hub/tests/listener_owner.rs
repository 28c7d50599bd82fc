//! [`ProcListeners`] against real host-network containers on each engine of
//! `LTICONTAINER_TEST_ENGINES` (default `docker,podman`): a listener inside the container is the
//! container's; the same listener is foreign to another container id; a listener of this test
//! process (what another student's code on the host network looks like) is foreign to it.
//! A missing engine or image fails the test.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::Command;
use std::time::{Duration, Instant};

use lticontainer_hub::listener_owner::{ListenerCheck, ListenerOwnership, ProcListeners};

const IMAGE: &str = "lticontainer-test/busybox:latest";

fn engines() -> Vec<String> {
    std::env::var("LTICONTAINER_TEST_ENGINES")
        .unwrap_or_else(|_| "docker,podman".into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A host-network container, removed on drop.
struct Container {
    engine: String,
    id: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        // Podman's `rm -f` would wait 10 s for a SIGTERM that busybox as PID 1 ignores.
        let now: &[&str] = if self.engine == "podman" {
            &["-t", "0"]
        } else {
            &[]
        };
        let _ = Command::new(&self.engine)
            .args(["rm", "-f"])
            .args(now)
            .arg(&self.id)
            .output();
    }
}

fn run(engine: &str, args: &[&str]) -> String {
    let out = Command::new(engine)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {engine}: {e}"));
    assert!(
        out.status.success(),
        "{engine} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A free port on 127.0.0.1 right now.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts busybox's httpd on 127.0.0.1:`port` in a host-network container.
fn httpd(engine: &str, port: u16) -> Container {
    let id = run(
        engine,
        &[
            "run",
            "-d",
            "--network",
            "host",
            "--label",
            "lticontainer.testkit=ltc-hub-listener",
            IMAGE,
            "httpd",
            "-f",
            "-p",
            &format!("127.0.0.1:{port}"),
        ],
    );
    let full = run(engine, &["inspect", "--format", "{{.Id}}", &id]);
    Container {
        engine: engine.to_owned(),
        id: full,
    }
}

/// Waits until something other than "nothing listens" is the answer.
fn check_when_listening(addr: SocketAddr, id: &str) -> ListenerCheck {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let check = ProcListeners::default().check(addr, id);
        if check != ListenerCheck::NoListener || Instant::now() > deadline {
            return check;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[ignore = "needs Docker and Podman with the busybox test image (scripts/test-all runs it)"]
fn a_container_s_listener_is_its_own_and_nobody_else_s() {
    let engines = engines();
    assert!(
        !engines.is_empty(),
        "LTICONTAINER_TEST_ENGINES names no engine"
    );
    for engine in &engines {
        let port = free_port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let c = httpd(engine, port);
        let vouched = match check_when_listening(addr, &c.id) {
            ListenerCheck::Container(sockets) => sockets,
            other => panic!("{engine}: container {}: {other:?}", c.id),
        };
        assert!(!vouched.is_empty());
        assert_eq!(ProcListeners::default().sockets(addr), Ok(vouched.clone()));
        let other = "0".repeat(64);
        match ProcListeners::default().check(addr, &other) {
            ListenerCheck::Foreign(holders) => {
                assert!(
                    holders
                        .iter()
                        .all(|h| h.container.as_deref() == Some(&c.id)),
                    "{engine}: {holders:?}"
                );
            }
            other => panic!("{engine}: another container's id: {other:?}"),
        }
        drop(c);

        // The same port, now held on the host (by this test process): foreign to the container.
        let deadline = Instant::now() + Duration::from_secs(20);
        let listener = loop {
            match TcpListener::bind(addr) {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("{engine}: the port stays taken after the container: {e}"),
            }
        };
        assert_ne!(
            ProcListeners::default().sockets(addr),
            Ok(vouched),
            "{engine}: a new listener is new sockets"
        );
        let c2 = httpd(engine, free_port());
        match ProcListeners::default().check(addr, &c2.id) {
            ListenerCheck::Foreign(holders) => {
                assert!(
                    holders
                        .iter()
                        .any(|h| h.pid == std::process::id() && h.container.is_none()),
                    "{engine}: {holders:?}"
                );
            }
            other => panic!("{engine}: a host listener: {other:?}"),
        }
        drop(listener);
    }
}
