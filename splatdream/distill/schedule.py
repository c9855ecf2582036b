"""Typed schedules, instead of bare lists like ``[5000, 0.98, 0.5, 5001]``.

``Steps`` and ``ExpDecay`` are written in fractions of the run, so they follow ``--distill.steps``: at
``N`` steps a milestone ``m`` falls on step ``round(m * N)``. A preset that once said "t_max drops at
step 400 of 1,200" says ``1/3``, which is step 400 at 1,200 steps and step 100 at 300.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def at_step(fraction: float, steps: int) -> int:
    """The step a fraction of a ``steps``-long run falls on."""
    return round(fraction * steps)


@dataclass(frozen=True)
class Steps:
    """Piecewise-constant value over the run: ``values[i]`` from the fraction ``milestones[i-1]`` of it on."""

    values: tuple[float, ...]
    """Value in each phase; one more than ``milestones``."""
    milestones: tuple[float, ...] = ()
    """Fractions of the run's steps (ascending, in [0, 1]) at which the next value takes over."""

    def __post_init__(self) -> None:
        if len(self.values) != len(self.milestones) + 1:
            raise ValueError(
                f"Steps needs len(values) == len(milestones) + 1, got {self.values}, {self.milestones}"
            )
        if list(self.milestones) != sorted(self.milestones):
            raise ValueError(f"Steps milestones must ascend, got {self.milestones}")
        if any(not 0 <= m <= 1 for m in self.milestones):
            raise ValueError(
                f"Steps milestones are fractions of the run's steps, in [0, 1], got {self.milestones}: "
                "write step 5000 of a 20000-step run as 0.25"
            )

    def milestone_steps(self, steps: int) -> tuple[int, ...]:
        """The steps of a ``steps``-long run at which the value changes."""
        return tuple(at_step(m, steps) for m in self.milestones)

    def __call__(self, step: int, steps: int) -> float:
        """The value at ``step`` of a run of ``steps`` steps."""
        phase = sum(step >= m for m in self.milestone_steps(steps))
        return self.values[phase]


@dataclass(frozen=True)
class Ramp:
    """Linear ramp from ``start`` to ``end`` between two steps, constant outside."""

    start: float
    end: float
    start_step: int = 0
    end_step: int = 0
    """Equal to ``start_step`` for a jump."""

    def __post_init__(self) -> None:
        if self.end_step < self.start_step:
            raise ValueError(f"Ramp end_step {self.end_step} is before start_step {self.start_step}")

    def __call__(self, step: int) -> float:
        if step >= self.end_step:
            return self.end
        if step <= self.start_step:
            return self.start
        frac = (step - self.start_step) / (self.end_step - self.start_step)
        return self.start + frac * (self.end - self.start)


@dataclass(frozen=True)
class ExpDecay:
    """Log-linear decay from ``start`` to ``end`` over a fraction of the run (3DGS's position learning rate)."""

    start: float
    end: float
    over: float = 1.0
    """Fraction of the run's steps the decay spans (1: it reaches ``end`` at the last step)."""

    def decay_steps(self, steps: int) -> int:
        return at_step(self.over, steps)

    def __call__(self, step: int, steps: int) -> float:
        """The value at ``step`` of a run of ``steps`` steps."""
        n = self.decay_steps(steps)
        if n <= 0 or self.start <= 0 or self.end <= 0:
            return self.start
        frac = min(max(step / n, 0.0), 1.0)
        return math.exp((1 - frac) * math.log(self.start) + frac * math.log(self.end))
