"""(f) A real browser: headless Chromium submits Moodle's auto-submitting launch form and ends up in
JupyterLab's rendered UI; the screenshot is kept as target/e2e-artifacts/jupyterlab-<engine>.png
(and the last one as jupyterlab.png)."""

from __future__ import annotations

from cdp import Chromium, LaunchPage
from lti_consumer import Student

# JupyterLab has rendered: its dock panel and a launcher card or a notebook in it (a Lab whose
# start failed has neither). The other browser tests import it.
LAB_RENDERED = (
    "location.pathname.endsWith('/lab') && "
    "!!document.querySelector('#jp-main-dock-panel') && "
    "!!document.querySelector('.jp-LauncherCard, .jp-NotebookPanel')"
)


def test_chromium_launch_form_renders_jupyterlab(hub, consumer, engine, tmp_path, artifacts):
    moodle = consumer(hub)
    page = moodle.form_html(moodle.sign(Student("olivia", user_id="4242")))
    site = LaunchPage(tmp_path / "moodle", page)
    browser = Chromium(tmp_path / "chromium-profile", artifacts / f"chromium-{engine}.log")
    try:
        browser.navigate(site.url)
        browser.wait_for(f"location.href.startsWith('{hub.url}/')", timeout=30)
        browser.wait_for(LAB_RENDERED, timeout=400)
        shot = artifacts / f"jupyterlab-{engine}.png"
        browser.screenshot(shot)
        assert shot.stat().st_size > 10_000, "the screenshot is suspiciously small"
        (artifacts / "jupyterlab.png").write_bytes(shot.read_bytes())
        assert browser.evaluate("location.href") == f"{hub.url}/user/olivia/lab"
        assert browser.evaluate("document.title").endswith("JupyterLab")
    finally:
        browser.close()
        site.close()
