"""Looks into a hub's containers from the engine's side: commands run inside as a named user
(`docker`/`podman exec -u`), and the engine's own record of the container (`inspect`).

Both engines answer `inspect` with the same Docker-style fields the tests read (`Config.User`,
`HostConfig.{Memory,CpuQuota,CpuPeriod,Privileged}`, `Mounts`).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass


@dataclass
class Inside:
    """One container of one engine."""

    engine: str
    container: str

    def exec(self, user: str, script: str, home: str | None = None) -> subprocess.CompletedProcess:
        """Runs `script` with sh as `user` (a name start.sh created, or `root`) in the container.

        `exec` gets the image's HOME, not the one start.sh exported to the server, so `home`
        sets it (a Jupyter terminal inherits start.sh's)."""
        env = ["-e", f"HOME={home}"] if home else []
        return subprocess.run(
            [self.engine, "exec", "-u", user, *env, "-w", "/", self.container, "sh", "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def run(self, user: str, script: str, home: str | None = None) -> str:
        """Runs `script` as `user`; it must succeed. Returns its stdout."""
        out = self.exec(user, script, home)
        assert out.returncode == 0, f"[{self.engine}] as {user}: `{script}` failed ({out.returncode}): {out.stdout}{out.stderr}"
        return out.stdout

    def denied(self, user: str, script: str, because: str, home: str | None = None) -> None:
        """Runs `script` as `user`; it must fail, with `because` (e.g. "Permission denied") in its
        error output, so a failure for another reason (a missing file) does not pass."""
        out = self.exec(user, script, home)
        assert out.returncode != 0, f"[{self.engine}] as {user}: `{script}` should have failed: {out.stdout}"
        assert because in out.stderr, f"[{self.engine}] as {user}: `{script}` failed, but not with {because!r}: {out.stderr}"

    def inspect(self) -> dict:
        """The engine's `inspect` record of the container."""
        out = subprocess.run([self.engine, "inspect", self.container], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"{self.engine} inspect {self.container}: {out.stderr}"
        return json.loads(out.stdout)[0]

    def volume_mounts(self) -> dict[str, bool]:
        """The engine volumes mounted into the container: name -> mounted read-write."""
        return {m["Name"]: bool(m["RW"]) for m in self.inspect()["Mounts"] if m.get("Type") == "volume"}
