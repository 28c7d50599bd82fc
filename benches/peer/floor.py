"""The floor: the same N containers started straight on the engine, without any hub — what no hub
can beat on this machine, engine and image.

Each container is `docker run -d` of the same image and command (the image's CMD,
`jupyterhub-singleuser`), with the same limits, host networking and a loopback port, as the hubs
run it. `jupyterhub-singleuser` refuses to start until a hub API answers, so a stub answers the two
calls it makes (the version check and activity reports) at once; nothing else of a hub exists.
Ready = the server answers HTTP at `/user/<name>/api` (the check both hubs make before they call a
server ready).
"""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from hub import free_port

from engine import RUN_LABEL as LABEL
from engine import containers, remove_containers


class _StubHubApi(http.server.BaseHTTPRequestHandler):
    """Answers every request like JupyterHub's API root (`{"version": …}`)."""

    version = "5.5.4"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"version": self.version}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-JupyterHub-Version", self.version)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


@dataclass
class Floor:
    """Starts servers directly on the engine; every container is labelled with the run id."""

    image: str
    run_id: str
    hub_version: str = "5.5.4"
    # Each server's memory limit, in `docker run --memory` form (the same on every side).
    memory: str = "1g"
    _server: http.server.ThreadingHTTPServer | None = None
    _ports: set[int] = field(default_factory=set)
    # The floor's running containers as one `docker ps` saw them, and when: every waiting server
    # shares one listing every 2 s (a `docker ps` per server every 2 s, 50 a second for a class
    # of 100, had dockerd and the CLI take most of a core from the servers being measured).
    _running: tuple[float, frozenset[str]] = (0.0, frozenset())
    _running_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def label(self) -> str:
        """The `key=value` label on every floor container."""
        return f"{LABEL}={self.run_id}-floor"

    def start(self) -> None:
        """Starts the stub hub API on a loopback port."""
        _StubHubApi.version = self.hub_version
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StubHubApi)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def api_url(self) -> str:
        """The stub's hub API URL."""
        assert self._server is not None, "floor not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/hub/api"

    def docker_run_args(self, name: str, port: int) -> list[str]:
        """The `docker run` command line of one server."""
        prefix = f"/user/{name}/"
        env = {
            "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}{prefix}",
            "JUPYTERHUB_SERVICE_PREFIX": prefix,
            "JUPYTERHUB_BASE_URL": "/",
            "JUPYTERHUB_API_URL": self.api_url,
            "JUPYTERHUB_API_TOKEN": "floor-" + name,
            "JUPYTERHUB_CLIENT_ID": f"jupyterhub-user-{name}",
            "JUPYTERHUB_USER": name,
            "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}oauth_callback",
            "JUPYTERHUB_DEFAULT_URL": "/lab",
        }
        args = ["docker", "run", "-d", "--rm", "--name", f"{self.run_id}-floor-{name}", "--label", self.label,
                "--network", "host", "--cpus", "1", "--memory", self.memory]
        for k, v in env.items():
            args += ["-e", f"{k}={v}"]
        return args + [self.image]

    def command_template(self) -> str:
        """The docker command, for the report."""
        return " ".join(self.docker_run_args("<name>", 0)).replace(":0/", ":<port>/").replace(
            self.api_url, "http://127.0.0.1:<stub port>/hub/api"
        )

    def _port(self) -> int:
        while True:
            p = free_port()
            if p not in self._ports:
                self._ports.add(p)
                return p

    def start_timed(self, name: str, timeout: float = 600) -> tuple[float, float]:
        """Starts one server; returns seconds until it answers HTTP, and of those the seconds until
        `docker run -d` returned (the container created and started)."""
        port = self._port()
        t0 = time.monotonic()
        out = subprocess.run(self.docker_run_args(name, port), capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"docker run for {name} failed: {out.stderr.strip()}")
        started = time.monotonic() - t0
        container = out.stdout.strip()
        url = f"http://127.0.0.1:{port}/user/{name}/api"
        deadline = t0 + timeout
        last_look = time.monotonic()
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5):
                    return time.monotonic() - t0, started
            except urllib.error.HTTPError:
                return time.monotonic() - t0, started  # any HTTP answer: the server is up
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
            if time.monotonic() - last_look > 2:
                last_look = time.monotonic()
                if container not in self._running_containers():
                    raise RuntimeError(f"{name}'s floor container {container[:12]} ended before its server answered "
                                       "(it ran with --rm: a crash, or another run removed it)")
        raise TimeoutError(f"{name}'s server did not answer {url} within {timeout}s")

    def _running_containers(self) -> frozenset[str]:
        """The floor's running container ids, listed at most once every 2 s for all servers."""
        with self._running_lock:
            seen_at, running = self._running
            if time.monotonic() - seen_at > 2:
                running = frozenset(containers(self.label, running_only=True))
                self._running = (time.monotonic(), running)
            return running

    def cleanup(self) -> int:
        """Removes every floor container; returns how many there were."""
        self._ports.clear()
        return remove_containers(self.label)

    def stop(self) -> None:
        """Removes the containers and stops the stub."""
        self.cleanup()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
