"""The peer stack for one workload: `jupyterhub -f benches/peer/jupyterhub_config.py` (which starts
configurable-http-proxy as its child) with a fresh database, its own ports and its own label.

It offers what the e2e client (`tests/e2e/client.py`) needs of a hub (`url`, `launch_url`, `port`,
`log_tail()`), so the same scripted student drives both hubs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests
from hub import free_port

from engine import RUN_LABEL as LABEL
from engine import remove_containers

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "jupyterhub_config.py"


@dataclass
class PeerHub:
    """One JupyterHub process (and its proxy) with its config, database and log."""

    venv: Path
    chp: Path
    workdir: Path
    image: str
    consumer_key: str
    consumer_secret: str
    run_id: str
    # Each server's memory limit in bytes (DockerSpawner's `mem_limit`).
    mem_limit: int = 1 << 30
    port: int = field(default_factory=free_port)
    hub_port: int = field(default_factory=free_port)
    proxy_api_port: int = field(default_factory=free_port)
    proxy_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    prefix: str = field(default_factory=lambda: "peerbench-jh-" + uuid.uuid4().hex[:6])
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The public URL (the proxy)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def launch_url(self) -> str:
        """ltiauthenticator's LTI 1.1 launch endpoint."""
        return f"{self.url}/hub/lti/launch"

    # What the e2e client's `Browser` asks of any hub: the peer serves plain HTTP on loopback.
    tls = False
    verify = True
    host = "127.0.0.1"

    @property
    def log_path(self) -> Path:
        """JupyterHub's and the proxy's combined output."""
        return self.workdir / "jupyterhub.log"

    @property
    def label(self) -> str:
        """The `key=value` label on every container this hub starts."""
        return f"{LABEL}={self.run_id}"

    def start(self, timeout: float = 120) -> None:
        """Starts JupyterHub on a fresh database and waits until its API answers through the proxy."""
        assert self.proc is None, "peer hub already started"
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True)
        env = dict(
            os.environ,
            PATH=f"{self.venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            PEERBENCH_WORKDIR=str(self.workdir),
            PEERBENCH_PORT=str(self.port),
            PEERBENCH_HUB_PORT=str(self.hub_port),
            PEERBENCH_PROXY_API_PORT=str(self.proxy_api_port),
            PEERBENCH_PROXY_TOKEN=self.proxy_token,
            PEERBENCH_CHP=str(self.chp),
            PEERBENCH_CONSUMER_KEY=self.consumer_key,
            PEERBENCH_CONSUMER_SECRET=self.consumer_secret,
            PEERBENCH_IMAGE=self.image,
            PEERBENCH_PREFIX=self.prefix,
            PEERBENCH_RUN=self.run_id,
            PEERBENCH_MEM_LIMIT=str(self.mem_limit),
        )
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(self.venv / "bin" / "jupyterhub"), "-f", str(CONFIG)],
            cwd=self.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.proc.returncode} at start:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"jupyterhub did not answer /hub/api/ through the proxy within {timeout}s:\n{self.log_tail()}")

    def add_route(self, prefix: str, target: str) -> None:
        """Adds a proxy route the way JupyterHub does when a server is ready (CHP's REST API)."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.proxy_api_port}/api/routes{prefix}",
            data=json.dumps({"target": target}).encode(),
            headers={"Authorization": f"token {self.proxy_token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            if resp.status != 201:
                raise RuntimeError(f"configurable-http-proxy refused the route {prefix} -> {target}: {resp.status}")

    def pid(self) -> int:
        """The jupyterhub process id (configurable-http-proxy is its child)."""
        assert self.proc is not None and self.proc.poll() is None, "peer hub is not running"
        return self.proc.pid

    def stop(self) -> None:
        """Stops JupyterHub and its proxy (their process group only)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # a proxy left behind by a hub that died
        except ProcessLookupError:
            pass
        self.proc = None

    def cleanup(self) -> None:
        """Stops the hub and removes every container it started."""
        self.stop()
        remove_containers(self.label)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the hub's log, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no jupyterhub log)"
