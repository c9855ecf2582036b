"""Connect to a Ray cluster, or start one on this machine: shared by ``splatdream batch`` and ``assets add --ray``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def ray_session(address: str | None, local_cpus: int | None) -> Iterator[Any]:
    """Connect to ``address`` ('auto' or host:port), or start a local Ray on this machine; yields the ray module."""
    import ray

    if ray.is_initialized():  # the caller (a test, a notebook) already connected
        yield ray
        return
    common: dict[str, Any] = {"log_to_driver": False, "logging_level": "WARNING", "configure_logging": True}
    if address is not None:
        ray.init(address=address, **common)
    else:
        ray.init(num_cpus=local_cpus, include_dashboard=False, **common)
    try:
        yield ray
    finally:
        ray.shutdown()
