"""The Moodle tier (issue 11): a real Moodle 5.1 with mod_lticontainer (scripts/setup-moodle.sh)
launches students into the hub, and the teacher manages them from the plugin's tabs — all through
Moodle's own pages in headless Chromium, on each engine.

Screenshots: `moodle-lab-<engine>.png` (the student's JupyterLab opened from Moodle),
`moodle-iframe-<engine>.png` (JupyterLab inside Moodle's page), `moodle-users-<engine>.png` (the
teacher's "JupyterHub User" tab), `moodle-wrong-secret-<engine>.png` (the student's error page),
`moodle-cancelled-by-teacher-<engine>.png` / `moodle-cancelled-student-<engine>.png` (a start
cancelled from the tab, and the student's progress page after it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cdp import CdpError, Chromium, JsError
from hub import IMAGE, Hub, engine_cli
from moodle import ADMIN_TOKEN, MoodleUser, configure, run_setup
from test_browser import LAB_RENDERED

# The code cell a student runs: it leaves a file in their home and answers 42.
CELL = "import pathlib; pathlib.Path('kept.txt').write_text('written from Moodle'); 6 * 7"

# Reads kept.txt through Jupyter's contents API as JupyterLab does (its XSRF cookie as a header).
READ_KEPT = (
    "fetch(location.pathname.replace(/\\/lab.*$/, '/api/contents/kept.txt'), {headers: {'X-XSRFToken': "
    "(document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || ''}}).then(r => r.ok ? r.json() : {content: 'HTTP ' + r.status})"
    ".then(j => j.content)"
)


@pytest.fixture(scope="module")
def moodle_site() -> dict:
    """The installed, served Moodle (installed once; each test points it at its own hub)."""
    return run_setup()


@pytest.fixture
def moodle_hub(make_hub, moodle_site) -> Hub:
    """A hub with the admin token mod_lticontainer is given."""
    return make_hub(hub_config=f'api_token = "{ADMIN_TOKEN}"\n')


@pytest.fixture
def people(tmp_path: Path, artifacts: Path, engine: str, request: pytest.FixtureRequest):
    """Opens people (each in their own Chromium) on a fixture; closes them at the end."""
    opened: list[MoodleUser] = []

    def open_person(fixture: dict, username: str) -> MoodleUser:
        log = artifacts / f"chromium-moodle-{engine}-{len(opened)}.log"
        person = MoodleUser.open(fixture, username, tmp_path, log)
        opened.append(person)
        return person

    yield open_person
    for person in opened:
        person.close()


def open_launch_window(person: MoodleUser, hub: Hub) -> str:
    """The person opens the course and clicks the Jupyter activity; Moodle opens the launch in a
    new window, which goes to the hub. Drives that window from then on; returns its id."""
    b = person.browser
    known = frozenset(t["id"] for t in b.pages())
    person.open_course()
    person.click_activity(person.fixture["lti"]["cmid"], "lti")
    return b.attach(f"{hub.url}/", timeout=60, exclude=known)


def launch_from_moodle(person: MoodleUser, hub: Hub) -> str:
    """`open_launch_window`, until JupyterLab shows in it; returns the window's id."""
    window = open_launch_window(person, hub)
    person.browser.wait_for(LAB_RENDERED, timeout=400)
    return window


# JupyterLab's dialog when its theme's stylesheet did not load in time (seen with the test
# machine's load average above 10): the page then never starts a kernel.
THEME_FAILED = "document.body.innerText.includes('Error Loading Theme')"


def run_cell(b: Chromium, code: str, expected: str, reload_lab: Callable[[], Chromium] | None = None) -> None:
    """Opens a new notebook from JupyterLab's launcher, waits for its kernel, types `code` into its
    first cell, runs it with Shift+Enter, and waits for `expected` in the output.

    What a person would do when the page goes wrong is done at most twice: JupyterLab showing
    "Error Loading Theme" is reloaded (`reload_lab` reloads it and returns the view to go on
    with; by default the page is reloaded), and code that vanished from the cell (JupyterLab re-rendered the
    new notebook while it was typed) is typed again. Either only under load; a third time fails."""
    panel = ".jp-NotebookPanel:not(.lm-mod-hidden)"
    editor = f"{panel} .jp-Cell .cm-content"
    output = f"{panel} .jp-OutputArea-output"
    answered = f"[...document.querySelectorAll({json.dumps(output)})].some(e => e.innerText.trim() === {json.dumps(expected)})"
    # The kernel is up: the status bar says so, or (in a narrow iframe, without the status bar's
    # text) the toolbar's execution indicator does.
    kernel_idle = (
        "document.body.innerText.includes('Python 3 (ipykernel) | Idle') || "
        f"!!document.querySelector('{panel} .jp-Notebook-ExecutionIndicator[data-status=idle]')"
    )
    for attempt in range(3):
        last = attempt == 2
        if not last and b.evaluate(THEME_FAILED):
            if reload_lab is None:
                b.call("Page.reload")
                b.wait_for(LAB_RENDERED, timeout=400)
            else:
                b = reload_lab()
        if not b.evaluate(f"!!document.querySelector({json.dumps(panel)})"):
            b.evaluate("document.querySelector('.jp-LauncherCard[data-category=Notebook]').click()")
        try:
            b.wait_for(kernel_idle, timeout=240 if last else 90)
            # The notebook's last cell: the first one, or the empty one a run added below it.
            cell = f"[...document.querySelectorAll({json.dumps(editor)})].pop()"
            b.wait_for(f"!!{cell}", timeout=60)
            b.evaluate(f"{cell}.focus()")
            b.type_text(code)
            b.wait_for(f"{cell}.innerText.includes({json.dumps(code[-5:])})", timeout=30)
            b.press("Enter", "Enter", 13, modifiers=8)
            b.wait_for(answered, timeout=240 if last else 90)
            return
        except TimeoutError:
            if last:
                raise


def lab_in_frame(b: Chromium, lab: str, timeout: float = 400) -> Chromium:
    """A view of the frame showing JupyterLab at `lab` once it has rendered (a new isolated world
    each try: the frame navigates through the launch and its sign-in first)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            view = b.in_frame(b.frame_at(lab, timeout=max(1, deadline - time.monotonic())))
            if view.evaluate(f"!document.documentElement.dataset.e2eOld && {LAB_RENDERED}"):
                return view
        except (CdpError, JsError):
            pass  # the frame navigated meanwhile
        if time.monotonic() > deadline:
            raise TimeoutError(f"JupyterLab did not render in the frame at {lab} within {timeout}s")
        time.sleep(0.5)


def users_tab(person: MoodleUser) -> list[dict]:
    """The teacher opens the LTIContainer activity and its "JupyterHub User" tab; returns its rows."""
    b = person.browser
    person.open_course()
    person.click_activity(person.fixture["lticontainer"]["cmid"], "lticontainer")
    b.wait_for("location.pathname === '/mod/lticontainer/view.php'", timeout=60)
    tab = "a[href*='/mod/lticontainer/actions/jupyterhub_user.php']"
    b.wait_for(f"!!document.querySelector({json.dumps(tab)})", timeout=60)
    b.evaluate(f"document.querySelector({json.dumps(tab)}).click()")
    return user_rows(b)


def user_rows(b: Chromium) -> list[dict]:
    """The rows of the "JupyterHub User" table (Moodle's username, full name, status, last activity)."""
    b.wait_for("location.pathname.endsWith('/jupyterhub_user.php') && !!document.querySelector('form[name=gsess] table')",
               timeout=120)
    rows = b.evaluate(
        "[...document.querySelectorAll('form[name=gsess] table tbody tr')]"
        ".map(tr => [...tr.cells].map(td => td.innerText.trim()))"
    )
    return [
        {"username": r[2], "fullname": r[3], "status": r[4], "last_activity": r[6]}
        for r in rows
        if len(r) >= 8
    ]


def delete_from_users_tab(b: Chromium, username: str) -> None:
    """On the open "JupyterHub User" tab: selects `username`, clicks Delete, confirms with Delete,
    and waits for the tab shown after the confirmation."""
    b.evaluate(f"document.querySelector('input[name=\"delete[{username}]\"]').checked = true")
    b.evaluate("document.querySelector('input[name=submit_jhuser_del]').click()")
    b.wait_for("!!document.querySelector('input[name=submit_jhuser_delete]')", timeout=60)
    b.evaluate("document.querySelector('input[name=submit_jhuser_delete]').click()")
    # The confirmation page has the same address and table: wait for the page after it.
    b.wait_for("!document.querySelector('input[name=submit_jhuser_delete]')", timeout=120)
    user_rows(b)


def test_student_launches_from_moodle_teacher_deletes_from_the_user_tab(moodle_hub, people, engine, artifacts):
    hub = moodle_hub
    fixture = configure(hub)
    student = people(fixture, "student1")
    student.log_in()

    # First click: a new window, JupyterLab, a cell runs.
    window = launch_from_moodle(student, hub)
    b = student.browser
    assert b.evaluate("location.href") == f"{hub.url}/user/student1/lab"
    run_cell(b, CELL, "42")
    b.screenshot(artifacts / f"moodle-lab-{engine}.png")
    first = hub.containers("student1", running_only=True)
    assert len(first) == 1, first

    # Second click (the student closed the window): the running server is reused.
    b.attach(fixture["moodle_url"], timeout=10)
    b.close_page(window)
    window = launch_from_moodle(student, hub)
    assert hub.containers("student1", running_only=True) == first
    assert hub.containers("student1") == first

    # The teacher's "JupyterHub User" tab lists the student with a last activity.
    teacher = people(fixture, "teacher1")
    teacher.log_in()
    rows = users_tab(teacher)
    teacher.browser.screenshot(artifacts / f"moodle-users-{engine}.png")
    listed = {r["username"]: r for r in rows}
    assert "student1" in listed, rows
    assert listed["student1"]["status"] == "OK"
    assert listed["student1"]["fullname"].replace(" ", "") in ("HanakoStudent", "StudentHanako"), listed["student1"]
    assert listed["student1"]["last_activity"] not in ("", "-"), listed["student1"]

    # The teacher deletes the student's server from the tab.
    delete_from_users_tab(teacher.browser, "student1")
    assert hub.containers("student1") == [], "the deleted student's container is still there"

    # The student's next click starts a fresh server that still has their file.
    b.attach(fixture["moodle_url"], timeout=10)
    b.close_page(window)
    launch_from_moodle(student, hub)
    second = hub.containers("student1", running_only=True)
    assert len(second) == 1 and second != first, (first, second)
    b.wait_for("[...document.querySelectorAll('.jp-DirListing-item')].some(e => e.innerText.includes('kept.txt'))",
               timeout=60)
    kept = b.evaluate(READ_KEPT, awaited=True)
    assert kept == "written from Moodle"


def test_teacher_cancels_a_start_under_way_from_the_user_tab(make_hub, moodle_site, people, engine, artifacts):
    """Issue 14: Moodle's delete click on a student whose server is still starting cancels the
    start (JupyterHub 5's answer to DELETE during a pending spawn), instead of doing nothing for
    minutes. The server here never answers (its command sleeps), so the start stays pending until
    the teacher acts, whatever the machine's load."""
    hub = make_hub(hub_config=f'api_token = "{ADMIN_TOKEN}"\ncmd = ["sleep", "3600"]\n')
    fixture = configure(hub)
    student = people(fixture, "student1")
    student.log_in()
    open_launch_window(student, hub)
    b = student.browser
    b.wait_for("location.pathname === '/hub/spawn-pending/student1'", timeout=60)
    deadline = time.monotonic() + 120
    while not hub.containers("student1", running_only=True):
        assert time.monotonic() < deadline, "the student's container did not start\n" + hub.log_tail()
        time.sleep(0.2)

    teacher = people(fixture, "teacher1")
    teacher.log_in()
    rows = {r["username"]: r for r in users_tab(teacher)}
    assert "student1" in rows, rows
    tb = teacher.browser
    delete_from_users_tab(tb, "student1")
    tb.screenshot(artifacts / f"moodle-cancelled-by-teacher-{engine}.png")

    assert hub.containers("student1") == [], "the cancelled start's container is still there"
    assert "spawn cancelled" in hub.log_tail(300), hub.log_tail()
    # The student's progress page says so, in words they understand.
    b.wait_for("document.body.innerText.includes('was cancelled')", timeout=60)
    b.screenshot(artifacts / f"moodle-cancelled-student-{engine}.png")


def test_wrong_shared_secret_shows_a_page_logs_the_cause_and_starts_nothing(moodle_hub, people, engine, artifacts):
    hub = moodle_hub
    fixture = configure(hub, secret="not-the-hubs-secret")
    student = people(fixture, "student1")
    student.log_in()
    b = student.browser
    open_launch_window(student, hub)
    b.wait_for("document.body && document.body.innerText.includes('could not verify')", timeout=60)
    b.screenshot(artifacts / f"moodle-wrong-secret-{engine}.png")
    text = b.evaluate("document.body.innerText")
    assert "tell your teacher" in text.lower(), text
    assert "oauth" not in text.lower(), f"the student's page shows technical detail: {text}"
    log = hub.log_path.read_text(errors="replace")
    assert "LTI launch refused" in log and "invalid oauth_signature for consumer key" in log, hub.log_tail()
    assert "not-the-hubs-secret" not in log, "the hub logged a secret"
    assert hub.containers() == [], "a refused launch started a container"


def test_embedded_launch_runs_jupyterlab_inside_moodles_page(moodle_hub, people, engine, artifacts):
    hub = moodle_hub
    fixture = configure(hub, launch_container="embed")
    assert "lms_iframe=1" in fixture["lti"]["custom_parameters"]
    student = people(fixture, "student1")
    student.log_in()
    b = student.browser
    student.open_course()
    student.click_activity(fixture["lti"]["cmid"], "lti")
    b.wait_for("location.pathname === '/mod/lti/view.php' && !!document.querySelector('#contentframe')", timeout=60)
    # Moodle's page stays; JupyterLab loads in its iframe (another origin: read through CDP frames).
    lab = f"{hub.url}/user/student1/lab"
    inside = lab_in_frame(b, lab)
    b.evaluate("document.querySelector('#contentframe').focus()")

    def reload_frame() -> Chromium:
        # The old document is marked (the DOM is shared by every world of the frame), so the
        # view returned is the reloaded one's.
        lab_in_frame(b, lab).evaluate("document.documentElement.dataset.e2eOld = '1'; location.reload()")
        return lab_in_frame(b, lab)

    run_cell(inside, CELL, "42", reload_lab=reload_frame)
    assert b.evaluate("location.pathname") == "/mod/lti/view.php"
    b.screenshot(artifacts / f"moodle-iframe-{engine}.png")
    assert len(hub.containers("student1", running_only=True)) == 1


@pytest.mark.parametrize("username", ["student1", "hanako.yamada@example.com", "kenji"])
def test_moodle_usernames_launch_and_appear_on_the_user_tab(moodle_hub, people, engine, username):
    hub = moodle_hub
    fixture = configure(hub)
    student = people(fixture, username)
    student.log_in()
    launch_from_moodle(student, hub)
    teacher = people(fixture, "teacher1")
    teacher.log_in()
    rows = {r["username"]: r for r in users_tab(teacher)}
    assert username in rows, f"{username} is not on the JupyterHub User tab: {sorted(rows)}"
    assert rows[username]["status"] == "OK"
    shown = fixture["users"][username]["fullname"]
    assert rows[username]["fullname"].replace(" ", "") == shown.replace(" ", ""), (rows[username], shown)


# What the teacher sets on mod_lticontainer's "LTI Edit" tab, field by field (selects take one of
# the tab's own options): limits, teachers, Notebook instead of Lab, and three volume rows with
# display names — a task volume, a submit volume whose deadline has passed, a personal volume.
# The tab's image list comes from the container host over ssh, which a test machine does not
# offer, so its image select is empty and the hub's default image applies.
LTI_EDIT_FIELDS = {
    "lms_teachers": "teacher1",
    "lms_cpulimit": "0.5",
    "lms_memlimit": "524,288,000",
    "lms_defurl": "/tree",
}
LTI_EDIT_VOLUMES = [
    ("lms_vol_", "task", "Task", ""),
    ("lms_sub_", "report", "Report", "2020-01-01 00:00"),
    ("lms_prs_", "mine", "Mine", ""),
]


def edit_on_lti_edit_tab(person: MoodleUser) -> None:
    """The teacher opens the LTIContainer activity, its "LTI Connections" tab, the Jupyter
    activity's "LTI Edit" page, fills in LTI_EDIT_FIELDS and LTI_EDIT_VOLUMES and presses Update."""
    b = person.browser
    person.open_course()
    person.click_activity(person.fixture["lticontainer"]["cmid"], "lticontainer")
    for page in ("lti_view", "lti_edit"):
        link = f"a[href*='/mod/lticontainer/actions/{page}.php']"
        b.wait_for(f"!!document.querySelector({json.dumps(link)})", timeout=120)
        b.evaluate(f"document.querySelector({json.dumps(link)}).click()")
    # The page lists the host's images over ssh first (~12 s without an sshd). Its form sits in a
    # table, so its controls belong to it without being inside it: they are found by name alone.
    form = "body"
    b.wait_for("location.pathname.endsWith('/lti_edit.php') && !!document.querySelector('[name=submit_lti_update]')",
               timeout=180)
    for name, value in LTI_EDIT_FIELDS.items():
        b.evaluate(f"document.querySelector('{form} [name={name}]').value = {json.dumps(value)}")
        assert b.evaluate(f"document.querySelector('{form} [name={name}]').value") == value, name
    for i, (role, name, link, close) in enumerate(LTI_EDIT_VOLUMES):
        for field, value in (("lms_vol_", role), ("lms_vol_name", name), ("lms_vol_link", link), ("lms_vol_close", close)):
            b.evaluate(f"document.querySelectorAll('{form} [name=\"{field}[]\"]')[{i}].value = {json.dumps(value)}")
    b.evaluate(f"document.querySelector('{form} [name=submit_lti_update]').click()")
    b.wait_for("document.body.innerText.includes('lms_sub_report_close=')", timeout=180)


# Read inside the container: its environment, its limits (cgroup v2 or v1) and its mounts.
INSIDE = (
    "env | grep -E '^(NB_|CPU_LIMIT|MEM_LIMIT|JUPYTERHUB_DEFAULT_URL)' | sort; "
    "echo CPU=$(cat /sys/fs/cgroup/cpu.max 2>/dev/null || "
    "echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)); "
    "echo MEM=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes); "
    "grep -F /.volumes/ /proc/mounts | awk '{print \"MOUNT=\" $2 \" \" substr($4, 1, 2)}'"
)


def inside(hub: Hub, user: str) -> tuple[dict[str, str], list[str]]:
    """The `KEY=value` lines INSIDE prints in `user`'s running container, and its volume mounts."""
    (container,) = hub.containers(user, running_only=True)
    out = engine_cli(hub.engine, "exec", container, "sh", "-c", INSIDE)
    lines = out.splitlines()
    values = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("MOUNT="))
    return values, [line.removeprefix("MOUNT=") for line in lines if line.startswith("MOUNT=")]


def test_lti_edit_settings_reach_the_students_container(moodle_hub, people, engine, artifacts):
    hub = moodle_hub
    fixture = configure(hub)
    teacher = people(fixture, "teacher1")
    teacher.log_in()
    edit_on_lti_edit_tab(teacher)
    teacher.browser.screenshot(artifacts / f"moodle-lti-edit-{engine}.png")

    student = people(fixture, "student1")
    student.log_in()
    b = student.browser
    open_launch_window(student, hub)
    # Notebook, not Lab: the browser lands on the default URL the teacher chose.
    b.wait_for("location.pathname.startsWith('/user/student1/tree')", timeout=400)

    env, mounts = inside(hub, "student1")
    assert env["JUPYTERHUB_DEFAULT_URL"] == "/tree"
    assert env["CPU_LIMIT"] == "0.5" and env["CPU"] == "50000 100000", env
    assert env["MEM_LIMIT"] == "524288000" and env["MEM"] == "524288000", env
    assert env["NB_TEACHER"] == "", env
    assert "lms_vol_task" in env["NB_VOLUMES"] and ":Task" in env["NB_VOLUMES"], env
    assert "lms_sub_report" not in env["NB_SUBMITS"], "a closed submit volume is offered to a student"
    assert "lms_prs_mine" in env["NB_PRSNALS"] and ":Mine" in env["NB_PRSNALS"], env
    task = [m for m in mounts if "/lms_vol_task" in m]
    assert len(task) == 1 and task[0].endswith(" ro"), mounts
    assert not [m for m in mounts if "/lms_sub_report" in m], mounts
    image = engine_cli(hub.engine, "inspect", "--format", "{{.Config.Image}}", hub.containers("student1")[0])
    assert image.strip().endswith(IMAGE), image

    # teacher1, named in the teachers, gets the teacher's view of the same volumes.
    open_launch_window(teacher, hub)
    teacher.browser.wait_for("location.pathname.startsWith('/user/teacher1/tree')", timeout=400)
    env, mounts = inside(hub, "teacher1")
    assert env["NB_TEACHER"] == "teacher1", env
    task = [m for m in mounts if "/lms_vol_task" in m]
    assert len(task) == 1 and task[0].endswith(" rw"), mounts
    assert [m for m in mounts if "/lms_sub_report" in m], f"the teacher lacks the closed submit volume: {mounts}"
