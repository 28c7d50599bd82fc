"""(e) The engine goes away in the middle of a spawn.

The hub talks to the engine through a private forwarding socket (engine_proxy.EngineProxy); the test
cuts that socket when the spawn sends its container-create request, so only this hub loses its
engine and the real daemon, and other tests, are untouched. Then it restores the socket.
"""

from __future__ import annotations

from engine_proxy import EngineProxy
from hub import SOCKETS


def test_engine_lost_during_spawn(make_hub, engine, tmp_path, student):
    proxy = EngineProxy(tmp_path / "engine.sock", SOCKETS[engine])
    try:
        hub = make_hub(engine_socket=str(proxy.path))
        # Alice's server runs before the outage.
        alice = student(hub, "alice")
        alice.launch()
        alice.wait_ready()
        alice.open_lab()

        proxy.cut_on(b"containers/create")
        bob = student(hub, "bob")
        bob.launch()
        events = bob.progress_events(timeout=120)
        assert proxy.cut.is_set(), f"the spawn never reached container creation: {proxy.forwarded_requests}"
        final = events[-1]
        assert final.get("failed") is True and not final.get("ready"), f"expected a failed spawn, got {events}"
        message = final.get("message", "")
        assert message and "Traceback" not in message, f"unclear failure message: {message!r}"

        # The student sees a clear page, not a hang or a raw error.
        page = bob.open(f"/hub/spawn-pending/{bob.name}")
        assert page.status_code in (200, 500, 503), page.status_code
        text = page.text.lower()
        assert any(w in text for w in ("failed", "could not", "unavailable", "error")), page.text[:1000]
        assert "try again" in text or "launch" in text or "relaunch" in text, "the page should say what to do"
        r = bob.open(f"/user/{bob.name}/api/status", allow_redirects=False)
        assert r.status_code != 200 and r.elapsed.total_seconds() < 5, (r.status_code, r.elapsed)
        assert hub.containers("bob") == [], "a container was left behind by the failed spawn"

        # The hub keeps serving the student whose server already runs.
        assert alice.open_lab().status_code == 200
        assert alice.execute("1+1") == "2"
        assert "panicked" not in hub.log_path.read_text(errors="replace")

        # The engine comes back: bob's next launch works.
        proxy.restore()
        bob.launch()
        bob.wait_ready()
        bob.open_lab()
        assert bob.execute("1+1") == "2"
    finally:
        proxy.close()
