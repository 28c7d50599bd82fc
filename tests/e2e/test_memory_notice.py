"""Issue 14: memory near the limit, told to the student, on the real hub and real Jupyter.

A server started with a small memory limit (`lms_memlimit`, 512 MiB) and `[hub]
memory_warn_percent = 50`: idle, it stays below half its limit and nothing is said; once a
kernel holds 320 MiB, the engine's stats (Docker's one-shot stats, libpod's) put it above, and
both the student's home page and the notice the bar inside JupyterLab shows say so with the
sizes. Freed again, the warning goes away.
"""

from __future__ import annotations

import time

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
