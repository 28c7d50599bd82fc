"""The hub on a two-node Docker Swarm (issue 17): servers on another node, reached through the hub.

The module makes its own cluster with `scripts/swarm-nodes.sh` (two Docker engines in network
namespaces it creates, a manager at 10.241.7.1 and a worker at 10.241.7.2, each linked to this
machine's namespace, where the hub binds 10.241.7.254) and takes it down at the end, also when a
test fails. The hub runs here, as an admin would run it beside a cluster: `engine = "swarm"` on
the manager's socket, host networking, the servers binding 0.0.0.0 on their node and calling the
hub's API at 10.241.7.254. Checks, through the real hub, real Jupyter servers and the students'
own requests:

* ten students launching at once with the spread preference get servers on both nodes (the
  counts are printed), and a server on each node answers a kernel through the hub's proxy;
* a server constrained to the worker runs there, the student's progress shows the task's
  stages, JupyterLab and a kernel answer through the hub; the worker's engine stopped: the hub
  notices from the manager's task list and stops routing, the student's next click gets the
  "not running" page, a new launch that no node can take fails with a page, and once the worker
  is back the next launch runs there again.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from hub import engine_cli, service_of

ROOT = Path(__file__).resolve().parents[2]
NODES = ROOT / "scripts" / "swarm-nodes.sh"
MANAGER_SOCKET = "/run/ltcs-m.sock"
WORKER_SOCKET = "/run/ltcs-w.sock"
# The address of this machine's side of the links to the nodes (scripts/swarm-nodes.sh).
HUB_ADDRESS = "10.241.7.254"
IMAGES = ["lticontainer-test/busybox:latest", "lticontainer-test/jupyter:latest"]


def nodes(*args: str, timeout: float = 600) -> None:
    """Runs scripts/swarm-nodes.sh with `args`; a failure shows the script's output."""
    out = subprocess.run([str(NODES), *args], capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"swarm-nodes.sh {' '.join(args)} failed ({out.returncode}):\n{out.stdout}{out.stderr}")


@pytest.fixture(scope="module")
def cluster() -> dict[str, str]:
    """The two-node swarm, made for this module and taken down after it: the node ids by role.

    `docker` (the e2e helpers' engine CLI) talks to its manager meanwhile."""
    nodes("down", timeout=120)
    before = os.environ.get("DOCKER_HOST")
    try:
        nodes("up", *IMAGES)
        os.environ["DOCKER_HOST"] = f"unix://{MANAGER_SOCKET}"
        ids = {
            role: subprocess.run(
                ["docker", "-H", f"unix://{sock}", "info", "--format", "{{.Swarm.NodeID}}"],
                capture_output=True, text=True, check=True, timeout=60,
            ).stdout.strip()
            for role, sock in (("manager", MANAGER_SOCKET), ("worker", WORKER_SOCKET))
        }
        yield ids
    finally:
        if before is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = before
        nodes("down", timeout=120)


@pytest.fixture
def engine(cluster) -> str:
    """The swarm engine, on the module's two-node swarm."""
    return "swarm"


def cluster_hub(make_hub, extra_config: str = ""):
    """A hub in this machine's namespace driving the module's swarm, reachable from its nodes."""
    return make_hub(engine_socket=MANAGER_SOCKET, host=HUB_ADDRESS, network="host", extra_config=extra_config)


def node_of(service: dict) -> str:
    """The id of the node that runs `service`'s task."""
    tasks = engine_cli("swarm", "service", "ps", "-q", "--filter", "desired-state=running", service["ID"]).split()
    assert len(tasks) == 1, f"expected one running task of {service['ID']}: {tasks}"
    return engine_cli("swarm", "inspect", "--format", "{{.NodeID}}", tasks[0]).strip()


def wait_for_log(hub, pattern: str, timeout: float) -> None:
    """Waits until a line of the hub's log matches `pattern` (a regex)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = re.sub(r"\x1b\[[0-9;]*m", "", hub.log_path.read_text(errors="replace"))
        if re.search(pattern, text):
            return
        time.sleep(0.2)
    pytest.fail(f"no log line matching {pattern!r} within {timeout}s:\n{hub.log_tail()}")


def test_ten_students_spread_over_both_nodes_and_are_reached_through_the_hub(make_hub, student, cluster):
    hub = cluster_hub(make_hub, 'spread = ["node.id"]\n')
    names = [f"spread{i:02d}" for i in range(10)]
    browsers = {name: student(hub, name) for name in names}
    started = time.monotonic()
    for b in browsers.values():
        b.launch()
    for b in browsers.values():
        b.wait_ready()
    wall = time.monotonic() - started
    placed = {name: node_of(service_of(hub, name)) for name in names}
    counts = collections.Counter(placed.values())
    role = {v: k for k, v in cluster.items()}
    print(f"spread of 10 over two nodes: {dict((role[n], c) for n, c in counts.items())}, all ready in {wall:.1f}s")
    # Swarm's spread preference over node.id balances the tasks over the nodes' values; with two
    # equal nodes and one task per service, each node takes some (5/5 when every placement saw
    # the other's task; concurrent placements may differ by a few).
    assert set(counts) == set(cluster.values()), f"servers on one node only: {counts}"
    for node in cluster.values():
        name = next(n for n, at in placed.items() if at == node)
        b = browsers[name]
        b.open_lab()
        assert b.execute("20+22") == "42", f"{name} on the {role[node]}"


def test_a_server_on_the_worker_through_the_hub_and_the_worker_lost(make_hub, student, cluster):
    hub = cluster_hub(make_hub, 'constraints = ["node.role==worker"]\nschedule_timeout_secs = 5\n')
    eve = student(hub, "eve")
    eve.launch()
    events = eve.progress_events()
    assert events[-1].get("ready"), f"{events[-1]}\n{hub.log_tail()}"
    shown = [e["message"] for e in events]
    # The task's stages, as the student's progress shows them (a stage may pass unseen between
    # two polls of the task list; scheduling and the container's start always show).
    assert any("Waiting for a machine of the cluster" in m for m in shown), shown
    assert any("on its machine" in m for m in shown), shown
    first = service_of(hub, "eve")
    assert node_of(first) == cluster["worker"], "the constraint placed the server on the worker"
    lab = eve.open_lab()
    assert lab.url == f"{hub.url}/user/eve/lab", lab.url
    assert eve.execute("1+1") == "2"

    nodes("stop-worker", timeout=120)
    stopped = time.monotonic()
    # The manager marks the node down after its heartbeat times out and wants the task shut
    # down; the hub sees that in the task list and stops routing to the server.
    wait_for_log(hub, rf"container ended; no longer routing to it.*{first['ID']}|{first['ID']}.*container ended; no longer routing to it", 90)
    print(f"the hub noticed the lost worker after {time.monotonic() - stopped:.1f}s")
    # The student's next click lands on the progress page, whose stream says the server is not
    # running and how to start it again.
    page = eve.open("/user/eve/lab")
    assert page.status_code == 200 and page.url == f"{hub.url}/hub/spawn-pending/eve", (page.status_code, page.url)
    idle = eve.progress_events(timeout=30)[-1]
    assert idle.get("idle") and "not running" in idle["message"], idle

    # No node can take the worker-only server while the worker is down: a page, not a wait.
    eve.launch()
    events = eve.progress_events(timeout=120)
    final = events[-1]
    assert final.get("failed") and "could not start" in final["message"], final
    assert any("Waiting for a machine of the cluster" in e["message"] for e in events), events
    wait_for_log(hub, "no suitable node", 10)

    # The worker back: it rejoins as the same node, and the next launch runs there again.
    nodes("start-worker", timeout=120)
    deadline = time.monotonic() + 120
    while engine_cli("swarm", "node", "inspect", "--format", "{{.Status.State}}", cluster["worker"]).strip() != "ready":
        assert time.monotonic() < deadline, "the worker did not come back ready within 120s"
        time.sleep(0.5)
    eve.launch()
    eve.wait_ready()
    second = service_of(hub, "eve")
    assert second["ID"] != first["ID"]
    assert node_of(second) == cluster["worker"]
    eve.open_lab()
    assert eve.execute("6*7") == "42"
