"""A Unix-socket forwarder in front of the real engine socket that a test can cut, to make "the engine
went away" happen to one hub only, without touching the real daemon other tests use.

`cut_on(b"containers/create")` arms it: the first request whose bytes contain the marker is not
forwarded; every connection is closed and the socket file removed, as when dockerd/podman dies.
`restore()` listens again. Closing the forwarder leaves the real engine as it was.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path


class EngineProxy:
    """Forwards a private socket path to the engine's socket until cut."""

    def __init__(self, path: Path, upstream: str):
        self.path = Path(path)
        self.upstream = upstream
        self.marker: bytes | None = None
        self.cut = threading.Event()
        self.forwarded_requests: list[bytes] = []
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._server: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        """(Re)starts listening and forwarding; disarms any cut."""
        self.marker = None
        self.cut.clear()
        if self.path.exists():
            self.path.unlink()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(self.path))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def cut_on(self, marker: bytes) -> None:
        """Cuts the engine off when a request containing `marker` arrives."""
        self.marker = marker

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return  # closed by a cut
            try:
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                upstream.connect(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client:
                    if self.marker is not None and self.marker in data:
                        self._cut_now()
                        return
                    first_line = data.split(b"\r\n", 1)[0]
                    if first_line.split(b" ")[0] in (b"GET", b"POST", b"PUT", b"DELETE", b"HEAD"):
                        self.forwarded_requests.append(first_line)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _cut_now(self) -> None:
        self.cut.set()
        if self._server is not None:
            self._server.close()
            self._server = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass

    def close(self) -> None:
        """Stops forwarding for good."""
        self._cut_now()
