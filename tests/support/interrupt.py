"""``python -m tests.support.interrupt STAGE ARGS``: ``splatdream ARGS`` that sends itself SIGINT as STAGE starts.

STAGE is a ``Pipeline`` method (``load_prior``, ``retrieve``, ``init``): a real Ctrl-C at a known point,
so a test can check what an interrupt at that point leaves behind.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from splatdream.cli import main
from splatdream.pipeline import Pipeline


def interrupt_at(stage: str) -> None:
    real = getattr(Pipeline, stage)

    def press_ctrl_c(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGINT)
        return real(self, *args, **kwargs)

    setattr(Pipeline, stage, press_ctrl_c)


if __name__ == "__main__":
    interrupt_at(sys.argv[1])
    raise SystemExit(main(sys.argv[2:]))
