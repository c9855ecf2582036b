"""Typed schedules, instead of bare lists like ``[5000, 0.98, 0.5, 5001]``."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Steps:
    """Piecewise-constant value: ``values[i]`` from step ``milestones[i-1]`` on."""

    values: tuple[float, ...]
    """Value in each phase; one more than ``milestones``."""
    milestones: tuple[int, ...] = ()
    """Steps at which the next value takes over (ascending)."""

    def __post_init__(self) -> None:
        if len(self.values) != len(self.milestones) + 1:
            raise ValueError(f"Steps needs len(values) == len(milestones) + 1, got {self.values}, {self.milestones}")
        if list(self.milestones) != sorted(self.milestones):
            raise ValueError(f"Steps milestones must ascend, got {self.milestones}")

    def __call__(self, step: int) -> float:
        phase = sum(step >= m for m in self.milestones)
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
    """Log-linear decay from ``start`` to ``end`` over ``steps`` (3DGS's position learning rate)."""

    start: float
    end: float
    steps: int

    def __call__(self, step: int) -> float:
        if self.steps <= 0 or self.start <= 0 or self.end <= 0:
            return self.start
        frac = min(max(step / self.steps, 0.0), 1.0)
        return math.exp((1 - frac) * math.log(self.start) + frac * math.log(self.end))
