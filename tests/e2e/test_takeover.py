"""(issue 18, item 1) A stopped server's port cannot be taken over.

With host networking every container shares the host's loopback. When student B's server stops
(B clicks Shut Down in JupyterLab and the container exits), B's port is free, and student A's code
can bind it on 127.0.0.1. B's next request to /user/B/lab must not reach A's listener (it would
get B's `jupyterhub-user-B` and `_xsrf` cookies and could serve a page on the hub's origin), and
B's next launch must start B's own container.

Here the test process plays A's code: a small HTTP server bound on 127.0.0.1 at B's old port the
moment B's container has stopped, recording every request it receives.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time

from hub import engine_cli

LABEL_PORT = "lticontainer.port"


class ForeignListener:
    """An HTTP server on 127.0.0.1:<port> that answers everything with a fake Jupyter page and
    records each request (path and headers)."""

    def __init__(self, port: int, timeout: float = 20) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.requests.append((self.command, self.path, dict(self.headers)))
                body = b"<html><title>JupyterLab</title>FOREIGN</html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

            def log_message(self, *args) -> None:  # keep pytest's output clean
                pass

        # Like an attacker, keep trying until the port is free (the server may still be closing).
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def port_of(engine: str, container: str) -> int:
    out = engine_cli(engine, "inspect", "--format", f'{{{{index .Config.Labels "{LABEL_PORT}"}}}}', container)
    return int(out.strip())


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_stopped_servers_port_is_not_taken_over(hub, student, engine):
    bob = student(hub, "bob")
    bob.launch()
    bob.wait_ready()
    bob.open_lab()
    assert bob.execute("1+1") == "2"
    [container] = hub.containers("bob", running_only=True)
    port = port_of(engine, container)
    assert bob.cookie_header(f"{hub.url}/user/bob/lab"), "bob's browser has cookies for his server"

    # Bob's server ends from inside, as JupyterLab's "Shut Down" ends it: the container exits.
    engine_cli(engine, "stop", "-t", "10", container)
    # At once, other code on the host network binds the freed port.
    foreign = ForeignListener(port)
    try:
        assert listening(port)
        # Bob's next click.
        r = bob.session.get(f"{hub.url}/user/bob/lab", allow_redirects=False, timeout=30)
        assert not foreign.requests, (
            f"bob's request reached the listener that took over his port: {foreign.requests}\n"
            f"hub answered {r.status_code}: {r.text[:300]}"
        )
        assert "FOREIGN" not in r.text
        if r.status_code in (302, 303):
            assert r.headers["Location"].endswith("/hub/spawn-pending/bob"), r.headers["Location"]
        else:
            assert r.status_code == 503 and "not running any more" in r.text, (r.status_code, r.text[:300])
        # The API and the kernel channels are refused as well.
        r = bob.session.get(f"{hub.url}/user/bob/api/kernels", allow_redirects=False, timeout=30)
        assert not foreign.requests, foreign.requests
        assert r.status_code in (302, 303, 503), r.status_code

        # Bob launches again while the foreign listener still holds a port of the hub's range:
        # the new server is his own container, on another port.
        bob.launch()
        bob.wait_ready()
        lab = bob.open_lab()
        assert "FOREIGN" not in lab.text and "JupyterLab" in lab.text, lab.text[:300]
        assert bob.execute("1+1") == "2"
        [new] = hub.containers("bob", running_only=True)
        assert new != container
        assert port_of(engine, new) != port
        assert not foreign.requests, f"the foreign listener was reached: {foreign.requests}"
    finally:
        foreign.close()


def test_engine_event_ends_the_routing_when_a_container_stops(hub, student, engine):
    """Without any request, the hub learns from the engine's events that the container stopped:
    bob's next request goes to the spawn page at once, not to the old port."""
    bob = student(hub, "bob")
    bob.launch()
    bob.wait_ready()
    bob.open_lab()
    [container] = hub.containers("bob", running_only=True)

    engine_cli(engine, "stop", "-t", "10", container)
    deadline = time.monotonic() + 15
    while "the server's container ended" not in hub.log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"no event-driven stop in the hub's log:\n{hub.log_tail()}"
        time.sleep(0.1)
    r = bob.session.get(f"{hub.url}/user/bob/lab", allow_redirects=False, timeout=30)
    assert r.status_code in (302, 303), (r.status_code, r.text[:300])
    assert r.headers["Location"].endswith("/hub/spawn-pending/bob"), r.headers["Location"]
