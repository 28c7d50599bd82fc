"""Grades back to Moodle's gradebook (issue 16), against the real Moodle 5.1, by LTI 1.1 Basic
Outcomes and by LTI 1.3 Assignment and Grade Services: the activity accepts grades, two students
launch from Moodle in Chromium (the 1.1 launch gives the hub each one's `lis_result_sourcedid`,
the 1.3 launch the AGS claim with the activity's line item and the student's `sub`), the teacher
sends the scores of a `tocsv` CSV on the hub's grades page in Chromium, then again by
`lticontainer grades send` (re-sending replaces), and the grades are read back through Moodle's
grade API. For 1.3 the hub registered itself by Dynamic Registration and the fixture turned the
tool's AGS on (`ltiservice_gradesynchronization` = 2); Moodle checks the hub's client assertion
against the hub's key set (`/hub/lti13/jwks`), fetched over loopback.

Screenshots: `moodle-grades-<engine>.png`, `moodle-grades-lti13-<engine>.png` (the grades page
after the send).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from hub import Hub, hub_binary
from moodle import ADMIN_TOKEN, MoodleUser, configure, read_grades
from test_moodle import moodle_hub, moodle_site, open_launch_window, people  # noqa: F401 (fixtures)
from test_moodle_lti13 import click_lti13, register_by_dynamic_registration

# What tocsv writes (RFC 4180): kenji never launched the activity, so nothing goes for him.
CSV = "Name,P001,P002,Total\r\nstudent1,3,4,7\r\nstudent2,5,5,10\r\nkenji,1,1,2\r\n"
# The legacy layout of the original's tocsv, as the command sends it.
LEGACY_CSV = "Name, P001, P002, Total\nstudent1, 1, 1, 2\nstudent2, 2, 2, 4\n"


def launched(person: MoodleUser, hub: Hub, lti13: bool = False) -> None:
    """The person logs in to Moodle and clicks the 1.1 activity (`lti13`: the 1.3 activity the hub
    registered); returns once the hub answered the launch (its window is on the hub's progress
    page or the server)."""
    person.log_in()
    if lti13:
        click_lti13(person, hub, "lti13_registered")
    else:
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
    send_on_the_page_then_by_the_command(hub, teacher, lti_id, f"moodle-grades-{engine}.png", artifacts, tmp_path)


def test_a_teacher_sends_grades_to_moodle_by_lti13_ags(make_hub, moodle_site, people, engine, artifacts,
                                                      tmp_path: Path):
    hub = make_hub(hub_config=f'api_token = "{ADMIN_TOKEN}"\n',
                   extra_config="\n[lti13]\ndynamic_registration = true\n")
    fixture = configure(hub)
    platform = register_by_dynamic_registration(hub, fixture, people, engine, artifacts)
    fixture = configure(hub, lms={"lms_teachers": "teacher1"},
                        extra=[f"--lti13-registered-client={platform['client_id']}", "--ags=1"])
    registered = fixture["lti13_registered"]
    assert registered["ags"] and registered["client_id"] == platform["client_id"], registered
    lti_id = registered["id"]
    assert read_grades(lti_id)["student1"] is None, "the fixture starts without grades"
    for name in ("student1", "student2"):
        launched(people(fixture, name), hub, lti13=True)
    teacher = people(fixture, "teacher1")
    launched(teacher, hub, lti13=True)
    send_on_the_page_then_by_the_command(hub, teacher, lti_id, f"moodle-grades-lti13-{engine}.png", artifacts,
                                         tmp_path)
    log = hub.log_path.read_text()
    assert "grade sent to the LMS" in log and "score taken" in log, log[-3000:]


def send_on_the_page_then_by_the_command(hub: Hub, teacher: MoodleUser, lti_id: int, screenshot: str, artifacts,
                                         tmp_path: Path) -> None:
    """The teacher sends the Total column of CSV out of 10 on the grades page of activity
    `lti_id` (Moodle's gradebook then has 70 and 100), then the command sends P001 of the legacy
    CSV out of 4 (re-sending replaces: 25 and 50)."""
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
    b.screenshot(artifacts / screenshot)
    assert "The LMS took 2 of 3 grades" in summary, b.evaluate("document.body.innerText")
    answers = b.evaluate("[...document.querySelectorAll('#answers tr')].map(tr => tr.innerText)")
    assert any("student1" in a and ("success" in a or "score taken" in a) for a in answers), answers
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
