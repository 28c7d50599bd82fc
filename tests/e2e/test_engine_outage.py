"""(e) The engine goes away in the middle of a spawn.

The hub talks to the engine through a private forwarding socket (engine_proxy.EngineProxy); the test
cuts that socket when the spawn sends its container-create request, so only this hub loses its
engine and the real daemon, and other tests, are untouched. Then it restores the socket.

The student whose spawn fails launches from a real browser (headless Chromium), so the test checks
the page the student actually sees; its screenshot is kept as spawn-failed-<engine>.png.
"""

from __future__ import annotations

from cdp import Chromium, LaunchPage
from engine_proxy import EngineProxy
from hub import SOCKETS

FAILURE_WORDS = ("could not", "failed", "unavailable")
ADVICE_WORDS = ("try again", "launch again", "relaunch", "teacher")


def test_engine_lost_during_spawn(make_hub, engine, tmp_path, student, artifacts):
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
        site = LaunchPage(tmp_path / "moodle", bob.consumer.form_html(bob.consumer.sign(bob.student)))
        browser = Chromium(tmp_path / "chromium-profile", artifacts / f"chromium-outage-{engine}.log")
        try:
            browser.navigate(site.url)
            browser.wait_for(f"location.href.startsWith('{hub.url}/')", timeout=30)
            seen = " || ".join(f"document.body.innerText.toLowerCase().includes('{w}')" for w in FAILURE_WORDS)
            browser.wait_for(seen, timeout=120)
            browser.screenshot(artifacts / f"spawn-failed-{engine}.png")
            text = browser.evaluate("document.body.innerText").lower()
            assert any(w in text for w in ADVICE_WORDS), f"the page does not say what to do: {text!r}"
            assert "traceback" not in text and "panicked" not in text, text
            for c in browser.cookies(hub.url):
                bob.session.cookies.set(c["name"], c["value"], domain=c["domain"], path=c["path"])
        finally:
            browser.close()
            site.close()
        assert proxy.cut.is_set(), f"the spawn never reached container creation: {proxy.forwarded_requests}"

        # Coming back to the progress stream (a reload) gets the failure, which the stream holds
        # already: no new spawn runs.
        events = bob.progress_events(timeout=60)
        assert events[-1].get("failed") is True and not events[-1].get("ready"), events
        assert not any(e.get("ready") for e in events), events
        # The server address sends bob to the progress page; nothing is proxied.
        r = bob.open(f"/user/{bob.name}/api/status", allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"] == f"/hub/spawn-pending/{bob.name}", (
            r.status_code,
            r.headers,
        )
        assert hub.containers("bob") == [], "a container was left behind by the failed spawn"

        # The hub keeps serving the student whose server already runs.
        assert alice.open_lab().status_code == 200
        assert alice.execute("1+1") == "2"
        log = hub.log_path.read_text(errors="replace")
        assert "panicked" not in log
        assert "spawn failed" in log.lower() and "bob" in log, "the admin log should name the failed spawn"

        # The engine comes back: bob's next launch works.
        proxy.restore()
        bob.launch()
        bob.wait_ready()
        bob.open_lab()
        assert bob.execute("1+1") == "2"
    finally:
        proxy.close()
