"""Fixtures of the end-to-end suite: the engine (Docker and Podman), a hub per test, students.

Engines come from $LTICONTAINER_TEST_ENGINES (default "docker,podman"). An engine that is asked for
but does not answer fails the tests; nothing is skipped silently.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from client import Browser  # noqa: E402
from hub import CONSUMER_KEY, CONSUMER_SECRET, IMAGE, REPO, Hub, remove_suite_leftovers  # noqa: E402
from lti_consumer import MoodleConsumer, Student  # noqa: E402

ENGINES = [e for e in os.environ.get("LTICONTAINER_TEST_ENGINES", "docker,podman").split(",") if e]
ARTIFACTS = Path(os.environ.get("LTICONTAINER_E2E_ARTIFACTS", REPO / "target" / "e2e-artifacts"))


def _check_engine(engine: str) -> None:
    out = subprocess.run([engine, "image", "inspect", IMAGE], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        pytest.fail(
            f"{engine} lacks {IMAGE} or does not answer ({out.stderr.strip()}); "
            f"run scripts/setup-engines.sh {engine} && scripts/build-jupyter-image.sh {engine}"
        )


_cleaned: set[str] = set()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Each engine under test in turn (cleared once per run of what earlier runs left behind)."""
    _check_engine(request.param)
    if request.param not in _cleaned:
        _cleaned.add(request.param)
        left = remove_suite_leftovers(request.param)
        if left:
            print(f"removed {len(left)} leftovers of earlier e2e runs on {request.param}: {left}")
    return request.param


@pytest.fixture
def artifacts() -> Path:
    """Where tests leave screenshots and logs for a human to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def make_hub(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Hub]]:
    """Starts hubs on `engine`; stops them and removes their containers at the end of the test.

    A failed test copies each hub's log to the artifacts directory.
    """
    hubs: list[Hub] = []
    request.node.e2e_hubs = hubs  # for the failure report (pytest_runtest_makereport)

    def make(**kwargs) -> Hub:
        hub = Hub(engine=engine, workdir=tmp_path / f"hub{len(hubs)}", **kwargs)
        hubs.append(hub)
        hub.start()
        return hub

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for hub in hubs:
        if failed and hub.log_path.exists():
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            dest = ARTIFACTS / f"{request.node.name}-{hub.instance}.log".replace("/", "_")
            dest.write_bytes(hub.log_path.read_bytes())
        hub.cleanup()


@pytest.fixture
def hub(make_hub: Callable[..., Hub]) -> Hub:
    """One hub on the engine under test."""
    return make_hub()


@pytest.fixture
def consumer() -> Callable[[Hub], MoodleConsumer]:
    """A Moodle-like consumer signing launches for a hub."""
    return lambda hub: MoodleConsumer(CONSUMER_KEY, CONSUMER_SECRET, hub.launch_url)


@pytest.fixture
def student(consumer: Callable[[Hub], MoodleConsumer]) -> Callable[[Hub, str], Browser]:
    """A browser for a named student (user_id derived from the name) against a hub."""

    def make(hub: Hub, name: str, **kwargs) -> Browser:
        user_id = kwargs.pop("user_id", str(1000 + sum(name.encode()) % 9000))
        return Browser(hub, Student(name, user_id=user_id, **kwargs), consumer(hub))

    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keeps each phase's report on the test item, so fixtures know whether the test failed; a
    failed phase's report gets, for each hub the test started, the last warnings of its log."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
    if rep.failed:
        for hub in getattr(item, "e2e_hubs", []):
            rep.sections.append((f"hub {hub.workdir.name}: its last warnings and errors", hub.log_problems()))
