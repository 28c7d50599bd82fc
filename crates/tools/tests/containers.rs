//! Real containers of the kit image (`lticontainer-test/jupyter-kit:latest`, built by
//! `scripts/build-kit-image.sh`) in Docker and Podman: a teacher and two students share a task, a
//! submit and personal volumes; every check runs inside, as the user concerned (`exec -u`).
//!
//! The engines come from `LTICONTAINER_TEST_ENGINES` (default `docker,podman`); a missing engine
//! or image fails the test. Containers use host networking and run `sleep`, never a server.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lticontainer_tools::notebook::{self, Notebook};
use serde_json::Value;

use crate::util::{assert_expected, fixtures};

const IMAGE: &str = "lticontainer-test/jupyter-kit:latest";
const GID: u32 = 3000;
const THRGID: u32 = 7000;

fn engines() -> Vec<String> {
    std::env::var("LTICONTAINER_TEST_ENGINES")
        .unwrap_or_else(|_| "docker,podman".into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// One engine's containers and volumes, removed on drop.
struct Scene {
    engine: String,
    prefix: String,
    containers: Vec<String>,
    volumes: Vec<String>,
    root: tempfile::TempDir,
}

impl Scene {
    fn new(engine: &str) -> Self {
        let o = Command::new(engine)
            .args(["image", "inspect", IMAGE])
            .output();
        match o {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!(
                "{engine} has no {IMAGE} (run scripts/build-kit-image.sh): {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => panic!("cannot run {engine}: {e}"),
        }
        Self {
            engine: engine.to_owned(),
            prefix: format!("lticontainer-kit-it-{}-{}", engine, std::process::id()),
            containers: Vec::new(),
            volumes: Vec::new(),
            root: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new(&self.engine)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{} {args:?}: {e}", self.engine))
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.cmd(args);
        assert!(
            o.status.success(),
            "{} {args:?} failed: {}",
            self.engine,
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn volume(&mut self, suffix: &str) -> String {
        let name = format!("{}-{suffix}", self.prefix);
        self.ok(&["volume", "create", &name]);
        self.volumes.push(name.clone());
        name
    }

    /// A before-notebook.d with a sourced and an executed hook, each leaving a trace in /tmp.
    fn hooks(&self) -> PathBuf {
        let dir = self.root.path().join("hooks");
        if !dir.exists() {
            fs::create_dir(&dir).expect("mkdir hooks");
            fs::write(
                dir.join("10-sourced.sh"),
                "echo \"$NB_USER $(id -u)\" > /tmp/hook-sourced\n",
            )
            .expect("write hook");
            let exe = dir.join("20-executed");
            fs::write(&exe, "#!/bin/sh\nid -u > /tmp/hook-executed\n").expect("write hook");
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).expect("chmod hook");
        }
        dir
    }

    /// The host directory that becomes `user`'s home.
    fn home(&self, user: &str) -> PathBuf {
        self.root.path().join(user)
    }

    /// Starts `user`'s container and waits until start.sh has handed over to the command.
    fn start(&mut self, user: &User, mounts: &[(String, String, bool)], command: &str) -> String {
        let name = format!("{}-{}", self.prefix, user.name.replace('_', "-"));
        let home = self.home(user.name);
        fs::create_dir_all(&home).expect("mkdir home");
        let container_home = format!("/home/course/{}", user.name);
        let mut args: Vec<String> = [
            "run",
            "-d",
            "--network",
            "host",
            "--user",
            "root",
            "--name",
            &name,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let env = [
            ("NB_USER", user.name.to_owned()),
            ("NB_UID", user.uid.to_string()),
            ("NB_GID", GID.to_string()),
            ("NB_GROUP", "course".into()),
            ("NB_DIR", container_home.clone()),
            (
                "NB_TEACHER",
                if user.teacher {
                    user.name.into()
                } else {
                    String::new()
                },
            ),
            ("NB_THRGID", THRGID.to_string()),
            ("NB_THRGROUP", "TEACHER".into()),
            (
                "NB_UMASK",
                if user.teacher {
                    "0033".into()
                } else {
                    "0037".into()
                },
            ),
            ("NB_VOLUMES", user.volumes.clone()),
            ("NB_SUBMITS", ".volumes/lms_sub_t_1_h:-提出".into()),
            ("NB_PRSNALS", ".volumes/lms_prs_t_1_h:-Mine".into()),
            ("GRANT_SUDO", "no".into()),
        ];
        for (k, v) in env {
            args.push("-e".into());
            args.push(format!("{k}={v}"));
        }
        args.push("-v".into());
        args.push(format!("{}:{container_home}", home.display()));
        for (volume, phys, read_only) in mounts {
            args.push("-v".into());
            let ro = if *read_only { ":ro" } else { "" };
            args.push(format!(
                "{volume}:{container_home}/jupyter/works/.volumes/{phys}{ro}"
            ));
        }
        args.push("-v".into());
        args.push(format!(
            "{}:/usr/local/bin/before-notebook.d:ro",
            self.hooks().display()
        ));
        args.push(IMAGE.into());
        args.extend(["sh".into(), "-c".into(), command.into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ok(&args);
        self.containers.push(name.clone());
        self.wait_started(&name, 1);
        name
    }

    /// Waits until start.sh of `name` has handed over to the command `starts` times in all.
    fn wait_started(&self, name: &str, starts: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let logs = self.cmd(&["logs", name]);
            let text = String::from_utf8_lossy(&logs.stderr).into_owned()
                + &String::from_utf8_lossy(&logs.stdout);
            if text.matches("start.sh: exec as").count() >= starts {
                return;
            }
            let state = self.ok(&["inspect", "--format", "{{.State.Running}}", name]);
            assert!(
                state.trim() == "true" && Instant::now() < deadline,
                "{name} did not start (running: {}): {text}",
                state.trim()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Runs `script` with sh as `user` in `container`, feeding `stdin`.
    fn exec(&self, container: &str, user: &str, script: &str, stdin: &[u8]) -> Output {
        // A Jupyter terminal inherits HOME from start.sh; `exec` gets the image's, so set it.
        let home = if user == "root" {
            "/root".to_owned()
        } else {
            format!("/home/course/{user}")
        };
        let home = format!("HOME={home}");
        let mut child = Command::new(&self.engine)
            .args(["exec", "-i", "-u", user, "-e", &home, "-w", "/", container])
            .args(["sh", "-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("exec");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("write stdin");
        child.wait_with_output().expect("exec output")
    }

    /// Runs `script` as `user`, asserting success, and returns stdout.
    fn run(&self, container: &str, user: &str, script: &str) -> String {
        let o = self.exec(container, user, script, b"");
        assert!(
            o.status.success(),
            "[{}] as {user}: `{script}` failed ({}): {}{}",
            self.engine,
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Asserts that `script` fails as `user`.
    fn denied(&self, container: &str, user: &str, script: &str) {
        let o = self.exec(container, user, script, b"");
        assert!(
            !o.status.success(),
            "[{}] as {user}: `{script}` should have failed: {}",
            self.engine,
            String::from_utf8_lossy(&o.stdout)
        );
    }

    /// Writes `bytes` to `path` as `user`.
    fn put(&self, container: &str, user: &str, path: &str, bytes: &[u8]) {
        let o = self.exec(container, user, &format!("cat > '{path}'"), bytes);
        assert!(
            o.status.success(),
            "[{}] writing {path} as {user}: {}",
            self.engine,
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = Command::new(&self.engine).args(["rm", "-f", c]).output();
        }
        for v in &self.volumes {
            let _ = Command::new(&self.engine)
                .args(["volume", "rm", "-f", v])
                .output();
        }
    }
}

struct User {
    name: &'static str,
    uid: u32,
    teacher: bool,
    volumes: String,
}

/// The works directory of `user` inside the container.
fn works(user: &str) -> String {
    format!("/home/course/{user}/jupyter/works")
}

/// A free loopback port (bound and released: the server started next takes it).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    l.local_addr().expect("local addr").port()
}

/// Starts a Jupyter server as `user` on 127.0.0.1 in `container` and loads `path` (relative to
/// the home) through the contents API, as JupyterLab does: it must come back as a notebook with
/// no validation message.
fn jupyter_opens(s: &Scene, container: &str, user: &str, path: &str) {
    let port = free_port();
    let script = format!(
        r#"cd "$HOME" && jupyter-server --ServerApp.ip=127.0.0.1 --ServerApp.port={port} \
  --ServerApp.port_retries=0 --IdentityProvider.token=kit-test --ServerApp.open_browser=False \
  --ContentsManager.allow_hidden=True >/tmp/jupyter-server.log 2>&1 &
python3 - <<'EOF'
import json, time, urllib.request
url = "http://127.0.0.1:{port}/api/contents/{path}?content=1&type=notebook"
req = urllib.request.Request(url, headers={{"Authorization": "token kit-test"}})
for _ in range(600):
    try:
        model = json.load(urllib.request.urlopen(req, timeout=5))
        break
    except OSError:
        time.sleep(0.2)
else:
    raise SystemExit("the Jupyter server did not answer: " + open("/tmp/jupyter-server.log").read())
print(model["type"], len(model["content"]["cells"]), model.get("message"))
EOF"#
    );
    let out = s.run(container, user, &script);
    assert_eq!(out.trim(), "notebook 11 None", "[{}] {out}", s.engine);
}

/// Types scores into the score cells of a grading notebook's text.
fn grade(text: &str, scores: &[(&str, &str)]) -> Vec<u8> {
    let mut nb = Notebook::parse(text).expect("grading notebook");
    for cell in nb.cells_mut() {
        let user = notebook::tags(cell)
            .find_map(|t| t.strip_prefix("user: "))
            .map(str::to_owned);
        if let Some(user) = user
            && let Some((_, s)) = scores.iter().find(|(u, _)| *u == user)
        {
            cell["source"] = Value::String((*s).to_owned());
        }
    }
    nb.to_json().into_bytes()
}

fn scenario(engine: &str) {
    let mut s = Scene::new(engine);
    let task = s.volume("task");
    let answers = s.volume("answers");
    let sub = s.volume("sub");
    let mounts = |sub_ro: bool| {
        vec![
            (task.clone(), "lms_vol_t_1_h".to_owned(), false),
            (answers.clone(), "lms_vol_ans_1_h".to_owned(), false),
            (sub.clone(), "lms_sub_t_1_h".to_owned(), sub_ro),
        ]
    };
    let vols = ".volumes/lms_vol_t_1_h:Task .volumes/lms_vol_ans_1_h:-Answers";
    let hold = "umask > \"$HOME/.umask-seen\"; exec sleep infinity";

    // The teacher starts first and deploys the tagged task notebook.
    let teacher = User {
        name: "tea_1",
        uid: 3001,
        teacher: true,
        volumes: vols.into(),
    };
    let t = s.start(&teacher, &mounts(false), hold);
    let raw = fs::read(fixtures().join("task_raw.ipynb")).expect("fixture");
    s.run(&t, "tea_1", "mkdir /tmp/deploy");
    s.put(&t, "tea_1", "/tmp/deploy/task.ipynb", &raw);
    let tw = works("tea_1");
    s.run(
        &t,
        "tea_1",
        &format!("cd /tmp/deploy && ipynb_deploy {tw}/Task"),
    );
    s.run(&t, "tea_1", &format!("echo secret > {tw}/Answers/key.txt"));
    assert_eq!(
        s.run(&t, "tea_1", "id -Gn")
            .split_whitespace()
            .filter(|g| *g == "TEACHER")
            .count(),
        1
    );
    s.run(&t, "tea_1", "sudo -n true");
    assert_eq!(
        s.run(&t, "tea_1", "cat \"$HOME/.umask-seen\"").trim(),
        "0033"
    );
    let modes = s.run(
        &t,
        "root",
        &format!("stat -c '%a %U %G' {tw}/.volumes/lms_vol_t_1_h {tw}/.volumes/lms_sub_t_1_h"),
    );
    assert_eq!(
        modes, "2775 tea_1 TEACHER\n3773 tea_1 TEACHER\n",
        "[{engine}]"
    );

    // Two students, one of them with hostile volume entries and a planted link in their home.
    let hostile = format!(
        "{vols} .volumes/../../etc:evil .volumes/lms_vol_t_1_h:a/b .volumes/lms_vol_t_1_h:.. \
         /etc:abs .volumes/lms_vol_t_1_h:$(touch${{IFS}}/tmp/pwned) *:*"
    );
    let alice = User {
        name: "alice",
        uid: 3002,
        teacher: false,
        volumes: hostile,
    };
    let planted = s.home("alice").join("jupyter/works/.volumes");
    fs::create_dir_all(&planted).expect("mkdir");
    std::os::unix::fs::symlink("/etc", planted.join("lms_prs_t_1_h")).expect("plant link");
    let a = s.start(&alice, &mounts(false), hold);
    let bob = User {
        name: "bob_2",
        uid: 3003,
        teacher: false,
        volumes: vols.into(),
    };
    let b = s.start(&bob, &mounts(false), hold);
    let (aw, bw) = (works("alice"), works("bob_2"));

    // Links: task and submit for everyone, the teacher-only ones for the teacher only.
    for (c, u, w) in [(&a, "alice", &aw), (&b, "bob_2", &bw)] {
        s.run(
            c,
            u,
            &format!("test -L {w}/Task && test -L {w}/提出 && test -L {w}/.volumes/Task"),
        );
        s.denied(c, u, &format!("test -e {w}/Answers || test -e {w}/Mine"));
        assert_eq!(s.run(c, u, "cat \"$HOME/.umask-seen\"").trim(), "0037");
        s.denied(c, u, "sudo -n true");
    }
    s.run(
        &t,
        "tea_1",
        &format!("test -L {tw}/Answers && test -L {tw}/Mine && test -L {tw}/提出"),
    );
    // The hostile entries made nothing, ran nothing, and the planted link was moved aside.
    s.run(&a, "root", "test ! -e /tmp/pwned");
    let listing = s.run(&a, "alice", &format!("ls -A {aw} {aw}/.volumes"));
    for bad in ["evil", "abs", "a", "*"] {
        assert!(
            !listing.lines().any(|l| l == bad),
            "[{engine}] {bad} linked: {listing}"
        );
    }
    assert_eq!(s.run(&a, "root", "stat -c %U /etc").trim(), "root");
    s.run(
        &a,
        "alice",
        &format!("test -d {aw}/.volumes/lms_prs_t_1_h && test ! -L {aw}/.volumes/lms_prs_t_1_h"),
    );
    let log = s.run(&a, "alice", "cat \"$HOME/.ltictr.root.log\"");
    assert!(
        log.matches("rejected volume entry").count() >= 5,
        "[{engine}] {log}"
    );
    assert!(log.contains("moved the symbolic link"), "[{engine}] {log}");

    // Task volume: students read, cannot write; the teacher writes.
    s.run(
        &a,
        "alice",
        &format!("grep -q codenum:4 {aw}/Task/task.ipynb"),
    );
    s.denied(&a, "alice", &format!("touch {aw}/Task/mine.txt"));
    s.denied(
        &b,
        "bob_2",
        &format!("rm -f {bw}/Task/task.ipynb; test ! -e {bw}/Task/task.ipynb"),
    );
    // Personal volume: seeded from the task volume, tagged, private.
    let seeded = format!("{aw}/.volumes/lms_prs_t_1_h/task.ipynb");
    assert_eq!(
        s.run(&a, "alice", &format!("stat -c '%U' {seeded}")).trim(),
        "alice"
    );
    s.run(
        &a,
        "alice",
        &format!("grep -q '\"filename:task.ipynb\"' {seeded} && grep -q '\"codenum:4\"' {seeded}"),
    );
    let mode = s.run(
        &a,
        "alice",
        &format!("stat -c %a {aw}/.volumes/lms_prs_t_1_h"),
    );
    assert_eq!(mode.trim(), "700");

    // Submissions.
    let put_answer = |c: &str, u: &str, w: &str, fixture: &str| {
        let bytes = fs::read(fixtures().join("submissions").join(fixture)).expect("fixture");
        s.put(
            c,
            u,
            &format!("{w}/.volumes/lms_prs_t_1_h/task.ipynb"),
            &bytes,
        );
    };
    put_answer(&a, "alice", &aw, "alice_task.ipynb");
    assert_eq!(
        s.run(&a, "alice", "cd /tmp && submit"),
        "task.ipynb done.\n"
    );
    assert_eq!(
        s.run(&a, "alice", "submit task.ipynb"),
        "WARNING: No Changes Detected for \"task.ipynb\" !!!\n"
    );
    put_answer(&b, "bob_2", &bw, "bob_2_task.ipynb");
    assert_eq!(s.run(&b, "bob_2", "submit"), "task.ipynb done.\n");
    let box_b = format!("{bw}/提出");
    s.denied(&b, "bob_2", &format!("ls {box_b}/"));
    s.denied(&b, "bob_2", &format!("cat {box_b}/alice_task.ipynb"));
    s.denied(
        &b,
        "bob_2",
        &format!("rm -f {box_b}/alice_task.ipynb; test ! -e {box_b}/alice_task.ipynb"),
    );
    s.denied(&b, "bob_2", &format!("echo x > {box_b}/alice_task.ipynb"));
    let log = s.run(&a, "alice", &format!("cat {aw}/.submits.log"));
    assert_eq!(
        log.matches("alice submits \"task.ipynb\" to \"提出\"")
            .count(),
        2,
        "{log}"
    );
    assert!(log.contains("WARNING: No Changes Detected"), "{log}");
    let tbox = format!("{tw}/提出");
    let listed = s.run(&t, "tea_1", &format!("ls {tbox}"));
    assert_eq!(listed, "alice_task.ipynb\nbob_2_task.ipynb\n", "[{engine}]");
    let perms = s.run(
        &t,
        "tea_1",
        &format!("stat -c '%a %u %G' {tbox}/alice_task.ipynb"),
    );
    assert_eq!(perms.trim(), "640 3002 TEACHER");
    let submitted = s.run(&t, "tea_1", &format!("cat {tbox}/alice_task.ipynb"));
    let fixture =
        fs::read_to_string(fixtures().join("submissions/alice_task.ipynb")).expect("read");
    assert_eq!(submitted, fixture);

    // Grading: extract → grade → tocsv, compared with the committed expected files.
    for n in ["2", "3", "4"] {
        s.run(&t, "tea_1", &format!("extract task.ipynb {n}"));
    }
    let prs = format!("{tw}/.volumes/lms_prs_t_1_h");
    let g2 = s.run(&t, "tea_1", &format!("cat {prs}/002-task.ipynb"));
    assert_expected("002-task.ipynb", &g2);
    s.run(
        &t,
        "tea_1",
        &format!("python3 -c 'import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))' {prs}/002-task.ipynb"),
    );
    jupyter_opens(&s, &t, "tea_1", "jupyter/works/Mine/002-task.ipynb");
    let scores: [(&str, &[(&str, &str)]); 3] = [
        ("002", &[("alice", "10"), ("bob_2", "8  # 挨拶")]),
        ("003", &[("alice", "5"), ("bob_2", "2.5")]),
        ("004", &[("alice", "ten")]),
    ];
    for (n, marks) in scores {
        let path = format!("{prs}/{n}-task.ipynb");
        let text = s.run(&t, "tea_1", &format!("cat {path}"));
        s.put(&t, "tea_1", &path, &grade(&text, marks));
    }
    let out = s.exec(&t, "tea_1", "tocsv task.ipynb", b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("counted as 0"));
    assert_expected(
        "task.csv",
        &s.run(&t, "tea_1", &format!("cat {prs}/task.csv")),
    );
    s.run(
        &t,
        "tea_1",
        "tocsv --nbgrader -o /tmp/grades.csv task.ipynb",
    );
    assert_expected(
        "task.nbgrader.csv",
        &s.run(&t, "tea_1", "cat /tmp/grades.csv"),
    );

    // A restart runs start.sh again over the existing account and home: same result.
    s.ok(&["restart", "-t", "1", &a]);
    s.wait_started(&a, 2);
    s.run(
        &a,
        "alice",
        &format!("test -L {aw}/Task && test -L {aw}/提出 && test ! -e {aw}/Mine"),
    );
    let again = s.run(&a, "alice", &format!("ls -A {aw}/.volumes/lms_prs_t_1_h"));
    assert_eq!(
        again, "task.ipynb\n",
        "[{engine}] the personal volume is not re-seeded over"
    );
    let answer = s.run(
        &a,
        "alice",
        &format!("cat {aw}/.volumes/lms_prs_t_1_h/task.ipynb"),
    );
    assert!(
        answer.contains("こんにちは, world"),
        "[{engine}] alice's answer was kept"
    );
    assert_eq!(s.run(&a, "alice", "id -un").trim(), "alice");

    // A file planted under another student's name is never replaced, and the victim is told.
    s.run(
        &a,
        "alice",
        &format!("echo fake > {aw}/提出/bob_2_other.ipynb"),
    );
    s.put(
        &b,
        "bob_2",
        &format!("{bw}/.volumes/lms_prs_t_1_h/other.ipynb"),
        b"{}",
    );
    let o = s.exec(&b, "bob_2", "submit other.ipynb", b"");
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("belongs to someone else"), "[{engine}] {out}");
    let planted = s.run(&t, "tea_1", &format!("cat {tbox}/bob_2_other.ipynb"));
    assert_eq!(planted, "fake\n");

    // After the deadline the submit volume is read-only: submit says so.
    let late = User {
        name: "carol",
        // The uid of the image's jovyan account: start.sh renames it.
        uid: 1000,
        teacher: false,
        volumes: vols.into(),
    };
    let c = s.start(&late, &mounts(true), hold);
    assert_eq!(s.run(&c, "root", "id -un 1000").trim(), "carol");
    s.denied(&c, "root", "getent passwd jovyan");
    assert_eq!(
        s.run(&c, "root", "cat /tmp/hook-sourced /tmp/hook-executed"),
        "carol 0\n0\n"
    );
    let bytes = fs::read(fixtures().join("submissions/alice_task.ipynb")).expect("fixture");
    s.put(
        &c,
        "carol",
        &format!("{}/.volumes/lms_prs_t_1_h/task.ipynb", works("carol")),
        &bytes,
    );
    let o = s.exec(&c, "carol", "submit", b"");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("deadline") && err.contains("提出"),
        "[{engine}] {err}"
    );
    assert!(Path::new(&s.home("carol")).exists());
}

#[test]
#[ignore = "needs Docker/Podman and the kit image (scripts/test-all)"]
fn teacher_and_students_share_volumes_in_real_containers() {
    let engines = engines();
    assert!(
        !engines.is_empty(),
        "LTICONTAINER_TEST_ENGINES names no engine"
    );
    for engine in engines {
        scenario(&engine);
    }
}

#[test]
#[ignore = "needs Docker/Podman and the kit image (scripts/test-all)"]
fn the_command_runs_as_the_user_with_its_arguments_unchanged() {
    for engine in engines() {
        let s = Scene::new(&engine);
        let name = format!("{}-args", s.prefix);
        let o = s.cmd(&[
            "run",
            "--rm",
            "--network",
            "host",
            "--user",
            "root",
            "--name",
            &name,
            "-e",
            "NB_USER=D.ave@lms",
            "-e",
            "NB_UID=3005",
            "-e",
            "NB_GID=3000",
            "-e",
            "NB_GROUP=course",
            "-e",
            "NB_DIR=/home/course/D.ave@lms",
            "-e",
            "NB_VOLUMES=*",
            IMAGE,
            "sh",
            "-c",
            "printf '%s|' \"$(id -un)\" \"$HOME\" \"$@\"",
            "sh",
            "--b=x y",
            "a  b",
            "--b=x y",
            "*",
            "--a",
        ]);
        assert!(
            o.status.success(),
            "[{engine}] {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "D.ave@lms|/home/course/D.ave@lms|--b=x y|a  b|--b=x y|*|--a|",
            "[{engine}] options are neither sorted, merged nor split"
        );
        // Started as the user (rootless): nothing to set up, the umask still applies.
        let o = s.cmd(&[
            "run",
            "--rm",
            "--network",
            "host",
            "--user",
            "3020:3000",
            "-e",
            "NB_UMASK=0027",
            IMAGE,
            "sh",
            "-c",
            "echo \"$(id -u) $(umask)\"",
        ]);
        assert!(
            o.status.success(),
            "[{engine}] {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "3020 0027\n",
            "[{engine}]"
        );
    }
}

#[test]
#[ignore = "needs Docker/Podman and the kit image (scripts/test-all)"]
fn start_refuses_system_accounts_and_bad_names() {
    let cases = [
        ("root", "3010", "system account (uid 0)"),
        ("nobody", "3010", "system account (uid 65534)"),
        ("-x", "3010", "starts with '-'"),
        ("a b", "3010", "spaces"),
        ("eve", "65534", "system account nobody"),
        ("eve", "0", "as root"),
        ("eve", "1x", "not a number"),
    ];
    for engine in engines() {
        let s = Scene::new(&engine);
        for (user, uid, message) in cases {
            let o = s.cmd(&[
                "run",
                "--rm",
                "--network",
                "host",
                "--user",
                "root",
                "-e",
                &format!("NB_USER={user}"),
                "-e",
                &format!("NB_UID={uid}"),
                "-e",
                "NB_GID=3000",
                IMAGE,
                "true",
            ]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!o.status.success(), "[{engine}] {user}/{uid} was accepted");
            assert!(err.contains(message), "[{engine}] {user}/{uid}: {err}");
        }
    }
}
