"""Learning analytics end to end: cells students run in real Jupyter servers, through the hub's
proxy, over both kernel WebSocket protocols, reach a Moodle REST endpoint that behaves like
mod_lticontainer's web service (`fake_moodle.py`; the real Moodle tier is `test_moodle*.py`).
"""

from __future__ import annotations

import time

import pytest

from fake_moodle import FakeMoodle
from kernel_channel import KernelChannel

TOKEN = "0123456789abcdef0123456789abcdef"
TAGS = lambda n: ["filename: ex1.ipynb", f"codenum: {n}"]  # noqa: E731
CELLS = [("x = 1", "cell-1", 1, "ok"), ("1/0", "cell-2", 2, "error"), ("x + 1", "cell-3", 3, "ok")]


@pytest.fixture
def moodle():
    m = FakeMoodle(TOKEN)
    yield m
    m.close()


def from_moodle(hub, student, name, moodle, path=""):
    """A student whose launch carries the analytics parameters mod_lticontainer writes."""
    b = student(hub, name)
    b.consumer.custom = {"lms_defurl": "/lab"}
    b.consumer.send_logs_to(
        {"lms_sessioninfo": "3,76", "lms_serverurl": moodle.url, "lms_serverpath": path, "lms_rpctoken": TOKEN}
    )
    return b


def ready(b):
    b.launch()
    b.wait_ready()
    b.open_lab()
    return b.start_kernel()


def test_cells_run_in_jupyter_reach_moodle_over_both_protocols(hub, student, moodle):
    # A launch without lms_sessioninfo: the student works as usual and nothing is captured.
    cal = student(hub, "cal")
    kernel = ready(cal)
    plain = KernelChannel(cal, kernel, v1=False)
    assert plain.run_cell("2 + 2", "cell-x", TAGS(9))[1] == "ok"
    plain.close()

    sessions = {}
    for name, v1 in [("amy", False), ("ben", True)]:
        b = from_moodle(hub, student, name, moodle)
        ch = KernelChannel(b, ready(b), v1=v1)
        sent = []
        for code, cell, num, want in CELLS:
            msg_id, status = ch.run_cell(code, cell, TAGS(num))
            assert status == want, (name, code, status)
            sent.append((msg_id, cell, want))
        ch.close()
        sessions[name] = (ch.session_id, sent)

    moodle.wait_rows(2 * (1 + 3 + 3))
    got = moodle.dump()
    assert plain.session_id not in {r["session"] for t in ("session", "client", "server") for r in got[t]}
    for name, (session, sent) in sessions.items():
        binding = [r for r in got["session"] if r["session"] == session]
        assert [(r["inst_id"], r["lti_id"]) for r in binding] == [("3", "76")], (name, got["session"])
        client = [r for r in got["client"] if r["session"] == session]
        assert [(r["message"], r["cell_id"]) for r in client] == [(m, c) for m, c, _ in sent], (name, client)
        assert [r["tags"] for r in client] == [
            f'["filename: ex1.ipynb","codenum: {n}"]' for _, _, n, _ in CELLS
        ], client
        server = [r for r in got["server"] if r["session"] == session]
        assert [(r["message"], r["status"]) for r in server] == [(m, s) for m, _, s in sent], (name, server)
        # Filed under the student whose server it is, whatever the kernel calls itself.
        assert all(r["username"] == name and r["date"] for r in server), server
    tags = {(t["cell_id"], t["codenum"]) for t in moodle.tags}
    assert {("cell-2", "2"), ("cell-3", "3")} <= tags
    time.sleep(2)  # nothing more arrives: every record was sent once
    assert moodle.rows() == 14, moodle.dump()
    assert TOKEN not in hub.log_path.read_text(), "the web-service token is never logged"


def test_moodle_down_and_a_hub_restart_lose_and_repeat_nothing(hub, student, moodle):
    moodle.down = True
    dee = from_moodle(hub, student, "dee", moodle)
    kernel = ready(dee)
    ch = KernelChannel(dee, kernel, v1=True)
    for i in range(3):
        ch.run_cell("1/0" if i == 1 else f"y = {i}", f"cell-{i}", TAGS(i))
    deadline = time.monotonic() + 30
    while moodle.requests == 0:
        assert time.monotonic() < deadline, "the hub never tried to deliver"
        time.sleep(0.1)
    ch.close()
    hub.restart()
    # The notebook reconnects with its session and goes on.
    ch = KernelChannel(dee, kernel, v1=True, session_id=ch.session_id)
    for i in range(3, 5):
        ch.run_cell(f"y = {i}", f"cell-{i}", TAGS(i))
    ch.close()
    assert moodle.rows() == 0
    moodle.down = False
    moodle.wait_rows(1 + 5 + 5)
    time.sleep(2)
    got = moodle.dump()
    assert (len(got["session"]), len(got["client"]), len(got["server"])) == (1, 5, 5), got
    assert [r["status"] for r in got["server"]] == ["ok", "error", "ok", "ok", "ok"], got["server"]
