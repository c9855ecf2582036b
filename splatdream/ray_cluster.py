"""Connect to a Ray cluster, or start one on this machine: shared by ``splatdream batch`` and ``assets add --ray``.

A local cluster is private to this user and this machine. Ray runs arbitrary pickled code for anyone
who reaches its GCS, raylet or agents, and on Linux its default is to bind them on every interface.
``ray.init`` also turns a ``_node_ip_address`` of 127.0.0.1 into the machine's external address, so
asking for loopback is not enough. Ray's own single-machine mode (what it uses on macOS and Windows,
switched by ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``) takes loopback as the node address, and every
server then binds 127.0.0.1. Ray makes its temp folder world-writable (0777, ``sockets/`` included),
so it lives inside a 0700 folder of ours that no other user can enter.

``--ray-address`` joins a cluster someone set up; securing it (token auth, a firewall) is theirs to do:
see docs/batch.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: Ray's switch for its single-machine mode: node address = loopback, so every server binds 127.0.0.1.
SINGLE_MACHINE_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
#: Ray's usage-stats switch. A private local Ray keeps it off unless the user set it: nothing reports
#: usage from this machine, and Ray Data's metrics poller (a thread asking a Prometheus on
#: localhost:9090 every 10 s) does not start, nor print its traceback when the process exits mid-poll.
USAGE_STATS_ENV = "RAY_USAGE_STATS_ENABLED"


@contextmanager
def private_local_ray() -> Iterator[Path]:
    """A 0700 folder for Ray's session files, and Ray's single-machine mode, for the length of the block."""
    import ray._private.ray_constants as ray_constants

    private = Path(
        tempfile.mkdtemp(prefix="sd-ray-")
    )  # mkdtemp: 0700, ours; short, for Ray's unix socket paths
    old_env = {name: os.environ.get(name) for name in (SINGLE_MACHINE_ENV, USAGE_STATS_ENV)}
    old_flag = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    os.environ[SINGLE_MACHINE_ENV] = "0"  # for the GCS, raylet, agents and workers this driver starts
    os.environ.setdefault(USAGE_STATS_ENV, "0")
    ray_constants.ENABLE_RAY_CLUSTER = False  # read at import: set it for this (already importing) driver too
    try:
        yield private / "ray"  # Ray chmods this one 0777; the 0700 parent keeps everyone else out
    finally:
        for name, value in old_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if old_flag is not None:
            ray_constants.ENABLE_RAY_CLUSTER = old_flag
        shutil.rmtree(private, ignore_errors=True)


@contextmanager
def ray_session(address: str | None, local_cpus: int | None) -> Iterator[Any]:
    """Connect to ``address`` ('auto' or host:port), or start a private local Ray on loopback; yields the ray module."""
    import ray

    if ray.is_initialized():  # the caller (a test, a notebook) already connected
        yield ray
        return
    common: dict[str, Any] = {"log_to_driver": False, "logging_level": "WARNING", "configure_logging": True}
    if address is not None:
        ray.init(address=address, **common)
        try:
            yield ray
        finally:
            ray.shutdown()
        return
    with private_local_ray() as temp_dir:
        ray.init(num_cpus=local_cpus, include_dashboard=False, _temp_dir=str(temp_dir), **common)
        try:
            yield ray
        finally:
            ray.shutdown()
