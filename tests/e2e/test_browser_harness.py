"""The browser harness itself, against a page of its own (no hub, no engine): what Chromium does
when the machine's network changes under a page that is loading, and what `Chromium.wait_for`
does about it (`cdp.py`, `_recover_from_network_change`).

Chromium fails the requests a page has queued for a connection with `net::ERR_NETWORK_CHANGED`
whenever an address appears on any interface of the machine; an engine starting a container
(its veth's IPv6 link-local address) is such a change, and it left JupyterLab blank in the suite
(CI at stop 15: `test_home.py`'s restart on Podman). Here the change is made on purpose while the
page's requests wait in the queue: a veth pair the test creates, with a link-local IPv4 address,
brought up and removed again (nothing is sent to that address; the pair's only traffic, if any,
is between its own two ends)."""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from cdp import NETWORK_CHANGED, Chromium

# Ten requests at once, answered after `SLOW` seconds: Chromium sends six (its limit per host) and
# queues four, like Lab's plugins at start. One failure breaks the page for good, as it does Lab.
PAGE = b"""<!doctype html><html><body><p id="state">loading</p><script>
const all = [];
for (let i = 0; i < 10; i++) all.push(fetch('/slow?' + i).then(r => r.text()));
Promise.all(all).then(() => { document.getElementById('state').textContent = 'ready'; },
                      e => { document.getElementById('state').textContent = 'broken: ' + e; });
</script></body></html>"""
SLOW = 6.0
READY = "document.getElementById('state') && document.getElementById('state').textContent === 'ready'"


class _SlowPages(http.server.BaseHTTPRequestHandler):
    """`GET /` and `POST /`: the page; `GET /slow`: a short text after `SLOW` seconds."""

    def do_GET(self):  # noqa: N802 - the base class names it so
        if self.path.startswith("/slow"):
            time.sleep(SLOW)
            self._answer(b"done", "text/plain")
        else:
            self._answer(PAGE, "text/html")

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer(PAGE, "text/html")

    def _answer(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002
        pass


@pytest.fixture
def slow_site():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowPages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def browser(tmp_path, artifacts):
    chromium = Chromium(tmp_path / "chromium-profile", artifacts / "chromium-harness.log")
    yield chromium
    chromium.close()


def change_the_network_while_queued() -> None:
    """Waits until the page's first six requests are out and four are queued, then adds an
    interface with an address (a veth pair, one end given a link-local IPv4 address at once,
    as an engine gives its bridge the gateway's) and removes it once Chromium has seen it."""
    time.sleep(1.0)
    name = f"lcnc{os.getpid() % 100000}"
    subprocess.run(["ip", "link", "add", f"{name}a", "type", "veth", "peer", "name", f"{name}b"], check=True)
    try:
        subprocess.run(["ip", "address", "add", f"169.254.{os.getpid() % 250 + 1}.1/32", "dev", f"{name}a"], check=True)
        for end in ("a", "b"):
            subprocess.run(["ip", "link", "set", f"{name}{end}", "up"], check=True)
        time.sleep(1.0)
    finally:
        subprocess.run(["ip", "link", "del", f"{name}a"], check=False)


def test_a_page_broken_by_a_network_change_while_loading_is_reloaded_once(browser, slow_site):
    browser.navigate(f"{slow_site}/")
    browser.wait_for("!!document.getElementById('state')", timeout=10)
    change_the_network_while_queued()
    # Without the reload the page would stay "broken: TypeError: Failed to fetch" for good.
    browser.wait_for(READY, timeout=30)
    assert len(browser.reloads) == 1, browser.reloads
    assert "GET " in browser.reloads[0] and "/slow?" in browser.reloads[0], browser.reloads


def test_a_page_a_form_posted_is_not_reloaded_and_its_wait_says_why(browser, slow_site):
    # The page is the answer to a POST: reloading it would send the form again, so the wait
    # times out instead, and its message names the dropped requests.
    browser.navigate(f"data:text/html,<form method=post action='{slow_site}/'><input name=a value=1></form>"
                     "<script>document.forms[0].submit()</script>")
    browser.wait_for(f"location.href === '{slow_site}/' && !!document.getElementById('state')", timeout=10)
    change_the_network_while_queued()
    with pytest.raises(TimeoutError) as failed:
        browser.wait_for(READY, timeout=10)
    assert browser.reloads == []
    assert NETWORK_CHANGED in str(failed.value) and "broken: TypeError" in str(failed.value), failed.value
