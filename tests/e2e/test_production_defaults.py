"""(issue 19, item 1) What production runs: the shipped `[spec]` defaults, the kit image and its start.sh.

The hub keeps every `[spec]` default but the paths and names that keep tests apart: the container
starts as root (`run_as_root = true`), `images/start.sh` creates the user from the `NB_*`
environment the hub built, sets the volume rights and drops to the user. A teacher and two students
of one course launch through the hub with a task volume, a teachers-only task volume, a personal
volume seeded from the task, a submit volume open until later and one whose deadline has passed,
and CPU and memory limits; a fourth launch asks for an image outside the allowlist.

Every right is checked from inside: by the user's own kernel through the hub's proxy (the
server's uid, umask and environment, as the student gets them) and by `exec -u <user>` in the
container, as the image-kit tests do; the limits and mounts from the engine's `inspect`.
"""

from __future__ import annotations

import ast
import grp
import json
import os
import random
import stat
import subprocess
import time

import pytest

from client import Browser
from hub import CONSUMER_KEY, CONSUMER_SECRET, Hub
from inside import Inside
from lti_consumer import MoodleConsumer, Student

KIT_IMAGE = os.environ.get("LTICONTAINER_KIT_IMAGE", "lticontainer-test/jupyter-kit:latest")
# SpecConfig's defaults: uid = base_id + LMS user_id; gid of `default_group` (`others`) on the
# host, else base_id; the teacher group 7000 `TEACHER`.
BASE_ID = 30000
TEACHER_GID = 7000
CPU_LIMIT = "0.5"
MEM_LIMIT = 512 << 20
# The same code runs in every user's kernel: what that user's server is and may do. Each probe is
# "ok", a value, or the errno name it failed with.
PROBE = r"""
import errno, json, os
w = os.environ["NB_WRKDIR"]
me = os.environ["NB_USER"]
def probe(f):
    try:
        r = f()
        return "ok" if r is None or isinstance(r, int) else r
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
def write(path, text):
    with open(path, "w") as f:
        f.write(text)
def read(path):
    with open(path) as f:
        return f.read()
m = os.umask(0); os.umask(m)
json.dumps({
    "uid": os.getuid(), "gid": os.getgid(), "groups": sorted(os.getgroups()), "umask": oct(m),
    "home": os.environ["HOME"], "cwd_owner": os.stat(os.environ["HOME"]).st_uid,
    "links": sorted(n for n in os.listdir(w) if not n.startswith(".")),
    "read_task": probe(lambda: read(w + "/Task/hello.txt")),
    "write_task": probe(lambda: write(w + "/Task/by-" + me, me)),
    "read_answers": probe(lambda: read(w + "/Answers/key.txt")),
    "submit": probe(lambda: write(w + "/Box/" + me + ".txt", "work of " + me)),
    "submit_mode": probe(lambda: oct(os.stat(w + "/Box/" + me + ".txt").st_mode & 0o777)),
    "list_box": probe(lambda: sorted(n for n in os.listdir(w + "/Box") if not n.startswith("."))),
    "submit_late": probe(lambda: write(w + "/Late/" + me + ".txt", "late work")),
    "mine": probe(lambda: read(w + "/Mine/hello.txt")),
    "write_mine": probe(lambda: write(w + "/Mine/notes-" + me, me)),
})
"""


def _group() -> tuple[str, int]:
    """The name and gid a user unknown to the host gets (SpecConfig's `default_group` rule)."""
    try:
        return "others", grp.getgrnam("others").gr_gid
    except KeyError:
        return "others", BASE_ID


def _probe(user: Browser) -> dict:
    """Runs PROBE in a new kernel of `user`'s server, through the hub's proxy."""
    kernel = user.start_kernel()
    try:
        return json.loads(ast.literal_eval(user.run(kernel, PROBE, timeout=120)))
    finally:
        user.api("DELETE", f"kernels/{kernel}")


def _check_kit_image(engine: str) -> None:
    out = subprocess.run([engine, "image", "inspect", KIT_IMAGE], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        pytest.fail(f"{engine} lacks {KIT_IMAGE} ({out.stderr.strip()}); run scripts/build-kit-image.sh {engine}")


def test_teacher_and_students_on_the_shipped_defaults(make_hub, engine):
    _check_kit_image(engine)
    hub: Hub = make_hub(image=KIT_IMAGE, run_as_root=True)
    # A course of its own, so no other run shares its (course-named) engine volumes.
    course = str(random.randrange(10**6, 10**7))
    host = "127.0.0.1"  # the LMS host, from lis_outcome_service_url
    now = int(time.time())
    custom = {
        "lms_defurl": "/lab",
        "lms_teachers": "tea1",
        "lms_users": "*",
        "lms_vol_task": "Task",
        "lms_vol_key": "-Answers",
        "lms_prs_task": "Mine",
        "lms_sub_box": "Box",
        "lms_sub_box_close": str(now + 3600),
        "lms_sub_late": "Late",
        "lms_sub_late_close": str(now - 3600),
        "lms_cpulimit": CPU_LIMIT,
        "lms_memlimit": str(MEM_LIMIT),
    }
    vol = {k: f"lms_{kind}_{k}_{course}_{host}" for kind, k in (("vol", "task"), ("vol", "key"), ("sub", "box"), ("sub", "late"))}
    prs = f"lms_prs_task_{course}_{host}"
    group, gid = _group()

    def browser(name: str, user_id: int, **extra: str) -> Browser:
        consumer = MoodleConsumer(CONSUMER_KEY, CONSUMER_SECRET, hub.launch_url, custom={**custom, **extra})
        return Browser(hub, Student(name, user_id=str(user_id), context_id=course), consumer)

    users = {"tea1": browser("tea1", 501), "alice": browser("alice", 502), "bob": browser("bob", 503)}
    uid = {n: BASE_ID + int(b.student.user_id) for n, b in users.items()}
    home = {n: hub.workdir / "home" / group / n for n in users}

    # The teacher starts first (the first teacher's start makes the course volumes theirs) and
    # hands out the material and the answer key.
    tea = users["tea1"]
    tea.launch()
    tea.wait_ready()
    tea.open_lab()
    k = tea.start_kernel()
    tea.run(
        k,
        "import os; w = os.environ['NB_WRKDIR']\n"
        "open(w + '/Task/hello.txt', 'w').write('material\\n')\n"
        "open(w + '/Answers/key.txt', 'w').write('secret\\n')",
    )
    tea.api("DELETE", f"kernels/{k}")

    for name in ("alice", "bob"):
        users[name].launch()
    for name in ("alice", "bob"):
        users[name].wait_ready()
        users[name].open_lab()
    seen = {name: _probe(users[name]) for name in ("alice", "bob")}
    # The teacher looks last, after both students handed in.
    seen["tea1"] = _probe(tea)

    for name, facts in seen.items():
        teacher = name == "tea1"
        where = f"[{engine}] {name}: {facts}"
        # start.sh made the user the hub named and dropped to it; the server runs as that user.
        assert (facts["uid"], facts["gid"]) == (uid[name], gid), where
        assert (TEACHER_GID in facts["groups"]) is teacher, where
        assert facts["umask"] == ("0o33" if teacher else "0o37"), where
        assert facts["home"] == str(home[name]) and facts["cwd_owner"] == uid[name], where
        # Task: everyone reads, only the teacher writes (students' mount is read-only).
        assert facts["read_task"] == "material\n", where
        assert facts["write_task"] == ("ok" if teacher else "EROFS"), where
        # The teachers-only volume: no link, no mount for students.
        assert facts["read_answers"] == ("secret\n" if teacher else "ENOENT"), where
        # Submit box, open: everyone hands in; only the teacher lists it.
        assert facts["submit"] == "ok", where
        assert facts["submit_mode"] == ("0o644" if teacher else "0o640"), where
        if teacher:
            assert facts["list_box"] == ["alice.txt", "bob.txt", "tea1.txt"], where
        else:
            assert facts["list_box"] == "EACCES", where
        # Past its deadline the late box is the teacher's alone.
        assert facts["submit_late"] == ("ok" if teacher else "ENOENT"), where
        # The personal volume is the user's own, seeded from the task at each start: the
        # students' after the teacher handed out the material, the teacher's before.
        assert facts["mine"] == ("ENOENT" if teacher else "material\n"), where
        assert facts["write_mine"] == "ok", where
        links = ["Answers", "Box", "Late", "Mine", "Task"] if teacher else ["Box", "Mine", "Task"]
        assert facts["links"] == links, where

    containers = {n: hub.containers(n, running_only=True) for n in users}
    assert all(len(ids) == 1 for ids in containers.values()), containers
    inside = {n: Inside(engine, ids[0]) for n, ids in containers.items()}
    for name, box in inside.items():
        teacher = name == "tea1"
        record = box.inspect()
        where = f"[{engine}] {name}"
        # The production default: started as root for start.sh, never privileged, limited.
        assert record["Config"]["User"] in ("root", "0", "0:0"), (where, record["Config"]["User"])
        assert record["HostConfig"]["Privileged"] is False, where
        assert record["HostConfig"]["Memory"] == MEM_LIMIT, (where, record["HostConfig"]["Memory"])
        assert (record["HostConfig"]["CpuQuota"], record["HostConfig"]["CpuPeriod"]) == (50_000, 100_000), where
        mounts = box.volume_mounts()
        if teacher:
            assert mounts == {vol["task"]: True, vol["key"]: True, vol["box"]: True, vol["late"]: True}, (where, mounts)
        else:
            assert mounts == {vol["task"]: False, vol["box"]: True}, (where, mounts)

        # As the user, from the engine's side (`exec -u`), as the image-kit tests check.
        h = str(home[name])
        assert box.run(name, 'id -u; stat -c "%u %g %a" "$HOME"', home=h).split() == [
            str(uid[name]), str(uid[name]), str(gid), "700"
        ], where
        works = f"{h}/jupyter/works"
        assert box.run(name, f'stat -c "%u %a" {works}/.volumes/{prs}', home=h).split() == [str(uid[name]), "700"], where
        if teacher:
            box.run(name, "sudo -n true", home=h)
            assert box.run(name, f'stat -c "%u %g %a" {works}/.volumes/{vol["box"]}', home=h).split() == [
                str(uid[name]), str(TEACHER_GID), "3773"
            ], where
            assert box.run(name, f"cat {works}/Box/alice.txt", home=h) == "work of alice"
        else:
            box.denied(name, "sudo -n true", "password is required", home=h)
            other = "bob" if name == "alice" else "alice"
            box.denied(name, f"cat {works}/Box/{other}.txt", "Permission denied", home=h)
            box.denied(name, f"ls {works}/.volumes/{vol['key']}", "No such file", home=h)

        # On the host: the hub made the home (0700, the user's), start.sh's files in it are the user's.
        st = home[name].stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (uid[name], gid, 0o700), where
        notes = home[name] / "jupyter" / "works" / ".volumes" / prs / f"notes-{name}"
        assert notes.stat().st_uid == uid[name], where

    # A launch asking for an image outside the allowlist that the engine does not have either
    # (a present one would be used, `spec.allow_local_images`): a clear refusal, nothing started,
    # nothing pulled.
    carol = browser("carol", 504, lms_image="lticontainer-test/not-on-this-host:1")
    carol.launch()
    events = carol.progress_events(timeout=60)
    last = events[-1]
    assert last.get("failed") is True and not last.get("ready"), events
    assert "does not allow" in last["message"] and "teacher" in last["message"], last
    assert hub.containers("carol") == [], "a container was started for a refused image"
    assert len(hub.networks()) == len(users), f"a network was made for a refused image: {hub.networks()}"
    assert not (hub.workdir / "home" / group / "carol").exists(), "a home was made for a refused launch"
    log = hub.log_path.read_text(errors="replace")
    assert "lticontainer-test/not-on-this-host:1" in log and "is not allowed" in log, hub.log_tail()
    assert "nor does the engine have it locally" in log, hub.log_tail()
