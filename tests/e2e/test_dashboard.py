"""The teachers' live dashboard in real browsers: a teacher opens her dashboard from the link on
her hub home page (a student's has none) in headless Chromium while two students, each in their
own Chromium, open a tagged notebook in real JupyterLab and run its cells (one fails); without a
reload the dashboard shows each student's ok/error per exercise cell. JupyterLab
sends the cells' tags itself (its own kernel client, the
v1 protocol). The screenshot is kept as target/e2e-artifacts/dashboard-<engine>.png.
"""

from __future__ import annotations

import json

from cdp import Chromium, LaunchPage
from lti_consumer import Student
from test_analytics import TOKEN, moodle  # noqa: F401 (fixture)
from test_browser import LAB_RENDERED

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
KERNEL_IDLE = (
    "document.body.innerText.includes('Python 3 (ipykernel) | Idle') || "
    f"!!document.querySelector('{PANEL} .jp-Notebook-ExecutionIndicator[data-status=idle]')"
)

# Clicks the accept button of a JupyterLab dialog if one is open; true when none is.
ACCEPT_DIALOG = "(() => { const b = document.querySelector('.jp-Dialog .jp-mod-accept'); if (b) b.click(); return !b; })()"


def notebook(codes: list[str]) -> dict:
    """ex1.ipynb with one code cell per entry, tagged as mod_lticontainer's ipynb_conv tags them."""
    cells = [
        {"id": f"c{n}", "cell_type": "code", "execution_count": None, "outputs": [], "source": code,
         "metadata": {"tags": ["filename: ex1.ipynb", f"codenum: {n}"]}}
        for n, code in enumerate(codes, start=1)
    ]
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}}


def open_as(hub, consumer, moodle, who: Student, tmp_path, artifacts, engine) -> tuple[Chromium, LaunchPage]:
    """`who` clicks the activity (Moodle's auto-submitting form) in a Chromium of their own."""
    c = consumer(hub)
    c.resource_link_id = "76"  # Moodle's link id is the activity's, the lti id of lms_sessioninfo
    c.custom = {"lms_defurl": "/lab", "lms_teachers": "tina"}
    c.send_logs_to({"lms_sessioninfo": "3,76", "lms_serverurl": moodle.url, "lms_serverpath": "", "lms_rpctoken": TOKEN})
    site = LaunchPage(tmp_path / f"moodle-{who.username}", c.form_html(c.sign(who)))
    b = Chromium(tmp_path / f"profile-{who.username}", artifacts / f"chromium-dashboard-{who.username}-{engine}.log")
    b.navigate(site.url)
    b.wait_for(f"location.href.startsWith('{hub.url}/')", timeout=30)
    return b, site


def run_notebook(b: Chromium, hub, user: str, codes: list[str], last_output: str) -> None:
    """Puts ex1.ipynb in the student's server (JupyterLab's contents API, with its XSRF cookie),
    opens it in JupyterLab and runs its cells with Shift+Enter, as the student would."""
    b.wait_for(LAB_RENDERED, timeout=400)
    put = (
        "(async () => { const x = document.cookie.split('; ').find(c => c.startsWith('_xsrf=')).slice(6);"
        f" const r = await fetch('/user/{user}/api/contents/ex1.ipynb', {{method: 'PUT',"
        " headers: {'Content-Type': 'application/json', 'X-XSRFToken': x},"
        f" body: JSON.stringify({{type: 'notebook', format: 'json', content: {json.dumps(notebook(codes))}}})}});"
        " return r.status; })()"
    )
    assert b.evaluate(put, awaited=True) in (200, 201)
    b.navigate(f"{hub.url}/user/{user}/lab/tree/ex1.ipynb")
    b.wait_for(f"!!document.querySelector('{PANEL} .jp-Cell .cm-content')", timeout=240)
    b.wait_for(KERNEL_IDLE, timeout=240)
    # JupyterLab may still ask which kernel to use (a race of its session restore under load):
    # the person takes the proposed Python 3.
    b.wait_for(ACCEPT_DIALOG, timeout=30)
    for i in range(len(codes)):
        # The student clicks into cell i and presses Shift+Enter, then waits for the run to show
        # its execution count. A press that went elsewhere (a late dialog took the focus) is
        # made again.
        prompt = f"document.querySelectorAll('{PANEL} .jp-Cell .jp-InputPrompt')[{i}]"
        for attempt in range(3):
            b.evaluate(ACCEPT_DIALOG)
            b.evaluate(f"document.querySelectorAll('{PANEL} .jp-Cell .cm-content')[{i}].focus()")
            b.press("Enter", "Enter", 13, modifiers=8)
            try:
                b.wait_for(f"/\\[\\d+\\]/.test({prompt}.innerText)", timeout=40)
                break
            except TimeoutError:
                if attempt == 2:
                    raise
    out = f"[...document.querySelectorAll('{PANEL} .jp-OutputArea-output')].some(e => e.innerText.includes({json.dumps(last_output)}))"
    b.wait_for(out, timeout=120)


def cell_state(user: str, n: int) -> str:
    return f"(document.querySelector('#grid td[data-user=\"{user}\"][data-codenum=\"{n}\"]') || {{dataset: {{}}}}).dataset.last"


def test_teacher_dashboard_updates_live_while_students_run_cells(hub, consumer, moodle, engine, tmp_path, artifacts):  # noqa: F811
    opened = []
    try:
        teacher, site = open_as(hub, consumer, moodle, Student("tina", user_id="7001", roles="Instructor"), tmp_path, artifacts, engine)
        opened.append((teacher, site))
        # The teacher's home page links to the dashboard; she clicks it.
        teacher.navigate(f"{hub.url}/hub/home")
        teacher.wait_for("!!document.getElementById('dashboard')", timeout=60)
        teacher.evaluate("document.getElementById('dashboard').click()")
        teacher.wait_for("location.pathname === '/hub/dashboard/76' && document.getElementById('status').textContent === 'Live'", timeout=60)
        teacher.evaluate("window.__sameDocument = 42")

        # A student is refused the dashboard.
        amy, site = open_as(hub, consumer, moodle, Student("amy", user_id="7002"), tmp_path, artifacts, engine)
        opened.append((amy, site))
        status = amy.evaluate("fetch('/hub/dashboard/76').then(r => r.status)", awaited=True)
        assert status == 403
        home = amy.evaluate("fetch('/hub/home').then(r => r.text())", awaited=True)
        assert "Signed in as <b>amy</b>" in home and 'id="dashboard"' not in home, home

        run_notebook(amy, hub, "amy", ["a = 6 * 7", "a + 1"], "43")
        teacher.wait_for(f"{cell_state('amy', 1)} === 'ok' && {cell_state('amy', 2)} === 'ok'", timeout=60)

        ben, site = open_as(hub, consumer, moodle, Student("ben", user_id="7003"), tmp_path, artifacts, engine)
        opened.append((ben, site))
        run_notebook(ben, hub, "ben", ["b = 1", "1/0"], "ZeroDivisionError")
        teacher.wait_for(f"{cell_state('ben', 1)} === 'ok' && {cell_state('ben', 2)} === 'error'", timeout=60)

        assert teacher.evaluate("window.__sameDocument") == 42, "the dashboard updated without a reload"
        assert teacher.evaluate(f"{cell_state('amy', 2)}") == "ok"
        feed = teacher.evaluate("[...document.querySelectorAll('#feed li')].map(l => [l.dataset.user, l.dataset.codenum, l.dataset.status])")
        assert ["ben", "2", "error"] in feed and ["amy", "1", "ok"] in feed, feed
        # The per-cell summary: cell 2 has one student ok and one in error.
        summary = teacher.evaluate("document.querySelector('#grid tr.sum td[data-codenum=\"2\"]').textContent")
        assert summary == "1 / 1", summary
        shot = artifacts / f"dashboard-{engine}.png"
        teacher.screenshot(shot)
        assert shot.stat().st_size > 10_000
        # The same rows went to Moodle: each student's binding, two requests and two replies.
        moodle.wait_rows(2 * 5)
    finally:
        for b, site in opened:
            b.close()
            site.close()
