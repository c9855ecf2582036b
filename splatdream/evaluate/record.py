"""What eval measured, as frozen records that round-trip through eval.json."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from splatdream.configio import from_dict
from splatdream.evaluate.cleanliness import Cleanliness
from splatdream.evaluate.colour import ColourScore
from splatdream.rundir import EVAL_JSON, RunDir


@dataclass(frozen=True)
class ParticleEval:
    """Every number of one particle; ``*_init`` is the same metric on its initialisation."""

    index: int
    cleanliness: Cleanliness
    colour: ColourScore | None = None
    """None when the prompt has no colour or material word."""
    classifier_init: float | None = None
    classifier: float | None = None
    """Diffusion-classifier score (lower is better): the mean of its object and attribute parts; None when skipped."""
    classifier_object_init: float | None = None
    classifier_object: float | None = None
    """Its part against object-swapped captions: is it the prompt's object?"""
    classifier_attribute_init: float | None = None
    classifier_attribute: float | None = None
    """Its part against colour-swapped captions: does it have the prompt's colour? None without a colour word."""
    clip_init: float | None = None
    clip: float | None = None
    """CLIP score, 100 x cosine (higher is better); None when skipped."""
    alpips_init: float | None = None
    alpips: float | None = None
    """A-LPIPS between neighbouring ring views (lower is better); None when skipped."""
    patches: float | None = None
    """Colour patches the init does not have: RMS CIELAB residual (Delta E) of the blurred result after the best
    global affine map from the init's colours (``patches.patch_residual``); about 0 for a global recolour, lower is better."""
    mean_shift: float | None = None
    """Delta E between the init's and the result's mean object colour (how far the whole object was recoloured)."""

    def flat(self) -> dict[str, float]:
        """One level of metric name -> value (NaN where not measured), for tables and means."""
        out: dict[str, float] = {k: float(v) for k, v in asdict(self.cleanliness).items()}
        c = self.colour
        out["delta_e_init"] = c.delta_e_init if c else math.nan
        out["delta_e"] = c.delta_e if c else math.nan
        out["patches"] = math.nan if self.patches is None else float(self.patches)
        out["mean_shift"] = math.nan if self.mean_shift is None else float(self.mean_shift)
        for name in ("classifier", "classifier_object", "classifier_attribute", "clip", "alpips"):
            for key in (f"{name}_init", name):
                v = getattr(self, key)
                out[key] = math.nan if v is None else float(v)
        return out


@dataclass(frozen=True)
class RunEval:
    """The evaluation of one run directory."""

    run_dir: Path
    prompt: str
    views: int
    size: int
    particles: tuple[ParticleEval, ...]
    colour_word: str | None = None
    distractors: tuple[str, ...] = ()
    """Object-swapped captions the prompt competed against in the diffusion-classifier score."""
    attribute_distractors: tuple[str, ...] = ()
    """Colour-swapped captions the prompt competed against in the diffusion-classifier score."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Metric -> why it was not measured and how to supply what it needs."""

    def means(self) -> dict[str, float]:
        """Mean of every metric over the particles (NaNs ignored; NaN when none measured it)."""
        rows = [p.flat() for p in self.particles]
        out = {}
        for key in rows[0] if rows else ():
            vals = [r[key] for r in rows if not math.isnan(r[key])]
            out[key] = sum(vals) / len(vals) if vals else math.nan
        return out

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["run_dir"] = str(self.run_dir)
        d["mean"] = self.means()
        return _nan_to_none(d)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunEval:
        data = {k: v for k, v in data.items() if k != "mean"}
        for p in data.get("particles", []):
            p["cleanliness"] = _none_to_nan(p["cleanliness"])
            if p.get("colour"):
                p["colour"] = _none_to_nan(p["colour"])
        return from_dict(cls, data, where=EVAL_JSON)


def _nan_to_none(x: Any) -> Any:
    """NaN is not JSON; write null (read back as NaN where a float is due)."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _nan_to_none(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_nan_to_none(v) for v in x]
    return x


def _none_to_nan(x: Any) -> Any:
    if x is None:
        return math.nan
    if isinstance(x, dict):
        return {k: v if isinstance(v, str) else _none_to_nan(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_none_to_nan(v) for v in x]
    return x


def read_eval(path: str | Path) -> RunEval:
    """Load eval.json (or the eval.json inside a run directory)."""
    path = Path(path)
    if path.is_dir():
        path = RunDir(path).eval_json
    return RunEval.from_json(json.loads(path.read_text()))


__all__ = ["ParticleEval", "RunEval", "read_eval"]
