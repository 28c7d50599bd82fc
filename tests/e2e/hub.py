"""Runs `lticontainer serve` for one test: a generated TOML config, its own ports, its own state.

Everything the hub creates is labelled `lticontainer.hub=<instance>`, with an instance name unique to
the test, so the suite counts and removes exactly its own containers, volumes and networks and never
touches others.

Hubs run with the default networking, "isolated": each server on a private network of its own.
Each hub gets one of 400 blocks: 25 server ports (21000 + 25 x block), a /22 of
10.213.0.0-10.220.255.255 for its networks (10.213.224.0/19 is left to the cargo tests), and its
own two ports (31000 + 2 x block: the hub, then the servers' hub API), all below the kernel's
ephemeral range. Blocks are handed out in turn, so no two hubs of one run share ports, subnets or bridge names (with blocks picked
by chance, two hubs of a run met on one block, and a network left over by the first clashed with
the second's). `LTICONTAINER_E2E_NETWORK=host` runs every hub with
`network = "host"` instead (to show what the isolation tests catch there);
`LTICONTAINER_E2E_NETWORK=unset` writes no network setting at all, for binaries older than the
setting (before issue 12 their default was host networking).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("LTICONTAINER_JUPYTER_IMAGE", "lticontainer-test/jupyter:latest")
CONSUMER_KEY = "e2e-moodle"
CONSUMER_SECRET = "e2e-secret-" + uuid.uuid4().hex
SOCKETS = {"docker": "/var/run/docker.sock", "podman": "/run/podman/podman.sock", "swarm": "/var/run/docker.sock"}
LABEL_HUB = "lticontainer.hub"
# "isolated" (the hub's default) or "host".
NETWORK = os.environ.get("LTICONTAINER_E2E_NETWORK", "isolated")
LABEL_USER = "lticontainer.user"


def hub_binary() -> Path:
    """The `lticontainer` binary under test: $LTICONTAINER_BIN, else the newest cargo build of it."""
    explicit = os.environ.get("LTICONTAINER_BIN")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise FileNotFoundError(f"LTICONTAINER_BIN={explicit} does not exist")
        return path
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    candidates = [p for p in (target / "release" / "lticontainer", target / "debug" / "lticontainer") if p.is_file()]
    if not candidates:
        raise FileNotFoundError(
            f"no lticontainer binary under {target}; run `cargo build -p lticontainer` or set LTICONTAINER_BIN"
        )
    return max(candidates, key=lambda p: p.stat().st_mtime)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_of(engine: str) -> str:
    """The command-line client of `engine`: the swarm engine is Docker's (a Swarm manager)."""
    return "docker" if engine == "swarm" else engine


def engine_cli(engine: str, *args: str, check: bool = True) -> str:
    """Runs `docker …` or `podman …` and returns its stdout."""
    engine = cli_of(engine)
    out = subprocess.run([engine, *args], capture_output=True, text=True, timeout=120)
    if check and out.returncode != 0:
        raise RuntimeError(f"`{engine} {' '.join(args)}` failed: {out.stderr.strip()}")
    return out.stdout


def labelled_containers(engine: str, instance: str, user: str | None = None, running_only: bool = False) -> list[str]:
    """The ids of the containers labelled for this hub instance (optionally one user's), from the engine."""
    args = ["ps", "-q", "--no-trunc", "--filter", f"label={LABEL_HUB}={instance}"]
    if user is not None:
        args += ["--filter", f"label={LABEL_USER}={user}"]
    if not running_only:
        args.append("-a")
    return engine_cli(engine, *args).split()


def labelled_networks(engine: str, instance: str) -> list[str]:
    """The names of the networks labelled for this hub instance."""
    out = engine_cli(engine, "network", "ls", "--format", "{{.Name}}", "--filter", f"label={LABEL_HUB}={instance}")
    return out.split()


def labelled_services(instance: str) -> list[str]:
    """The ids of the Swarm services labelled for this hub instance (the swarm engine's servers)."""
    return engine_cli("docker", "service", "ls", "-q", "--filter", f"label={LABEL_HUB}={instance}").split()


def service_of(hub: Hub, user: str) -> dict:
    """The one Swarm service of `user`'s server on `hub`, as `docker service inspect` gives it."""
    ids = engine_cli(
        "swarm", "service", "ls", "-q", "--filter", f"label={LABEL_HUB}={hub.instance}",
        "--filter", f"label={LABEL_USER}={user}",
    ).split()
    assert len(ids) == 1, f"expected one service for {user}, the manager lists {ids}"
    return json.loads(engine_cli("swarm", "service", "inspect", ids[0]))[0]


def remove_labelled(engine: str, instance: str) -> None:
    """Removes every service, container, volume and network this hub instance labelled."""
    if engine == "swarm":
        services = labelled_services(instance)
        if services:
            engine_cli(engine, "service", "rm", *services, check=False)
    ids = labelled_containers(engine, instance)
    if ids:
        engine_cli(engine, "rm", "-f", *ids, check=False)
    vols = engine_cli(engine, "volume", "ls", "-q", "--filter", f"label={LABEL_HUB}={instance}", check=False).split()
    if vols:
        engine_cli(engine, "volume", "rm", "-f", *vols, check=False)
    nets = labelled_networks(engine, instance)
    # A Swarm network before the configuration network it is made from, which the engine lets go
    # of only once its node's copy of the network is gone: a few tries.
    nets.sort(key=lambda n: n.endswith(".config"))
    for _ in range(20 if engine == "swarm" else 1):
        if not nets:
            break
        engine_cli(engine, "network", "rm", *nets, check=False)
        nets = labelled_networks(engine, instance)
        if nets:
            time.sleep(0.5)


# Port and network blocks, handed out in turn from a random start (see the module docs).
# `LTICONTAINER_E2E_BLOCK_START` fixes the start, so runs side by side (two worktrees on one
# machine) can be given disjoint blocks.
BLOCKS = 400
_next_block = itertools.count(int(os.environ.get("LTICONTAINER_E2E_BLOCK_START", random.randrange(BLOCKS))))
# Every hub instance of this run is named with this prefix; the leftovers the suite removes at its
# start are those with the same prefix. `LTICONTAINER_E2E_PREFIX` (e.g. `e2eb-`, not under `e2e-`) keeps a run side
# by side with another from removing the other's containers.
INSTANCE_PREFIX = os.environ.get("LTICONTAINER_E2E_PREFIX", "e2e-")


def remove_suite_leftovers(engine: str) -> list[str]:
    """Removes what earlier runs of this suite left behind on `engine` (containers and networks
    whose `lticontainer.hub` label names an instance with this run's prefix: every hub of this
    suite, none of anyone else's), so a leftover network cannot hold a subnet or bridge name a new hub picks.
    Returns what it removed."""
    removed: list[str] = []
    if engine == "swarm":
        rows = engine_cli(engine, "service", "ls", "--filter", f"label={LABEL_HUB}", "--format", "{{.ID}} {{.Name}}", check=False)
        services = [line.split()[0] for line in rows.splitlines() if len(line.split()) == 2 and line.split()[1].startswith(INSTANCE_PREFIX)]
        if services:
            engine_cli(engine, "service", "rm", *services, check=False)
            removed += services
    label = f'{{{{.Label "{LABEL_HUB}"}}}}' if engine != "podman" else f'{{{{index .Labels "{LABEL_HUB}"}}}}'
    rows = engine_cli(engine, "ps", "-a", "--filter", f"label={LABEL_HUB}", "--format", f"{{{{.ID}}}} {label}", check=False)
    ids = [line.split()[0] for line in rows.splitlines() if len(line.split()) == 2 and line.split()[1].startswith(INSTANCE_PREFIX)]
    if ids:
        engine_cli(engine, "rm", "-f", *ids, check=False)
        removed += ids
    nets = engine_cli(engine, "network", "ls", "--filter", f"label={LABEL_HUB}", "--format", "{{.Name}}", check=False).split()
    nets = sorted((n for n in nets if n.startswith(INSTANCE_PREFIX)), key=lambda n: n.endswith(".config"))
    if nets:
        engine_cli(engine, "network", "rm", *nets, check=False)
        removed += nets
    return removed


def make_server_certificate(directory: Path) -> None:
    """Writes `cert.pem`/`key.pem` for 127.0.0.1 to `directory`, signed by the CA there
    (`ca.pem`/`ca.key`, made on first use), with the openssl CLI."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    if not ca.exists():
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=lticontainer e2e CA",
                "-keyout", str(ca_key), "-out", str(ca))
    csr, ext = directory / "cert.csr", directory / "cert.ext"
    ext.write_text("subjectAltName = IP:127.0.0.1\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", str(directory / "key.pem"), "-out", str(csr))
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
            "-days", "2", "-extfile", str(ext), "-out", str(directory / "cert.pem"))


@dataclass
class Hub:
    """One `lticontainer serve` process with its config, state directory and log."""

    engine: str
    workdir: Path
    engine_socket: str = ""
    extra_config: str = ""
    # Lines added to the [hub] table (extra_config lands after the engine's table).
    hub_config: str = ""
    # Lines added to the [spec] table.
    spec_config: str = ""
    # The default image (`[spec] default_image`).
    image: str = IMAGE
    # False (a stock image runs its CMD as the student's uid) writes `run_as_root = false`; True
    # keeps the shipped default (the container starts as root, the image's start.sh creates the
    # user, sets the volume rights and drops to the user).
    run_as_root: bool = False
    # Raise the spawn timeouts for a shared, loaded test machine; benchmarks keep the defaults.
    patient: bool = True
    # The hub's own port and the servers' hub API port (isolated networking, at each server
    # network's gateway): 0 takes the pair of the hub's block (see `__post_init__`).
    port: int = 0
    api_port: int = 0
    network: str = NETWORK
    instance: str = field(default_factory=lambda: INSTANCE_PREFIX + uuid.uuid4().hex[:10])
    block: int = field(default_factory=lambda: next(_next_block) % BLOCKS)
    # Overrides of the block's server ports and network pool, for a benchmark's lone hub that
    # needs more than a block's 50 servers (`(port_min, port_max)`; a pool with a /28 per port).
    port_range: tuple[int, int] | None = None
    network_pool: str | None = None
    proc: subprocess.Popen | None = None
    starts: int = 0
    # True: the hub serves HTTPS itself ([hub] ssl_cert/ssl_key) with a certificate for 127.0.0.1
    # that a CA made for this hub signs (`make_test_ca`); clients trust `ca_file`.
    tls: bool = False
    # The address the hub binds and its URL names. Another address than loopback (one the test
    # made, e.g. scripts/swarm-nodes.sh's 10.241.7.254) with `network = "host"` is for servers on
    # other machines: they bind 0.0.0.0 and call the hub's API at this address.
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        # Like the server ports, the hub's two listening ports come from its block and lie below
        # the kernel's ephemeral range: a port that was merely free when picked (bound to 0 and
        # let go) was taken by an outgoing connection before the hub listened on it in CI.
        if self.port == 0:
            self.port = 31000 + self.block * 2
        if self.api_port == 0:
            self.api_port = 31000 + self.block * 2 + 1

    @property
    def url(self) -> str:
        """The hub's public base URL (what Moodle's tool URL points at)."""
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def ca_file(self) -> Path:
        """The test CA's certificate (with `tls`), written by `config_path`."""
        return self.workdir / "tls" / "ca.pem"

    @property
    def verify(self) -> str | bool:
        """What `requests` gets as `verify=`: the test CA with `tls`, else the default."""
        return str(self.ca_file) if self.tls else True

    def issue_certificate(self) -> None:
        """With `tls`: (re)writes the hub's certificate and key, signed by the hub's test CA."""
        make_server_certificate(self.workdir / "tls")

    @property
    def server_ports(self) -> tuple[int, int]:
        """The first and last port of the hub's server port range (`port_min`, `port_max`)."""
        if self.port_range is not None:
            return self.port_range
        port_min = 21000 + self.block * 25
        return port_min, port_min + 24

    @property
    def launch_url(self) -> str:
        """The LTI 1.1 launch endpoint, the path JupyterHub's ltiauthenticator uses."""
        return f"{self.url}/hub/lti/launch"

    @property
    def log_path(self) -> Path:
        """The hub's combined stdout/stderr of every start."""
        return self.workdir / "hub.log"

    def config_path(self) -> Path:
        """Writes the TOML config (once) and returns its path."""
        path = self.workdir / "lticontainer.toml"
        if path.exists():
            return path
        home = self.workdir / "home"
        home.mkdir(exist_ok=True)
        sock = self.engine_socket or SOCKETS[self.engine]
        engine_table = {
            "docker": f'[docker]\nhost = "unix://{sock}"\n',
            "swarm": f'[swarm]\nhost = "unix://{sock}"\n',
        }.get(self.engine, f'[podman]\nsocket = "{sock}"\n')
        # Each hub gets its own block of server ports, and the /22 of networks they pick, so hubs
        # running side by side never collide (10.213.224.0/19 stays free for the cargo tests).
        # The ports lie below the kernel's ephemeral ones (32768 and up), where kernels and
        # outgoing connections take theirs, as the hub's default range does.
        block = self.block
        port_min, port_max = self.server_ports
        if self.network == "host":
            networking = 'network = "host"\n'
            if self.host != "127.0.0.1":
                networking += f'server_bind_host = "0.0.0.0"\nhub_api_url = "{self.url}/hub/api"\n'
        elif self.network == "unset":
            networking = ""
        else:
            pool = self.network_pool or f"10.{213 + block // 56}.{block % 56 * 4}.0/22"
            networking = f'network_pool = "{pool}"\ncontainer_api_port = {self.api_port}\n'

        root = (
            ""
            if self.run_as_root
            else "# A stock image runs its CMD (jupyterhub-singleuser) as the student's uid, not as root.\n"
            "run_as_root = false\n"
        )
        timeouts = (
            "# The test machine is shared (2 cores, other builds): Jupyter servers may start slowly.\n"
            "start_timeout_secs = 300\nhttp_timeout_secs = 180\n"
            if self.patient
            else ""
        )
        tls = ""
        if self.tls:
            self.issue_certificate()
            tls = f'ssl_cert = "{self.workdir / "tls" / "cert.pem"}"\nssl_key = "{self.workdir / "tls" / "key.pem"}"\n'
        path.write_text(
            f"""# written by tests/e2e/hub.py
engine = "{self.engine}"

[hub]
bind = "{self.host}:{self.port}"
state_dir = "{self.workdir / 'state'}"
port_min = {port_min}
port_max = {port_max}
{networking}{timeouts}{tls}{self.hub_config}

[public_url]
base_url = "{self.url}"

[lti]
consumers = {{ "{CONSUMER_KEY}" = "{CONSUMER_SECRET}" }}

[spec]
default_image = "{self.image}"
hub_instance = "{self.instance}"
container_prefix = "{self.instance}-"
home_template = "{home}/{{group}}/{{user}}"
group_home_template = "{home}/{{group}}"
{root}{self.spec_config}

{engine_table}pull = false
{self.extra_config}
"""
        )
        return path

    def start(self, timeout: float = 30) -> None:
        """Starts the hub and waits until its API root answers."""
        assert self.proc is None or self.proc.poll() is not None, "hub already running"
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        log.write(f"\n===== start {self.starts + 1} =====\n".encode())
        log.flush()
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"), RUST_BACKTRACE="1")
        self.proc = subprocess.Popen(
            [str(hub_binary()), "serve", "--config", str(self.config_path())],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.workdir,
            start_new_session=True,
        )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited with {self.proc.returncode} at start:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=2, verify=self.verify).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"hub did not answer /hub/api/ within {timeout}s:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        """Stops the hub process (only this process) and waits for it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self) -> None:
        """Stops the hub gracefully and starts it again with the same config and state."""
        self.stop()
        self.start()

    def containers(self, user: str | None = None, running_only: bool = False) -> list[str]:
        """This hub's labelled containers, as the engine lists them."""
        return labelled_containers(self.engine, self.instance, user, running_only)

    def networks(self) -> list[str]:
        """This hub's labelled networks, as the engine lists them."""
        return labelled_networks(self.engine, self.instance)

    def _log_lines(self) -> list[str] | None:
        """The hub's log, line by line; None before the hub wrote one."""
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return None

    def log_tail(self, lines: int = 60) -> str:
        """The end of the hub's log, for failure messages."""
        log = self._log_lines()
        return "(no hub log)" if log is None else "\n".join(log[-lines:])

    def log_problems(self, lines: int = 12) -> str:
        """The last warnings and errors of the hub's log, each cut short: what a failure report
        shows of a log that the artifacts directory keeps whole."""
        log = self._log_lines()
        if log is None:
            return "(no hub log)"
        found = [line[:400] for line in log if " WARN " in line or " ERROR " in line]
        return "\n".join(found[-lines:]) or "(none)"

    def cleanup(self) -> None:
        """Stops the hub and removes everything it labelled."""
        self.stop()
        remove_labelled(self.engine, self.instance)
        home = self.workdir / "home"
        if home.exists():
            # Homes are owned by the students' uids; the test runs as root and removes them.
            shutil.rmtree(home, ignore_errors=True)
