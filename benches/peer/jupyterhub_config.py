# JupyterHub configuration of the peer stack that benches/peer/run.sh measures lticontainer against:
# JupyterHub 5 + ltiauthenticator (LTI 1.1) + DockerSpawner + configurable-http-proxy, set up the way
# a school runs it and as close to lticontainer's defaults as the peer allows:
#   - the same LTI consumer key and secret, username from ext_user_username;
#   - DockerSpawner on the same Docker engine, the same image and command (the image's CMD,
#     jupyterhub-singleuser), the same limits (1 CPU, the run's memory: 1 GiB by default), host
#     networking with the server on 127.0.0.1 and a free port per user (HostNetworkSpawner below);
#   - hub, hub API and proxy bound to 127.0.0.1 only;
#   - timeouts raised (start 600 s, HTTP 600 s) so a class launching at once is not failed by the
#     defaults (60 s / 30 s); everything else (concurrent_spawn_limit 100, logging) is left default.
# benches/peer/peer_hub.py starts `jupyterhub -f` on this file with the PEERBENCH_* variables set.
# ruff: noqa: F821 (`c` is provided by JupyterHub's config loader)

import os
import socket

from dockerspawner import DockerSpawner


def _env(name):
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"jupyterhub_config.py: {name} is not set (start the peer through benches/peer/run.sh)")
    return value


class HostNetworkSpawner(DockerSpawner):
    """DockerSpawner with host networking: each server gets a free loopback port and is reached at
    127.0.0.1 (DockerSpawner's own code asks the engine for a container IP, which host networking
    does not have)."""

    # Ports handed out and not yet released, so two spawns in flight never get the same one.
    _taken = set()

    def _free_port(self):
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in HostNetworkSpawner._taken:
                HostNetworkSpawner._taken.add(port)
                return port
        raise RuntimeError("no free loopback port found in 100 tries")

    async def start(self):
        self.port = self._free_port()
        try:
            return await super().start()
        except BaseException:
            HostNetworkSpawner._taken.discard(self.port)
            raise

    async def stop(self, now=False):
        try:
            await super().stop(now=now)
        finally:
            HostNetworkSpawner._taken.discard(self.port)

    async def get_ip_and_port(self):
        return "127.0.0.1", self.port


workdir = _env("PEERBENCH_WORKDIR")

c.JupyterHub.bind_url = f"http://127.0.0.1:{_env('PEERBENCH_PORT')}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{_env('PEERBENCH_HUB_PORT')}"
c.JupyterHub.db_url = f"sqlite:///{workdir}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{workdir}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{workdir}/jupyterhub.pid"
# The harness removes the containers itself (by label) between workloads, quickly and all at once.
c.JupyterHub.cleanup_servers = False

c.ConfigurableHTTPProxy.command = [_env("PEERBENCH_CHP")]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{_env('PEERBENCH_PROXY_API_PORT')}"
c.ConfigurableHTTPProxy.auth_token = _env("PEERBENCH_PROXY_TOKEN")

c.JupyterHub.authenticator_class = "ltiauthenticator.lti11.auth.LTI11Authenticator"
c.LTI11Authenticator.consumers = {_env("PEERBENCH_CONSUMER_KEY"): _env("PEERBENCH_CONSUMER_SECRET")}
c.LTI11Authenticator.username_key = "ext_user_username"
c.Authenticator.allow_all = True

c.JupyterHub.spawner_class = HostNetworkSpawner
c.DockerSpawner.image = _env("PEERBENCH_IMAGE")
c.DockerSpawner.pull_policy = "never"
c.DockerSpawner.network_name = "host"
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.ip = "127.0.0.1"
c.DockerSpawner.remove = True
c.DockerSpawner.prefix = _env("PEERBENCH_PREFIX")
c.DockerSpawner.extra_create_kwargs = {"labels": {"lticontainer.peerbench": _env("PEERBENCH_RUN")}}
c.DockerSpawner.cpu_limit = 1.0
c.DockerSpawner.mem_limit = int(_env("PEERBENCH_MEM_LIMIT"))
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 600
c.Spawner.http_timeout = 600
