"""Issue 14: limits that protect the machine, with short times, on the real hub and real Jupyter.

* The activity limit (`lms_actlimit`): in Chromium the student working in JupyterLab sees the
  hub's warning bar (the proxy adds the hub's script to JupyterLab's page), the home page warns
  too, then says the server was stopped at its time limit (the page reloads itself); the
  container is gone, a file written in JupyterLab is still there after the next start.
* Idle culling (`hub.cull_idle_secs`): a server nobody uses is stopped, one the browser keeps
  using (through the proxy) is kept.
"""

from __future__ import annotations

import re
import threading
import time

from cdp import Chromium, LaunchPage
from lti_consumer import Student
from test_browser import LAB_RENDERED


def plain_log(hub) -> str:
    """The hub's recent log without terminal colours."""
    return re.sub(r"\x1b\[[0-9;]*m", "", hub.log_tail(400))


def contents_call(user: str, method: str, body: str | None) -> str:
    """JavaScript that calls the server's contents API for kept.txt from the page (JupyterLab's
    own `_xsrf` cookie) and leaves the status and text in `window.__kept`."""
    init = f"{{method: '{method}', headers: {{'X-XSRFToken': x, 'Content-Type': 'application/json'}}"
    if body is not None:
        init += f", body: JSON.stringify({{type: 'file', format: 'text', content: '{body}'}})"
    init += "}"
    return (
        "window.__kept = null; (async () => {"
        " const x = (document.cookie.split('; ').find(c => c.startsWith('_xsrf=')) || '=').split('=')[1];"
        f" const r = await fetch('/user/{user}/api/contents/kept.txt', {init});"
        " window.__kept = {status: r.status, text: await r.text()}; })()"
    )


def test_the_activity_limit_warns_then_stops_the_server_in_chromium(make_hub, consumer, engine, tmp_path, artifacts):
    hub = make_hub(hub_config="cull_every_secs = 2\nact_limit_warn_percent = 50\n")
    user = "sara"
    moodle = consumer(hub)
    moodle.custom = {**moodle.custom, "lms_actlimit": "90"}
    site = LaunchPage(tmp_path / "moodle", moodle.form_html(moodle.sign(Student(user, user_id="6161"))))
    browser = Chromium(tmp_path / "chromium-profile", artifacts / f"chromium-limits-{engine}.log")
    try:
        browser.navigate(site.url)
        browser.wait_for(LAB_RENDERED, timeout=400)
        browser.evaluate(contents_call(user, "PUT", "still here"))
        browser.wait_for("window.__kept && [200, 201].includes(window.__kept.status)", timeout=30)
        container = hub.containers(user, running_only=True)
        assert len(container) == 1, container

        # Working in JupyterLab, past half the limit: the hub's bar warns on top of the page.
        browser.wait_for(
            "!!document.querySelector('#lticontainer-notice') && "
            "document.querySelector('#lticontainer-notice').innerText.includes('Save your work')",
            timeout=80,
        )
        bar = browser.evaluate("document.querySelector('#lticontainer-notice').innerText")
        assert "time limit of 2 minutes" in bar, bar
        assert browser.evaluate("!!document.querySelector('#jp-main-dock-panel')"), "JupyterLab still runs"
        browser.screenshot(artifacts / f"limit-warning-lab-{engine}.png")
        # The student may hide the bar (it covers JupyterLab's menu); the same notice stays hidden.
        browser.evaluate("document.querySelector('#lticontainer-notice button').click()")
        browser.wait_for("!document.querySelector('#lticontainer-notice')", timeout=5)

        browser.navigate(f"{hub.url}/hub/home")
        browser.wait_for("!!document.querySelector('#limit-warning')", timeout=60)
        assert "Save your work" in browser.evaluate("document.querySelector('#limit-warning').innerText")
        browser.screenshot(artifacts / f"limit-warning-{engine}.png")
        # The page reloads itself; at the limit the server is stopped and the page says why.
        browser.wait_for(
            "document.querySelector('#status') && document.querySelector('#status').dataset.state === 'stopped'",
            timeout=90,
        )
        text = browser.evaluate("document.querySelector('#status').innerText")
        assert "time limit of 2 minutes" in text and "files are kept" in text, text
        assert hub.containers(user) == []
        assert 'culler: stopping the server user=sara' in plain_log(hub)
        assert 'reason="act_limit"' in plain_log(hub)

        # Start again from the page: the file is still there.
        browser.evaluate("document.querySelector('#start button').click()")
        browser.wait_for(LAB_RENDERED, timeout=400)
        browser.evaluate(contents_call(user, "GET", None))
        browser.wait_for("window.__kept && window.__kept.status === 200", timeout=30)
        assert '"content": "still here"' in browser.evaluate("window.__kept.text").replace('":"', '": "')
    finally:
        browser.close()
        site.close()


def test_an_idle_server_is_culled_and_a_busy_one_kept(make_hub, student):
    # Proxied traffic is recorded at most every 30 s (JupyterHub's activity_resolution), so the
    # idle time must exceed that with room for the check interval.
    hub = make_hub(hub_config="cull_idle_secs = 50\ncull_every_secs = 3\n")
    idle, busy = student(hub, "tomas"), student(hub, "ursula")
    for b in (idle, busy):
        b.launch()
        b.wait_ready()
        b.open_lab()
    stop = threading.Event()

    def keep_busy() -> None:
        while not stop.is_set():
            busy.open(f"/user/{busy.name}/api/status")
            stop.wait(3)

    worker = threading.Thread(target=keep_busy, daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while hub.containers(idle.name, running_only=True):
            assert time.monotonic() < deadline, f"the idle server was not culled\n{hub.log_tail()}"
            time.sleep(2)
        culled_at = time.monotonic()
        # The busy one outlives the idle time by far.
        while time.monotonic() < culled_at + 30:
            assert hub.containers(busy.name, running_only=True), f"the busy server was culled\n{hub.log_tail()}"
            time.sleep(2)
    finally:
        stop.set()
        worker.join(10)
    log = plain_log(hub)
    assert 'culler: stopping the server user=tomas' in log and 'reason="idle"' in log, log
    assert 'stopping the server user=ursula' not in log
    page = idle.session.get(f"{hub.url}/hub/home", timeout=10)
    assert "not used for 1 minutes" in page.text, page.text[:800]
