"""A Moodle REST endpoint for `mod_lticontainer_write_nblogs` on loopback, with the real plugin's
behaviour (../shared/moodle/README.md, mod_lticontainer 1.6.3 `externallib.php`):

* only `nb_logs[0]` of a request is stored; errors answer HTTP 200 with an exception body;
* `host=server` gets `/nc` appended to its status when no client row with the same session and
  message exists; `host=ltictr` is stored once per session; tags `filename: …`/`codenum: …` go
  to a tags table;
* `down` answers 503 (the web server stopped), and every request is counted.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FUNCTION = "mod_lticontainer_write_nblogs"
TAG = re.compile(r"\"(filename|codenum):\s*([^\"]+)\"")


class FakeMoodle:
    def __init__(self, token: str):
        self.token = token
        self.down = False
        self.requests = 0
        self.lock = threading.Lock()
        self.session: list[dict] = []
        self.client: list[dict] = []
        self.server: list[dict] = []
        self.tags: list[dict] = []
        moodle = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                status, answer = moodle._handle(self.path, body)
                data = answer.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """`lms_serverurl`: scheme, host and an explicit port, as mod_lticontainer writes it."""
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def rows(self) -> int:
        with self.lock:
            return len(self.session) + len(self.client) + len(self.server)

    def wait_rows(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.rows() < n:
            assert time.monotonic() < deadline, f"only {self.rows()} of {n} rows arrived: {self.dump()}"
            time.sleep(0.1)

    def dump(self) -> dict:
        with self.lock:
            return {"session": self.session, "client": self.client, "server": self.server, "requests": self.requests}

    def _handle(self, path: str, body: str) -> tuple[int, str]:
        with self.lock:
            self.requests += 1
            url = urllib.parse.urlsplit(path)
            if self.down:
                return 503, "down"
            if not url.path.endswith("/webservice/rest/server.php"):
                return 404, "no such page"
            q = dict(urllib.parse.parse_qsl(url.query))
            if q.get("wstoken") != self.token:
                return 200, json.dumps({"exception": "moodle_exception", "errorcode": "invalidtoken", "message": "Invalid token - token not found"})
            if q.get("wsfunction") != FUNCTION:
                return 200, json.dumps({"exception": "dml_missing_record_exception", "errorcode": "invalidrecord", "message": "Can't find data record in database table external_functions."})
            form = urllib.parse.parse_qsl(body, keep_blank_values=True)
            rec = {}
            for k, v in form:
                m = re.fullmatch(r"nb_logs\[0\]\[(\w+)\]", k)
                if m:
                    rec[m.group(1)] = v
            host = rec.get("host", "ltictr")
            rec["_at"] = time.monotonic()  # when it was stored (benchmarks: the delivery's lag)
            if host == "server":
                paired = any(c["session"] == rec.get("session") and c["message"] == rec.get("message") for c in self.client)
                if not paired:
                    rec["status"] = rec.get("status", "") + "/nc"
                self.server.append(rec)
            elif host == "client":
                tags = dict(TAG.findall(rec.get("tags", "")))
                if tags:
                    self.tags.append({**rec, **tags})
                self.client.append(rec)
            elif rec.get("lti_id") and not any(s["session"] == rec.get("session") for s in self.session):
                self.session.append(rec)
            return 200, "[]"
