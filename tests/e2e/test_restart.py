"""(d) A hub restart with three running servers: all still reachable, no duplicate containers."""

from __future__ import annotations

import signal
import time

import pytest


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["graceful", "killed"])
def test_restart_keeps_running_servers(hub, student, sig):
    names = ["ivan", "judy", "mike"]
    browsers = [student(hub, n) for n in names]
    for b in browsers:
        b.launch()
    for b in browsers:
        b.wait_ready()
        b.open_lab()
    before = {n: hub.containers(n, running_only=True) for n in names}
    assert all(len(ids) == 1 for ids in before.values()), before

    hub.stop(sig)
    assert {n: hub.containers(n, running_only=True) for n in names} == before, "stopping the hub stopped servers"
    hub.start()

    for b in browsers:
        # The same browser session keeps working: no new launch, no respawn.
        r = b.open(f"/user/{b.name}/api/status")
        assert r.status_code == 200, f"{b.name} after restart: {r.status_code} at {r.url}: {r.text[:300]}"
        b.open_lab()
        assert b.execute("1+1") == "2"
    after = {n: hub.containers(n) for n in names}
    assert after == before, f"containers changed across the restart: {before} -> {after}"

    # A launch after the restart reuses the adopted server instead of spawning a second one.
    browsers[0].launch()
    browsers[0].open_lab()
    assert hub.containers(names[0]) == before[names[0]]
    assert len(hub.containers()) == 3


# The server's command waits for a gate file in the student's home (bind-mounted from the host)
# before it runs jupyterhub-singleuser: the spawn is held in "waiting for the server" with its
# container running until the test opens the gate.
GATE = ".e2e-gate"
GATED_CMD = f'cmd = ["sh", "-c", "until [ -e \\"$NB_DIR/{GATE}\\" ]; do sleep 0.2; done; exec jupyterhub-singleuser"]\n'


def test_hub_killed_mid_spawn_finishes_the_adopted_spawn(make_hub, student):
    """The hub dies while a spawn waits for its server, whose container runs: the next start
    adopts that container and finishes the spawn (same container, ready, usable); never a
    second container."""
    hub = make_hub(hub_config=GATED_CMD)
    nina = student(hub, "nina")
    nina.launch()  # the spawn now runs in the background
    deadline = time.monotonic() + 120
    while not (running := hub.containers("nina", running_only=True)):
        assert time.monotonic() < deadline, f"the spawn never started a container:\n{hub.log_tail()}"
        time.sleep(0.2)
    hub.stop(signal.SIGKILL)
    assert hub.containers("nina", running_only=True) == running, "killing the hub stopped the container"
    hub.start()
    homes = list((hub.workdir / "home").glob("*/nina"))
    assert len(homes) == 1, homes
    (homes[0] / GATE).touch()
    nina.wait_ready(timeout=400)
    assert "finished a spawn the previous hub started" in hub.log_path.read_text(errors="replace"), hub.log_tail()
    nina.open_lab()
    assert nina.execute("1+1") == "2"
    assert hub.containers("nina") == running, "the adopted spawn was not finished in its own container"
