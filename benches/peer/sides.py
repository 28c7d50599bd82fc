"""The three things measured side by side — lticontainer, the peer stack, the floor — behind one
small interface: start fresh, start one student's server and time it, measure memory, clean up.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hub import CONSUMER_KEY, CONSUMER_SECRET
from lti_consumer import MoodleConsumer

import procmem
from floor import Floor
from launches import SingleResult, browser, launch_to_ready, one_student
from hub_launch import spawn_steps
from ours import OurHub
from peer_hub import PeerHub

# The custom parameters every launch carries, to both hubs alike: lticontainer reads lms_defurl;
# ltiauthenticator's documented Moodle set-up sends `next` so the launch goes on to the server
# (without it ltiauthenticator lands on /hub/home and nothing is spawned).
CUSTOM = {"lms_defurl": "/lab", "next": "/hub/user-redirect/lab"}


@dataclass
class Settings:
    """What every side needs to know."""

    image: str
    upstream_image: str
    venv: Path
    chp: Path
    run_id: str
    # Each server's memory limit in bytes, the same on every side (the hub's default: 1 GiB).
    mem_limit: int = 1 << 30
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="peerbench-")))


class HubSide:
    """A hub (ours or the peer) driven by scripted students."""

    name = ""
    hub = None

    def __init__(self, settings: Settings):
        self.settings = settings
        self.starts = 0
        self.consumer: MoodleConsumer | None = None
        self.next_uid = 6000

    def _new_hub(self):  # noqa: ANN202 (OurHub or PeerHub)
        raise NotImplementedError

    def start(self) -> None:
        """Starts a fresh hub (new state, no servers)."""
        self.starts += 1
        self.hub = self._new_hub()
        self.hub.start()
        self.consumer = MoodleConsumer(CONSUMER_KEY, CONSUMER_SECRET, self.hub.launch_url, custom=dict(CUSTOM))

    def student(self, name: str, custom: dict[str, str] | None = None):  # noqa: ANN201 (e2e Browser)
        """A new scripted student of this hub."""
        assert self.consumer is not None, f"{self.name} not started"
        consumer = self.consumer
        if custom:
            consumer = MoodleConsumer(CONSUMER_KEY, CONSUMER_SECRET, self.hub.launch_url, custom={**CUSTOM, **custom})
        self.next_uid += 1
        return browser(self.hub, consumer, name, self.next_uid)

    def single(self, name: str) -> SingleResult:
        """Workload 1 for one new student; inside the wait for `ready`, the hub's own steps when
        its log has them."""
        out = one_student(self.student(name))
        out.phases.update({f"  hub step: {step}": s for step, s in self.spawn_steps(name).items()})
        return out

    def spawn_steps(self, name: str) -> dict[str, float]:
        """The hub's own split of `name`'s spawn (seconds by step); none by default."""
        return {}

    def start_one(self, name: str) -> float:
        """Workload 2's unit: one new student's launch to ready."""
        return launch_to_ready(self.student(name))

    def class_steps(self, names: list[str]) -> dict[str, list[float]]:
        """Where a class's launches went: for each of the hub's own steps, its seconds in every
        launch of `names` that logged it."""
        by_step: dict[str, list[float]] = {}
        for name in names:
            for step, secs in self.spawn_steps(name).items():
                by_step.setdefault(step, []).append(secs)
        return by_step

    def pid(self) -> int:
        """The hub's process id."""
        raise NotImplementedError

    def memory(self) -> tuple[int, list[tuple[str, int]]]:
        """VmRSS (KiB) of the hub's process tree and its parts."""
        return procmem.tree_rss(self.pid())

    def running(self) -> int:
        """Servers running now."""
        raise NotImplementedError

    def cleanup(self) -> None:
        """Stops the hub and removes its containers."""
        if self.hub is not None:
            self.hub.cleanup()
            self.hub = None

    def log_tail(self) -> str:
        """The hub's last log lines."""
        return self.hub.log_tail() if self.hub is not None else ""


class OursSide(HubSide):
    """`lticontainer serve`, with its defaults."""

    name = "lticontainer"

    def _new_hub(self) -> OurHub:
        return OurHub(
            engine="docker",
            workdir=self.settings.workdir / f"ours-{self.starts}",
            extra_allowed_image=self.settings.upstream_image,
            spec_config=f"mem_limit = {self.settings.mem_limit}",
            # The hub's default port range (an e2e hub's block has 25 ports, fewer than a class).
            port_range=(20000, 20999),
        )

    def pid(self) -> int:
        assert self.hub is not None and self.hub.proc is not None
        return self.hub.proc.pid

    def spawn_steps(self, name: str) -> dict[str, float]:
        """The steps of the `spawn ended` line in the hub's log."""
        assert self.hub is not None
        return spawn_steps(self.hub.log_path.read_text(errors="replace"), name)

    def running(self) -> int:
        return len(self.hub.containers(running_only=True))


class PeerSide(HubSide):
    """JupyterHub 5 + ltiauthenticator + DockerSpawner + configurable-http-proxy."""

    name = "JupyterHub"

    def _new_hub(self) -> PeerHub:
        s = self.settings
        return PeerHub(
            venv=s.venv,
            chp=s.chp,
            workdir=s.workdir / f"peer-{self.starts}",
            image=s.image,
            consumer_key=CONSUMER_KEY,
            consumer_secret=CONSUMER_SECRET,
            run_id=s.run_id,
            mem_limit=s.mem_limit,
        )

    def pid(self) -> int:
        return self.hub.pid()

    def running(self) -> int:
        from engine import containers

        return len(containers(self.hub.label, running_only=True))


class FloorSide:
    """The same containers straight on the engine."""

    name = "floor"

    def __init__(self, settings: Settings, hub_version: str):
        self.floor = Floor(settings.image, settings.run_id, hub_version, memory=str(settings.mem_limit))
        self.started = False
        # (total, `docker run -d` returned) seconds of each server started by `start_one`.
        self.splits: dict[str, tuple[float, float]] = {}

    def start(self) -> None:
        """Starts the stub hub API (once)."""
        if not self.started:
            self.floor.start()
            self.started = True

    def start_one(self, name: str) -> float:
        """One server, started and waited for."""
        total, started = self.floor.start_timed(name)
        self.splits[name] = (total, started)
        return total

    def class_steps(self, names: list[str]) -> dict[str, list[float]]:
        """Where a class's starts went: the engine's `docker run -d`, then the server's own start."""
        splits = [self.splits[n] for n in names if n in self.splits]
        return {
            "docker run -d returned (created, started)": [started for _, started in splits],
            "→ server answers HTTP (polled every 50 ms)": [total - started for total, started in splits],
        }

    def single(self, name: str) -> SingleResult:
        """Workload 1's floor: the server's start only (no launch, no kernel)."""
        total, started = self.floor.start_timed(name)
        phases = {"docker run -d returned (created, started)": started, "→ server answers HTTP (polled every 50 ms)": total - started}
        return SingleResult(total, 0.0, "", phases)

    def cleanup(self) -> None:
        """Removes the floor's containers (the stub keeps running)."""
        self.floor.cleanup()
        self.splits.clear()

    def stop(self) -> None:
        """Removes the containers and the stub."""
        self.floor.stop()
        self.started = False
