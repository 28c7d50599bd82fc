"""Grades back to Moodle's gradebook (issue 16), by LTI 1.1 Basic Outcomes, against the real
Moodle 5.1: the fixture's 1.1 activity accepts grades, two students launch from Moodle in
Chromium (the launch gives the hub each one's `lis_result_sourcedid`), the teacher sends the
scores of a `tocsv` CSV on the hub's grades page in Chromium, then again by
`lticontainer grades send`, and the grades are read back through Moodle's grade API.

Screenshot: `moodle-grades-<engine>.png` (the grades page after the send).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from hub import Hub, hub_binary
from moodle import ADMIN_TOKEN, MoodleUser, configure, read_grades
from test_moodle import moodle_hub, moodle_site, open_launch_window, people  # noqa: F401 (fixtures)

# What tocsv writes (RFC 4180): kenji never launched the activity, so nothing goes for him.
CSV = "Name,P001,P002,Total\r\nstudent1,3,4,7\r\nstudent2,5,5,10\r\nkenji,1,1,2\r\n"
# The legacy layout of the original's tocsv, as the command sends it.
LEGACY_CSV = "Name, P001, P002, Total\nstudent1, 1, 1, 2\nstudent2, 2, 2, 4\n"


def launched(person: MoodleUser, hub: Hub) -> None:
    """The person logs in to Moodle and clicks the 1.1 activity; returns once the hub answered
    the launch (its window is on the hub's progress page or the server)."""
    person.log_in()
    open_launch_window(person, hub)
    person.browser.wait_for(
        "location.pathname.startsWith('/hub/spawn-pending/') || location.pathname.startsWith('/user/')", timeout=120)


def test_a_teacher_sends_grades_to_moodle_from_the_page_and_the_command(moodle_hub, people, engine, artifacts,
                                                                       tmp_path: Path):
    hub = moodle_hub
    fixture = configure(hub, accept_grades=True)
    lti_id = fixture["lti"]["id"]
    assert read_grades(lti_id)["student1"] is None, "the fixture starts without grades"
    for name in ("student1", "student2"):
        launched(people(fixture, name), hub)

    teacher = people(fixture, "teacher1")
    launched(teacher, hub)
    b = teacher.browser
    b.navigate(f"{hub.url}/hub/grades/{lti_id}")
    b.wait_for("!!document.querySelector('#grades-form')", timeout=60)
    b.evaluate(f"document.querySelector('#csv').value = {json.dumps(CSV)}")
    b.evaluate("document.querySelector('#column').value = 'Total'")
    b.evaluate("document.querySelector('#max').value = '10'")
    b.evaluate("document.querySelector('#preview').click()")
    b.wait_for("!!document.querySelector('#plan')", timeout=60)
    assert "2 of 3 students match" in b.evaluate("document.querySelector('#summary').innerText")
    b.evaluate("document.querySelector('#send').click()")
    b.wait_for("!!document.querySelector('#answers')", timeout=120)
    summary = b.evaluate("document.querySelector('#summary').innerText")
    b.screenshot(artifacts / f"moodle-grades-{engine}.png")
    assert "The LMS took 2 of 3 grades" in summary, b.evaluate("document.body.innerText")
    answers = b.evaluate("[...document.querySelectorAll('#answers tr')].map(tr => tr.innerText)")
    assert any("student1" in a and "success" in a for a in answers), answers
    assert any("kenji" in a and "not sent" in a for a in answers), answers

    grades = read_grades(lti_id)
    assert grades["student1"] == 70.0 and grades["student2"] == 100.0, grades
    assert grades["kenji"] is None and grades["teacher1"] is None, grades

    # Shown again on a later visit.
    b.navigate(f"{hub.url}/hub/grades/{lti_id}")
    b.wait_for("!!document.querySelector('#sent')", timeout=60)
    assert len(b.evaluate("[...document.querySelectorAll('#sent tr.ok')].map(tr => tr.innerText)")) == 2

    # The command, with the legacy layout: re-sending replaces the grades.
    csv = tmp_path / "scores.csv"
    csv.write_text(LEGACY_CSV)
    out = subprocess.run(
        [str(hub_binary()), "grades", "send", "--activity", str(lti_id), "--csv", str(csv), "--column", "P001",
         "--max", "4", "--config", str(hub.config_path()), "--url", hub.url, "--token", ADMIN_TOKEN],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("\tsent\t") == 2, out.stdout
    grades = read_grades(lti_id)
    assert grades["student1"] == 25.0 and grades["student2"] == 50.0, grades
