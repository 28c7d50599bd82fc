"""lticontainer's side: `lticontainer serve` started by the e2e suite's `Hub` (its config generation:
Docker, loopback ports, the same consumer), with defaults for everything the benchmark compares
except the network: host networking, like the peer's DockerSpawner and the floor, so the three
sides do the same work (isolated networking's own cost is `benches/network.sh`'s). The upstream
image is added to the allowed-image list so the proxy workload can launch a user whose "server" is
the shared upstream.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from hub import Hub

from engine import OURS_INSTANCE_PREFIX


@dataclass
class OurHub(Hub):
    """An e2e `Hub` whose instance name marks it as the benchmark's, with one extra allowed image."""

    instance: str = field(default_factory=lambda: OURS_INSTANCE_PREFIX + uuid.uuid4().hex[:10])
    extra_allowed_image: str = ""
    # Like the peer and the floor (see the module's doc).
    network: str = "host"

    def config_path(self) -> Path:
        """The e2e config, with `allowed_images` added to its [spec] table."""
        path = self.workdir / "lticontainer.toml"
        existed = path.exists()
        path = super().config_path()
        if not existed and self.extra_allowed_image:
            text = path.read_text()
            if "\n[spec]\n" not in text:
                raise RuntimeError(f"the e2e hub config has no [spec] table to extend:\n{text}")
            text = text.replace("\n[spec]\n", f'\n[spec]\nallowed_images = ["{self.extra_allowed_image}"]\n', 1)
            path.write_text(text)
        return path
