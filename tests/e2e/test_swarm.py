"""The hub on a Docker Swarm (`engine = "swarm"`, issue 17): servers are Swarm services.

Runs on the single-node swarm `scripts/setup-engines.sh swarm` makes of the machine's Docker
engine (only here: the other modules run on Docker and Podman). Checks, through the real hub, a
real Jupyter server and the student's own requests:

* a launch runs one service per student (one replica, restart condition none, the hub's
  labels) and reaches JupyterLab and a kernel through the proxy;
* a restarted hub re-adopts the running services and routes to them again;
* a server no node can run (a placement constraint no node meets) fails the start with a page
  the student can read, the scheduler's reason in the admin log, and no service left behind;
* a task that fails as its node starts it (a command the image lacks) ends the start with the
  task's error on the student's page, after the task's stages on their progress;
* a service removed behind the hub's back is noticed from the task list (the student is no
  longer routed to it), and the student's next launch starts a new one;
* with `[swarm.homes]` a student's home is a volume of the configured driver, and their files
  land in the hub's directory.
"""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from hub import IMAGE, LABEL_USER, engine_cli, labelled_services, remove_suite_leftovers, service_of


@pytest.fixture
def engine() -> str:
    """The swarm engine: the machine's Docker engine, which must be a Swarm manager."""
    state = subprocess.run(
        ["docker", "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"],
        capture_output=True, text=True, timeout=60,
    )
    if state.stdout.split() != ["active", "true"]:
        pytest.fail(f"the Docker engine is not a Swarm manager ({state.stdout.strip()} {state.stderr.strip()}); "
                    "run scripts/setup-engines.sh swarm")
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, timeout=60).returncode != 0:
        pytest.fail(f"docker lacks {IMAGE}; run scripts/build-jupyter-image.sh docker")
    remove_suite_leftovers("swarm")
    return "swarm"


def test_launch_to_kernel_on_a_swarm_service(hub, student):
    alice = student(hub, "alice")
    assert alice.launch() == f"{hub.url}/hub/spawn-pending/alice"
    final = alice.wait_ready()
    assert final["url"].rstrip("/").startswith("/user/alice"), final

    service = service_of(hub, "alice")
    spec = service["Spec"]
    assert spec["Mode"]["Replicated"]["Replicas"] == 1
    assert spec["TaskTemplate"]["RestartPolicy"]["Condition"] == "none"
    assert spec["Labels"][LABEL_USER] == "alice"
    tasks = engine_cli("swarm", "service", "ps", "-q", "--filter", "desired-state=running", service["ID"]).split()
    assert len(tasks) == 1, tasks

    lab = alice.open_lab()
    assert lab.url == f"{hub.url}/user/alice/lab", lab.url
    assert alice.execute("1+1") == "2"
    # The task's container carries the hub's labels too, on the manager's node.
    assert len(hub.containers("alice", running_only=True)) == 1
    assert "event stream failed" not in hub.log_path.read_text(errors="replace"), hub.log_tail()


def test_a_restarted_hub_re_adopts_its_swarm_services(hub, student):
    frank = student(hub, "frank")
    frank.launch()
    frank.wait_ready()
    frank.open_lab()
    before = service_of(hub, "frank")["ID"]

    hub.restart()
    log = re.sub(r"\x1b\[[0-9;]*m", "", hub.log_tail())
    assert "re-adopted servers after start adopted=1" in log, log
    lab = frank.open_lab()
    assert lab.url == f"{hub.url}/user/frank/lab", lab.url
    assert frank.execute("3*3") == "9"
    assert service_of(hub, "frank")["ID"] == before, "the same service serves after the restart"


def test_a_server_no_node_can_run_fails_with_a_page_and_the_schedulers_reason(make_hub, student):
    hub = make_hub(extra_config='constraints = ["node.labels.lticontainer-e2e-nowhere==1"]\nschedule_timeout_secs = 3\n')
    carol = student(hub, "carol")
    carol.launch()
    started = time.monotonic()
    events = carol.progress_events(timeout=120)
    final = events[-1]
    assert final.get("failed"), final
    assert "could not start" in final["message"], final
    assert "node." not in final["message"], f"the student sees no scheduler internals: {final}"
    assert time.monotonic() - started < 60, "the start failed within the schedule timeout, not the spawn timeout"
    log = hub.log_path.read_text(errors="replace")
    assert "no suitable node" in log, hub.log_tail()
    assert labelled_services(hub.instance) == [], "the service that found no node is removed"
    page = carol.open("/hub/home")
    assert page.status_code == 200 and "could not start" in page.text, page.text[:800]


def test_a_task_that_fails_to_start_shows_its_stages_and_its_error_to_the_student(make_hub, student):
    # busybox has no entrypoint: the service's arguments are its command, which does not exist,
    # so the node fails the task as it starts the container (`task.Status.Err`).
    missing = "/lticontainer-e2e-missing"
    hub = make_hub(image="lticontainer-test/busybox:latest", hub_config=f'cmd = ["{missing}"]\n')
    grace = student(hub, "grace")
    grace.launch()
    events = grace.progress_events(timeout=120)
    final = events[-1]
    assert final.get("failed"), final
    assert "could not start" in final["message"] and "the cluster reported" in final["message"], final
    assert missing in final["message"], f"the task's error reaches the student: {final}"
    shown = [e["message"] for e in events]
    assert any("Waiting for a machine of the cluster" in m for m in shown), shown
    page = grace.open("/hub/home")
    assert page.status_code == 200 and missing in page.text, page.text[:800]
    assert labelled_services(hub.instance) == [], "the failed service is removed"


def test_a_service_removed_behind_the_hubs_back_is_noticed_and_relaunched(hub, student):
    dave = student(hub, "dave")
    dave.launch()
    dave.wait_ready()
    dave.open_lab()
    first = service_of(hub, "dave")["ID"]

    engine_cli("swarm", "service", "rm", first)
    # The hub lists the servers' tasks (events_poll_millis) and stops routing to the service.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = hub.log_path.read_text(errors="replace").splitlines()
        if any("container ended; no longer routing to it" in line and first in line for line in lines):
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the hub did not notice the removed service {first}:\n{hub.log_tail()}")
    r = dave.session.get(f"{hub.url}/user/dave/api/status", allow_redirects=False, timeout=30)
    assert r.status_code != 200, f"a removed server still answered through the proxy: {r.status_code}"

    dave.launch()
    dave.wait_ready()
    second = service_of(hub, "dave")["ID"]
    assert second != first
    dave.open_lab()
    assert dave.execute("2*21") == "42"


def test_homes_live_where_swarm_homes_says_and_the_students_files_land_there(make_hub, student, tmp_path):
    # The local driver's bind stands in for NFS (no file server here): the node creates the volume
    # from [swarm.homes]' options, as it would mount `type = "nfs"`.
    home = tmp_path / "hub0" / "home"
    hub = make_hub(extra_config=(
        f'[swarm.homes]\nroot = "{home}"\n'
        f'options = {{ type = "none", o = "bind", device = "{home}{{path}}" }}\n'
    ))
    erin = student(hub, "erin")
    erin.launch()
    erin.wait_ready()
    mounts = service_of(hub, "erin")["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"]
    homes = [m for m in mounts if m["Source"].startswith("lticontainer-home-")]
    assert homes and all(m["Type"] == "volume" for m in homes), mounts
    driver = homes[0]["VolumeOptions"]["DriverConfig"]
    assert driver["Name"] == "local" and driver["Options"]["device"].startswith(str(home)), driver
    assert not [m for m in mounts if m["Type"] == "bind" and m["Source"].startswith(str(home))], mounts

    erin.open_lab()
    # The kernel's working directory is the student's notebook directory, in their home.
    assert erin.execute("import pathlib; pathlib.Path('from-swarm.txt').write_text('hi'); 6 * 7") == "42"
    written = list(home.rglob("from-swarm.txt"))
    assert len(written) == 1 and written[0].read_text() == "hi", written
    names = sorted({m["Source"] for m in homes})
    hub.cleanup()
    # The node lets go of the volumes once the service's container is gone.
    deadline = time.monotonic() + 30
    while names and time.monotonic() < deadline:
        engine_cli("swarm", "volume", "rm", *names, check=False)
        names = engine_cli("swarm", "volume", "ls", "-q", *[f"--filter=name={n}" for n in names]).split()
        time.sleep(0.2)
    assert not names, f"home volumes left: {names}"
