"""(f) A real browser: headless Chromium submits Moodle's auto-submitting launch form and ends up in
JupyterLab's rendered UI; the screenshot is kept as target/e2e-artifacts/jupyterlab-<engine>.png
(and the last one as jupyterlab.png)."""

from __future__ import annotations

import functools
import http.server
import threading

from cdp import Chromium
from lti_consumer import Student

LAB_RENDERED = (
    "location.pathname.endsWith('/lab') && "
    "!!document.querySelector('#jp-main-dock-panel') && "
    "!!document.querySelector('.jp-Launcher, .jp-LauncherCard, .jp-NotebookPanel')"
)


def test_chromium_launch_form_renders_jupyterlab(hub, consumer, engine, tmp_path, artifacts):
    moodle = consumer(hub)
    page = moodle.form_html(moodle.sign(Student("olivia", user_id="4242")))
    site = tmp_path / "moodle"
    site.mkdir()
    (site / "launch.html").write_text(page, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    browser = Chromium(tmp_path / "chromium-profile", artifacts / f"chromium-{engine}.log")
    try:
        browser.navigate(f"http://127.0.0.1:{server.server_address[1]}/launch.html")
        browser.wait_for(f"location.href.startsWith('{hub.url}/')", timeout=30)
        browser.wait_for(LAB_RENDERED, timeout=240)
        shot = artifacts / f"jupyterlab-{engine}.png"
        browser.screenshot(shot)
        assert shot.stat().st_size > 10_000, "the screenshot is suspiciously small"
        (artifacts / "jupyterlab.png").write_bytes(shot.read_bytes())
        assert browser.evaluate("location.href") == f"{hub.url}/user/olivia/lab"
        assert browser.evaluate("document.title").endswith("JupyterLab")
    finally:
        browser.close()
        server.shutdown()
