"""The local Ray cluster of ``splatdream batch`` / ``assets add --ray`` listens on loopback only, in a private folder.

Checked from the outside: the listening sockets of the driver and every process it started (GCS, raylet,
agents, a worker that ran a task), and the permissions of the folder that holds Ray's session files.
"""

from __future__ import annotations

import ipaddress
import os
import stat

import psutil
import pytest

from splatdream.ray_cluster import ray_session

pytestmark = pytest.mark.slow


def _listening(pids: list[int]) -> list[tuple[str, str, int]]:
    found = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for conn in proc.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    found.append((proc.name(), conn.laddr.ip, conn.laddr.port))
        except psutil.NoSuchProcess:
            continue
    return found


def _is_loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def test_local_cluster_listens_on_loopback_only_in_a_private_folder() -> None:
    with ray_session(None, 1) as ray:

        @ray.remote
        def worker_pid() -> int:
            return os.getpid()

        worker = ray.get(worker_pid.remote())
        me = psutil.Process()
        pids = [me.pid, *(child.pid for child in me.children(recursive=True))]
        assert worker in pids
        sockets = _listening(pids)
        gcs = ray.get_runtime_context().gcs_address
        assert _is_loopback(gcs.rsplit(":", 1)[0].strip("[]")), gcs
        # Ray's temp folder (0777, by Ray) sits in a folder only we can enter
        parent = os.path.dirname(ray._private.worker._global_node.get_temp_dir_path().rstrip("/"))
        info = os.stat(parent)
        assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid(), oct(info.st_mode)
    # GCS, raylet (node manager, object manager), dashboard agent, runtime-env agent, driver, worker
    assert len(sockets) >= 6, sockets
    exposed = [s for s in sockets if not _is_loopback(s[1])]
    assert exposed == [], f"listening beyond loopback: {exposed}"
    assert not os.path.exists(parent)  # removed after the session
