"""An advisory lock on a file, held by one process at a time, released by the kernel when it dies.

``flock`` (``msvcrt.locking`` on Windows) rather than an ``O_EXCL`` marker: a run killed with
``kill -9`` or by a power cut leaves no stale lock to clean up, and there is no window in which two
processes both decide a lock is stale. The file is never deleted (deleting it would let a waiter
lock an orphaned inode); it holds the holder's pid and host so a refusal can say who has it.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path


class LockHeld(Exception):
    """Someone else holds the lock; ``holder`` is what they wrote into it ('pid 123 on host')."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is locked by {holder}")
        self.path = path
        self.holder = holder


class FileLock:
    """``with FileLock(path): ...``, or ``acquire(wait_s)`` / ``release()``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self, wait_s: float = 0.0, on_wait: object = None) -> None:
        """Take the lock, polling for up to ``wait_s`` seconds; raises ``LockHeld`` when it stays taken.

        ``on_wait(holder)`` is called once, when the first try finds the lock held and ``wait_s`` > 0.
        """
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if _try_lock(fd):
                os.ftruncate(fd, 0)
                os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
                self._fd = fd
                return
            os.close(fd)
            holder = self.holder()
            if time.monotonic() >= deadline:
                raise LockHeld(self.path, holder)
            if not told and callable(on_wait):
                on_wait(holder)
                told = True
            time.sleep(0.1)

    def holder(self) -> str:
        try:
            text = self.path.read_text(errors="replace").strip()
        except OSError:
            text = ""
        return text or "another process"

    def release(self) -> None:
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
