"""(d) A hub restart with three running servers: all still reachable, no duplicate containers."""

from __future__ import annotations

import signal

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


def test_hub_killed_mid_spawn_finishes_or_cleans_up(hub, student):
    """Nothing is lost when the hub dies while a spawn runs: the next start finishes that spawn
    (or cleans it up so the next launch starts afresh); never two containers for one student."""
    nina = student(hub, "nina")
    nina.launch()  # the spawn now runs in the background
    hub.stop(signal.SIGKILL)
    hub.start()
    try:
        nina.wait_ready(timeout=400)
    except AssertionError:
        # The previous spawn was cleaned up instead of finished: a new launch must work.
        nina.launch()
        nina.wait_ready()
    nina.open_lab()
    assert nina.execute("1+1") == "2"
    assert len(hub.containers("nina")) == 1, hub.containers("nina")
