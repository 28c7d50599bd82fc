"""The Docker engine as the benchmark sees it: labelled containers counted, inspected and removed.

Every container the harness causes to exist carries a label it owns (`lticontainer.peerbench=<run>`
for the peer and the floor, `lticontainer.hub=peerbench-…` for lticontainer), so cleaning up never
touches anybody else's containers. `LTICONTAINER_PEERBENCH_PREFIX` (default `peerbench-`) starts
every run id and hub instance, and a run removes the leftovers of its own prefix only, so two runs
with different prefixes can share the engine.
"""

from __future__ import annotations

import os

from hub import LABEL_HUB, engine_cli

ENGINE = "docker"
OURS_INSTANCE_PREFIX = os.environ.get("LTICONTAINER_PEERBENCH_PREFIX", "peerbench-")
RUN_LABEL = "lticontainer.peerbench"


def containers(label: str, running_only: bool = False) -> list[str]:
    """Ids of the containers carrying `label` (`key=value`)."""
    args = ["ps", "-q", "--no-trunc", "--filter", f"label={label}"]
    if not running_only:
        args.append("-a")
    return engine_cli(ENGINE, *args).split()


def remove_containers(label: str) -> int:
    """Removes (force) every container carrying `label`; returns how many there were."""
    ids = containers(label)
    if ids:
        engine_cli(ENGINE, "rm", "-f", *ids, check=False)
    return len(ids)


def service_url(container_id: str) -> str:
    """The JUPYTERHUB_SERVICE_URL a hub gave a container (where its server listens)."""
    env = engine_cli(ENGINE, "inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", container_id)
    for line in env.splitlines():
        if line.startswith("JUPYTERHUB_SERVICE_URL="):
            return line.split("=", 1)[1]
    raise RuntimeError(f"container {container_id[:12]} has no JUPYTERHUB_SERVICE_URL")


def _ids_with_label_prefix(key: str) -> list[str]:
    """Ids of the containers whose label `key` starts with this run's prefix."""
    rows = engine_cli(ENGINE, "ps", "-a", "--no-trunc", "--filter", f"label={key}", "--format",
                      "{{.ID}} {{.Label \"" + key + "\"}}").splitlines()
    return [r.split()[0] for r in rows if len(r.split()) == 2 and r.split()[1].startswith(OURS_INSTANCE_PREFIX)]


def remove_leftovers() -> int:
    """Removes containers of earlier, interrupted harness runs of this prefix (the peer's, the
    floor's, ours)."""
    ids = _ids_with_label_prefix(RUN_LABEL) + _ids_with_label_prefix(LABEL_HUB)
    if ids:
        engine_cli(ENGINE, "rm", "-f", *ids, check=False)
    return len(ids)


def version() -> str:
    """The engine's server version."""
    return engine_cli(ENGINE, "version", "--format", "{{.Server.Version}}").strip()


def image_id(image: str) -> str:
    """The short id of a local image."""
    return engine_cli(ENGINE, "image", "inspect", "--format", "{{.Id}}", image).strip().removeprefix("sha256:")[:12]
