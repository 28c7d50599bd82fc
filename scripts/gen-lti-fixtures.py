#!/usr/bin/env python3
"""Generate signed LTI 1.1 launch fixtures with Python oauthlib, an OAuth 1.0 implementation
independent of lticontainer's, for crates/core/tests/auth_fixtures.rs.

Run from the repository root:  pip install oauthlib && python3 scripts/gen-lti-fixtures.py
It rewrites tests/fixtures/lti/*.json deterministically (fixed timestamps and nonces), so the
output is committed and a re-run shows no diff unless oauthlib's behaviour changes.

Each fixture holds the raw request as a browser or LMS would send it (URL with query, raw
urlencoded body, optional Authorization header), the consumer key and secret, the timestamp, and
the signature base string oauthlib computed; the Rust test verifies the launch with its own code
and compares base strings.
"""

import json
import pathlib
import sys
from urllib.parse import urlencode

import oauthlib
from oauthlib.oauth1 import SIGNATURE_TYPE_AUTH_HEADER, SIGNATURE_TYPE_BODY, Client
from oauthlib.oauth1.rfc5849 import signature

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "lti"
KEY = "moodle.school.edu"
SECRET = "s3cr3t&with~special chars"
TIMESTAMP = 1764160000
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def lti_core(user="alice", uid="7"):
    """The parameters every Moodle 4.x basic launch carries."""
    return [
        ("lti_message_type", "basic-lti-launch-request"),
        ("lti_version", "LTI-1p0"),
        ("resource_link_id", "42"),
        ("resource_link_title", "Jupyter notebook"),
        ("user_id", uid),
        ("ext_user_username", user),
        ("roles", "Learner"),
        ("context_id", "3"),
        ("context_label", "PY101"),
        ("context_title", "Python 101"),
        ("tool_consumer_info_product_family_code", "moodle"),
        ("tool_consumer_instance_guid", "moodle.school.edu"),
        ("ext_lms", "moodle-2"),
    ]


def merged(base, extra):
    """base with the values of extra: replaced in place when the name exists, else appended."""
    extra = list(extra)
    names = {n for n, _ in extra}
    out = [(n, dict(extra)[n]) if n in names else (n, v) for n, v in base]
    seen = {n for n, _ in base}
    return out + [(n, v) for n, v in extra if n not in seen]


def moodle_customs():
    """22 custom parameters, as a teacher configures LTIContainerSpawner (Moodle lowercases names)."""
    return [
        ("custom_lms_image", "jupyter/datascience-notebook:latest"),
        ("custom_lms_defurl", "/lab"),
        ("custom_lms_cpulimit", "2.0"),
        ("custom_lms_memlimit", "2G"),
        ("custom_lms_cpugrnt", "0.5"),
        ("custom_lms_memgrnt", "512M"),
        ("custom_lms_actlimit", "3600"),
        ("custom_lms_users", "alice, bob carol"),
        ("custom_lms_teachers", "tina"),
        ("custom_lms_vol_task", "Tasks"),
        ("custom_lms_vol_data", "Data:alice,bob"),
        ("custom_lms_sub_report", "Reports"),
        ("custom_lms_sub_report_close", "2026-12-24 23:59"),
        ("custom_lms_prs_mine", "My files"),
        ("custom_lms_iframe", "1"),
        ("custom_lms_options", "jupyterlab"),
        ("custom_lms_course", "PY101"),
        ("custom_lms_ltiname", "Notebook 1"),
        ("custom_lms_serverurl", "https://moodle.school.edu"),
        ("custom_lms_serverpath", "/"),
        ("custom_lms_rpctoken", "0123456789abcdef"),
        ("custom_lms_sessioninfo", "42"),
    ]


def write(name, description, url, params, *, header=False, realm=None, plus_as_percent20=False,
          lti_url=None):
    """Sign params for a POST to url with oauthlib and write the fixture `name`."""
    client = Client(
        KEY,
        client_secret=SECRET,
        callback_uri="about:blank",
        signature_type=SIGNATURE_TYPE_AUTH_HEADER if header else SIGNATURE_TYPE_BODY,
        realm=realm,
        nonce=f"nonce-{name}",
        timestamp=str(TIMESTAMP),
    )
    # The browser's form encoding (spaces as '+'); oauthlib decodes it to sign it.
    encoded = urlencode(params)
    uri, headers, body = client.sign(url, http_method="POST", body=encoded, headers=dict(FORM))
    if plus_as_percent20:
        body = body.replace("+", "%20")
    authorization = headers.get("Authorization")
    # oauthlib's own view of the request it signed, for comparison with ours.
    query = uri.split("?", 1)[1] if "?" in uri else ""
    collected = signature.collect_parameters(
        uri_query=query,
        body=body,
        headers={"Authorization": authorization} if authorization else {},
        exclude_oauth_signature=True,
        with_realm=False,
    )
    base = signature.signature_base_string(
        "POST", signature.base_string_uri(uri), signature.normalize_parameters(collected)
    )
    fixture = {
        "name": name,
        "description": description,
        "generator": f"oauthlib {oauthlib.__version__} (scripts/gen-lti-fixtures.py)",
        "consumer_key": KEY,
        "consumer_secret": SECRET,
        "url": uri,
        "body": body,
        "authorization": authorization,
        "timestamp": TIMESTAMP,
        "nonce": f"nonce-{name}",
        "base_string": base,
    }
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(fixture, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(OUT.parent.parent.parent)}")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    launch = "https://hub.school.edu/hub/lti/launch"
    write("plain", "A minimal Moodle launch, OAuth parameters in the body.", launch, lti_core())
    write(
        "moodle_full",
        "A realistic Moodle launch: every standard field and 22 custom lms_* parameters.",
        launch,
        lti_core()
        + [
            ("launch_presentation_locale", "en"),
            ("launch_presentation_document_target", "iframe"),
            ("launch_presentation_return_url",
             "https://moodle.school.edu/mod/lti/return.php?course=3&launch_container=3&instanceid=42&sesskey=abc"),
            ("lis_person_name_full", "Alice Example"),
            ("lis_person_contact_email_primary", "alice@school.edu"),
            ("lis_outcome_service_url", "https://moodle.school.edu/mod/lti/service.php"),
            ("lis_result_sourcedid",
             '{"data":{"instanceid":"42","userid":"7","typeid":"1","launchid":123},"hash":"ab12"}'),
            ("ext_user_userid", "1001"),
            ("ext_user_groupid", "1001"),
            ("ext_user_groupname", "students"),
        ]
        + moodle_customs(),
    )
    write(
        "query_in_tool_url",
        "The tool URL configured in Moodle has query parameters: they are signed but not in the body.",
        launch + "?course=PY101&next=%2Fuser-redirect%2Flab&flag",
        lti_core(),
    )
    write(
        "duplicate_keys",
        "Repeated parameter names, values deliberately out of order.",
        launch,
        lti_core() + [("custom_tag", "b"), ("custom_tag", "a"), ("custom_tag", "B"), ("custom_tag", "a b")],
    )
    write(
        "non_ascii",
        "Non-ASCII names and values (UTF-8, then percent-encoded).",
        launch,
        merged(lti_core(user="jürgen", uid="8"),
               [("lis_person_name_full", "Jürgen Müller-Łukasz"), ("context_title", "数据科学 📊"),
                ("custom_lms_vol_übung", "Übung")]),
    )
    spaced = merged(lti_core(), [
        ("resource_link_title", "Week 1: Intro to Python"),
        ("resource_link_description", "Line one\r\nLine two with  two spaces"),
        ("custom_note", " leading and trailing "),
    ])
    write("spaces_plus", "Values with spaces; the body encodes them as '+'.", launch, spaced)
    write("spaces_percent20", "Values with spaces; the body encodes them as '%20'.", launch, spaced,
          plus_as_percent20=True)
    write(
        "reserved_characters",
        "Values full of characters that must be percent-encoded, and an empty value.",
        launch,
        lti_core() + [("custom_expr", "a+b=c&d/e?f#g%h~i*j'k(l)m!n;o:p@q,r$s[t]u"), ("custom_empty", "")],
    )
    write(
        "authorization_header",
        "OAuth parameters in the Authorization header with a realm (which is not signed).",
        launch,
        lti_core(),
        header=True,
        realm="hub.school.edu",
    )
    write(
        "host_case_and_default_port",
        "The LMS signed an upper-case scheme/host with an explicit default port.",
        "HTTPS://Hub.School.EDU:443/hub/lti/launch",
        lti_core(),
    )
    write(
        "non_default_port",
        "A hub on a non-default port, which stays in the base string.",
        "http://localhost:8000/hub/lti/launch",
        lti_core(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
