//! `gen-config`, `check-config` and `serve`, run as processes.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_lticontainer");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn write_config(dir: &Path, body: &str) -> String {
    let path = dir.join("lticontainer.toml");
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

#[test]
fn generated_config_passes_check_config() {
    let out = run(&[
        "gen-config",
        "--consumer-key",
        "moodle",
        "--consumer-secret",
        "0123abcd",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("consumers = { \"moodle\" = \"0123abcd\" }"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &text);
    let out = run(&["check-config", "--config", &path]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("127.0.0.1:8000") && stdout.contains("moodle"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("0123abcd"),
        "check-config never prints secrets: {stdout}"
    );
}

#[test]
fn bad_config_fails_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        "[hub]\nport_min = 9\nport_max = 5\n[lti]\nconsumers = { k = \"s\" }\n",
    );
    for cmd in ["check-config", "serve"] {
        let out = run(&[cmd, "--config", &path]);
        assert!(!out.status.success(), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("port_min") && err.contains(&path),
            "{cmd}: {err}"
        );
    }
    let out = run(&["check-config", "--config", "/nonexistent/lticontainer.toml"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the config file"));
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `serve` process on an engine that is down (its socket refuses connections), with
/// `hub_extra` added to `[hub]`; its config path, port, servers' API port and state directory,
/// once it answers `reply` to `GET /hub/api/`.
struct Served {
    child: std::process::Child,
    config: String,
    port: u16,
    api_port: u16,
    state: std::path::PathBuf,
    reply: String,
}

fn serve(dir: &Path, hub_extra: &str) -> Served {
    let port = free_port();
    let api_port = free_port();
    let state = dir.join("state");
    // A socket file nobody listens on: the engine is down (connections are refused).
    let sock = dir.join("no-engine.sock");
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    let config = write_config(
        dir,
        &format!(
            "engine = \"docker\"\n[hub]\nbind = \"127.0.0.1:{port}\"\nstate_dir = \"{}\"\n\
             container_api_port = {api_port}\n{hub_extra}[lti]\nconsumers = {{ k = \"s\" }}\n[docker]\nhost = \"unix://{}/no-engine.sock\"\n\
             request_timeout_secs = 2\n",
            state.display(),
            dir.display()
        ),
    );
    let mut child = Command::new(BIN)
        .args(["serve", "--config", &config])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let reply = loop {
        if let Some(r) = http_get(port, "/hub/api/") {
            break r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not answer"
        );
        assert!(child.try_wait().unwrap().is_none(), "serve exited early");
        std::thread::sleep(Duration::from_millis(50));
    };
    Served {
        child,
        config,
        port,
        api_port,
        state,
        reply,
    }
}

/// Sends SIGTERM and waits for the exit; its status and log.
fn terminate(mut child: std::process::Child) -> (std::process::ExitStatus, String) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    (exit, log)
}

/// `serve` comes up (even when the engine is down: it logs and serves), keeps its state
/// in the state directory, and stops cleanly on SIGTERM.
#[test]
fn serve_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let Served {
        child,
        port,
        api_port,
        state,
        reply,
        ..
    } = serve(dir.path(), "");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"version\""), "{reply}");
    // Isolated networking (the default): the servers' hub API listens, but a connection from
    // loopback (not from a server's network) is closed without an answer.
    let mut api = TcpStream::connect(("127.0.0.1", api_port)).expect("the servers' API listens");
    api.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = write!(api, "GET /hub/api/ HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = String::new();
    let _ = api.read_to_string(&mut answer);
    assert_eq!(answer, "", "a loopback caller gets no answer");
    let page = http_get(port, "/user/alice/lab").unwrap();
    assert!(
        page.starts_with("HTTP/1.1 401"),
        "no session, no server: {page}"
    );

    use std::os::unix::fs::PermissionsExt;
    let key = std::fs::metadata(state.join("session.key")).unwrap();
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
    assert!(state.join("state.sqlite").exists());

    let (exit, log) = terminate(child);
    assert!(exit.success(), "{log}");
    assert!(
        log.contains("cannot re-adopt"),
        "the unreachable engine is logged: {log}"
    );
}

fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The admin subcommands against a running `serve` (its engine down, so no server runs): the
/// token read from the configuration, an unknown user, a wrong token, no token, a hub down.
#[test]
fn admin_subcommands_talk_to_the_running_hub() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), "api_token = \"cli-admin-token-0123\"\n");
    let config = served.config.clone();
    let admin = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--config", &config]);
        Command::new(BIN)
            .args(all)
            .env_remove("LTICONTAINER_API_TOKEN")
            .output()
            .unwrap()
    };

    let out = admin(&["users"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        stdout_of(&out),
        "NAME  SERVER    STARTED                      LAST ACTIVITY\n0 users\n"
    );
    let out = admin(&["users", "--json"]);
    assert_eq!(stdout_of(&out), "[]\n");
    let out = admin(&["cull"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "no server over a limit\n");
    let out = admin(&["stop", "nobody"]);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("the hub knows no user named \"nobody\""),
        "{}",
        stderr_of(&out)
    );
    let out = admin(&["user", "nobody", "--token", "wrong-token-0123"]);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("refused the admin token (403)"),
        "{}",
        stderr_of(&out)
    );

    let (exit, log) = terminate(served.child);
    assert!(exit.success(), "{log}");
    assert!(
        log.contains("admin API: culled now"),
        "each call is logged: {log}"
    );
    let out = admin(&["users"]);
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!(
            "cannot reach the hub at http://127.0.0.1:{}",
            served.port
        )) && err.contains("Is it running"),
        "{err}"
    );

    // Without a token the admin API is off; the command says where to set one.
    let bare = write_config(dir.path(), "[lti]\nconsumers = { k = \"s\" }\n");
    let out = Command::new(BIN)
        .args(["users", "--config", &bare])
        .env_remove("LTICONTAINER_API_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("has no [hub] api_token"),
        "{}",
        stderr_of(&out)
    );
}
