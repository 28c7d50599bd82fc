"""Issue 14: memory near the limit, told to the student, on the real hub and real Jupyter.

A server started with a small memory limit (`lms_memlimit`, 512 MiB) and `[hub]
memory_warn_percent = 50`: idle, it stays below half its limit and nothing is said; once a
kernel holds 320 MiB, the engine's stats (Docker's one-shot stats, libpod's) put it above, and
both the student's home page and the notice the bar inside JupyterLab shows say so with the
sizes. Freed again, the warning goes away.

A kernel that outgrows the limit is killed by the kernel's OOM killer while the Jupyter server
(the container's main process) goes on: the hub keeps routing to the same server (the engine's
`oom` event does not end it) and, on Docker, whose engine reports the kill, tells the student in
the bar and on the home page. Podman 4.3 reports no `oom` event for a process that is not the
container's main one, so there the server simply stays (checked) and nothing is said.
"""

from __future__ import annotations

import time

import pytest
import websocket

from client import FlowError

MIB = 1024 * 1024


def notices(browser) -> list[str]:
    r = browser.open(f"/hub/notice/{browser.name}")
    assert r.status_code == 200, r.text[:300]
    return r.json()["notices"]


def wait_notices(browser, want_warning: bool, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        now = notices(browser)
        if any("of its memory" in n for n in now) == want_warning:
            return now
        assert time.monotonic() < deadline, f"memory warning {want_warning} never came: {now}\n{browser.hub.log_tail()}"
        time.sleep(2)


def test_memory_near_the_limit_is_told_to_the_student(make_hub, student):
    hub = make_hub(hub_config="memory_warn_percent = 50\n")
    ana = student(hub, "ana")
    ana.consumer.custom = {**ana.consumer.custom, "lms_memlimit": str(512 * MIB)}
    ana.launch()
    ana.wait_ready()
    ana.open_lab()
    assert wait_notices(ana, want_warning=False) == []

    kernel = ana.start_kernel()
    try:
        # 320 MiB, every page written so the memory is really in use (and no copy on the way).
        ana.run(kernel, f"hog = bytearray({320 * MIB}); hog[::4096] = b'x' * {320 * MIB // 4096}; len(hog)", timeout=120)
        now = wait_notices(ana, want_warning=True)
        warning = next(n for n in now if "of its memory" in n)
        assert "of 512 MiB" in warning and "Save your work" in warning, warning
        home = ana.open("/hub/home").text
        assert 'id="memory-warning"' in home and "of 512 MiB" in home, home[:1500]

        ana.run(kernel, "del hog; import gc; gc.collect(); 0", timeout=60)
        wait_notices(ana, want_warning=False)
    finally:
        ana.api("DELETE", f"kernels/{kernel}")


def test_a_kernel_killed_for_lack_of_memory_keeps_the_server_and_is_told(make_hub, student):
    hub = make_hub()
    bo = student(hub, "bo")
    bo.consumer.custom = {**bo.consumer.custom, "lms_memlimit": str(256 * MIB)}
    bo.launch()
    bo.wait_ready()
    bo.open_lab()
    [container] = hub.containers("bo")

    kernel = bo.start_kernel()
    try:
        # 1 GiB written page by page in a 256 MiB server without swap: the OOM killer kills the
        # kernel, the execution never answers.
        with pytest.raises((FlowError, OSError, websocket.WebSocketException)):
            bo.run(kernel, f"hog = bytearray({1024 * MIB}); hog[::4096] = b'x' * {1024 * MIB // 4096}; len(hog)", timeout=60)
    finally:
        bo.api("DELETE", f"kernels/{kernel}")

    if hub.engine == "docker":
        deadline = time.monotonic() + 60
        while not any("ran out of memory" in n for n in notices(bo)):
            assert time.monotonic() < deadline, f"no out-of-memory notice: {notices(bo)}\n{hub.log_tail()}"
            time.sleep(1)
        [told] = [n for n in notices(bo) if "ran out of memory" in n]
        assert "(its limit is 256 MiB)" in told, told
        assert "ran out of memory (its limit is 256 MiB)" in bo.open("/hub/home").text
        assert "killed for lack of memory" in hub.log_tail(200), hub.log_tail(200)
    # The same server, still routed, still running kernels.
    assert hub.containers("bo", running_only=True) == [container]
    lab = bo.open_lab()
    assert lab.url.endswith(f"/user/{bo.name}/lab"), lab.url
    assert bo.execute("6 * 7") == "42"
