"""``CpuPool``: independent torch work spread over the cores, one intra-op thread per worker.

Small-batch torch work on a few cores (the eval's renders, the diffusion classifier's UNet calls)
loses much of a second OpenMP thread to per-op synchronisation, and far more when another job
shares the machine and a spinning partner thread is descheduled. Running independent items side by
side, each on one thread, uses every core with no synchronisation inside an op; and each item's
result is the same bits as on one thread, whatever the number of workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

import torch

T = TypeVar("T")
U = TypeVar("U")
P = ParamSpec("P")


def _one_thread() -> None:
    # OpenMP's thread count is per calling thread: a new worker starts with the process default.
    torch.set_num_threads(1)


class CpuPool:
    """``workers`` threads, each running its items with one torch intra-op thread (a context manager)."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"a CpuPool needs at least one worker, got {workers}")
        self.workers = workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="cpu-pool", initializer=_one_thread)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return self._pool.submit(fn, *args, **kwargs)

    def map(self, fn: Callable[[U], T], items: Iterable[U]) -> Iterator[T]:
        """``fn`` over ``items`` on the workers, results in order."""
        return self._pool.map(fn, items)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> CpuPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cpu_workers(device: str | torch.device) -> int:
    """Workers for independent CPU work: torch's thread count (``OMP_NUM_THREADS`` or the cores); 1 off the CPU."""
    return max(1, torch.get_num_threads()) if torch.device(device).type == "cpu" else 1
