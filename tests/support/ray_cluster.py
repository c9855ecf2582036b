"""A real single-node Ray cluster for tests: ``ray start --head --block`` on 127.0.0.1 with 2 CPUs.

Started in its own temp dir and stopped by signalling the ``--block`` process it started (which takes
its raylet, GCS and workers down with it), never with ``ray stop``, which would end every Ray of the user.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def local_ray_cluster(num_cpus: int = 2, timeout: float = 120.0) -> Iterator[str]:
    """Yield the address (host:port) of a fresh head node; the cluster is gone when the block exits."""
    temp = Path(tempfile.mkdtemp(prefix="sdray"))  # short: Ray's unix socket paths must stay under 107 chars
    ray_cli = Path(sys.executable).parent / "ray"
    args = [
        str(ray_cli),
        "start",
        "--head",
        "--block",
        "--port",
        "0",
        "--num-cpus",
        str(num_cpus),
        "--num-gpus",
        "0",
        "--node-ip-address",
        "127.0.0.1",
        "--include-dashboard",
        "false",
        "--disable-usage-stats",
        "--object-store-memory",
        str(200 * 1024**2),
        "--temp-dir",
        str(temp),
    ]
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            p for p in (str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")) if p
        ),
        RAY_AUTH_MODE="disabled",
    )  # a private test cluster; without this, a token left in ~/.ray switches auth on
    log = open(temp / "start.log", "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        address_file = temp / "ray_current_cluster"
        deadline = time.time() + timeout
        while not ("Ray runtime started" in (temp / "start.log").read_text() and address_file.exists()):
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"ray start failed:\n{(temp / 'start.log').read_text()}")
            time.sleep(0.2)
        yield address_file.read_text().strip()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the group of the ray start this context launched
                proc.wait()
        log.close()
        shutil.rmtree(temp, ignore_errors=True)
