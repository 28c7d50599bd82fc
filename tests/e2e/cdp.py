"""Headless Chromium driven over the Chrome DevTools Protocol with websocket-client (no driver,
no browser download: Debian's /usr/bin/chromium)."""

from __future__ import annotations

import base64
import functools
import http.server
import itertools
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import requests
import websocket

CHROMIUM = os.environ.get("LTICONTAINER_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--window-size=1366,850",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


class CdpError(RuntimeError):
    """A CDP command answered with an error."""

    def __init__(self, method: str, error: dict):
        super().__init__(f"CDP {method} failed: {error}")
        self.code = error.get("code")


class Chromium:
    """One headless Chromium process and a CDP connection to its first page."""

    def __init__(self, profile: Path, log: Path):
        profile.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=open(log, "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start its DevTools endpoint; log:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        pages = [t for t in requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json() if t["type"] == "page"]
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self._ids = itertools.count(1)
        self.console: list[str] = []

    def call(self, method: str, **params) -> dict:
        """Sends one CDP command and returns its result (events that arrive meanwhile are recorded)."""
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise CdpError(method, msg["error"])
                return msg.get("result", {})
            if msg.get("method") == "Runtime.consoleAPICalled":
                args = msg["params"].get("args", [])
                self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))

    def navigate(self, url: str) -> None:
        """Opens `url` in the page."""
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str):
        """Evaluates a JavaScript expression in the page and returns its value."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float) -> None:
        """Polls until the expression is truthy in the page."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.evaluate(expression):
                    return
            except CdpError as e:
                # The page navigated while the expression ran (the launch form submits itself,
                # the hub redirects); evaluate again in the new document.
                if e.code != -32000:
                    raise
            time.sleep(0.5)
        raise TimeoutError(
            f"{expression!r} stayed false for {timeout}s at {self.evaluate('location.href')}; "
            f"page text: {str(self.evaluate('document.body && document.body.innerText'))[:800]!r}"
        )

    def cookies(self, url: str) -> list[dict]:
        """The cookies the browser holds for `url` (CDP Network.getCookies)."""
        return self.call("Network.getCookies", urls=[url])["cookies"]

    def screenshot(self, path: Path) -> None:
        """Saves a PNG of the page."""
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        """Closes the connection and ends this Chromium process (only it and its children)."""
        try:
            self.ws.close()
        except Exception:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(10)


class LaunchPage:
    """Serves one HTML page (Moodle's auto-submitting launch form) on 127.0.0.1, like a Moodle site."""

    def __init__(self, directory: Path, html: str):
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "launch.html").write_text(html, encoding="utf-8")
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """The page's URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/launch.html"

    def close(self) -> None:
        """Stops serving."""
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class names it so
        pass
