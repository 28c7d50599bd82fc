"""(a) From a signed Moodle launch to a kernel that computes 1+1, through the hub's proxy."""

from __future__ import annotations


def test_launch_to_kernel(hub, student):
    alice = student(hub, "alice")
    landed = alice.launch()
    assert landed == f"{hub.url}/hub/spawn-pending/alice", f"launch landed on {landed}"

    events = alice.progress_events()
    final = events[-1]
    assert final.get("ready") is True, f"spawn did not become ready: {events}"
    assert final["url"].rstrip("/").startswith("/user/alice"), final
    progress = [e["progress"] for e in events if "progress" in e]
    assert progress == sorted(progress) and progress[-1] == 100, f"progress not monotonic to 100: {progress}"

    lab = alice.open_lab()
    assert lab.url == f"{hub.url}/user/alice/lab", f"ended at {lab.url}"
    assert "JupyterLab" in lab.text or "jupyter-config-data" in lab.text
    # The single-user server authenticated the browser through the hub's OAuth provider.
    oauth_hops = [h.headers.get("Location", "") for h in lab.history]
    assert any("/hub/api/oauth2/authorize" in loc for loc in oauth_hops), oauth_hops

    assert alice.execute("1+1") == "2"

    running = hub.containers("alice", running_only=True)
    assert len(running) == 1, f"expected one running container for alice, engine lists {running}"


def test_second_launch_reuses_running_server(hub, student):
    bob = student(hub, "bob")
    bob.launch()
    bob.wait_ready()
    first = hub.containers("bob")
    again = bob.launch()
    # A running server is reused: the hub sends the browser to it (or to a pending page that is ready).
    assert again.startswith(f"{hub.url}/user/bob") or again.startswith(f"{hub.url}/hub/spawn-pending/bob"), again
    bob.open_lab()
    assert hub.containers("bob") == first
