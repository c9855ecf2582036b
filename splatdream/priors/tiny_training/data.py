"""Training data for the TinyPrior: captioned multiview renders of coloured objects.

Each object is sampled once as a coloured surface point cloud and splatted (z-buffered) into
random orbit cameras at 2x the target size, then area-downsampled: antialiased 32x32 RGB plus
alpha. Backgrounds are left out here and drawn fresh at every training step. Objects whose
caption names a colour are also recoloured (points near that colour take another colour, and
the word is rewritten), so colour words are disentangled from shapes. Captions get a view word
with the same thresholds and wording as ``views.view_prompts``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from splatdream.priors.config import ViewPromptConfig
from splatdream.priors.views import view_words
from splatdream.scene import Cameras

if TYPE_CHECKING:
    import trimesh

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 40, 35),
    "orange": (235, 130, 30),
    "yellow": (240, 210, 50),
    "green": (60, 160, 70),
    "blue": (40, 90, 200),
    "purple": (120, 60, 170),
    "pink": (235, 130, 170),
    "brown": (120, 75, 40),
    "black": (20, 20, 22),
    "white": (240, 240, 240),
    "grey": (120, 120, 125),
}
"""Colour words the data uses for recolouring (RGB as the starter library paints them)."""
_ALIASES = {"gray": "grey"}
_COLOUR_RE = re.compile(r"\b(" + "|".join(list(COLOURS) + list(_ALIASES)) + r")\b")


@functools.cache
def extended_colours() -> dict[str, tuple[int, int, int]]:
    """The words of ``splatdream.colours`` the base data never shows (teal, navy, golden, ...), at their first reference.

    The base TinyPrior learnt them only through the text embedder and draws them far off (its palette
    table in ``benchmarks/priors.py``: navy dE 70, golden 59); the ``palette`` data source recolours
    starter assets to exactly these colours for a fine-tune. Wood is left out: a grain, not a colour.
    Built once (a recolour looks its word up per object); treat it as read-only.
    """
    from splatdream.colours import COLOUR_WORDS

    return {w.word: w.references[0] for w in COLOUR_WORDS if w.word not in COLOURS and w.word != "wooden"}


def _rgb(word: str) -> tuple[int, int, int]:
    return COLOURS[word] if word in COLOURS else extended_colours()[word]


@dataclass
class ColouredPoints:
    """A coloured, oriented surface sample of one object."""

    points: Tensor  # [N, 3]
    normals: Tensor  # [N, 3]
    colors: Tensor  # [N, 3] in [0, 1]


def sample_mesh(mesh, n: int = 30_000, seed: int = 0) -> ColouredPoints:  # mesh: trimesh.Trimesh
    """Area-uniform surface points with the mesh's vertex or texture colours."""
    import trimesh

    try:
        pts, face, col = trimesh.sample.sample_surface(mesh, n, sample_color=True, seed=seed)
        col = np.asarray(col, dtype=np.float32)[:, :3] / 255.0
    except Exception:  # meshes with no usable colour: plain light grey
        pts, face = trimesh.sample.sample_surface(mesh, n, seed=seed)
        col = np.full((n, 3), 0.75, dtype=np.float32)
    normals = np.asarray(mesh.face_normals)[face]
    return ColouredPoints(
        torch.as_tensor(np.asarray(pts), dtype=torch.float32),
        torch.as_tensor(normals, dtype=torch.float32),
        torch.as_tensor(col, dtype=torch.float32),
    )


def splat_render(obj: ColouredPoints, cameras: Cameras) -> tuple[Tensor, Tensor]:
    """Z-buffered one-pixel splats with two-sided Lambert shading -> rgb [C,H,W,3], alpha [C,H,W]."""
    c, h, w = len(cameras), cameras.height, cameras.width
    rgbs, alphas = [], []
    for i in range(c):
        vm, K = cameras.viewmats[i], cameras.Ks[i]
        cam = obj.points @ vm[:3, :3].T + vm[:3, 3]
        z = cam[:, 2]
        uv = cam[:, :2] / z.clamp_min(1e-6)[:, None] * K.diagonal()[:2] + K[:2, 2]
        px, py = uv[:, 0].floor().long(), uv[:, 1].floor().long()
        ok = (z > 1e-3) & (px >= 0) & (px < w) & (py >= 0) & (py < h)
        idx = (py * w + px)[ok]
        depth = z[ok]
        best = torch.full((h * w,), float("inf")).scatter_reduce(0, idx, depth, "amin")
        front = depth <= best[idx] + 1e-6
        # Light from the camera's upper left: readable shape, no pitch-black sides.
        view_dir = -vm[2, :3]  # world direction from the camera into the scene
        light = torch.nn.functional.normalize(-view_dir + vm[1, :3] * -0.6 + vm[0, :3] * -0.3, dim=0)
        shade = 0.45 + 0.55 * (obj.normals[ok] @ light).abs()
        color = (obj.colors[ok] * shade[:, None]).clamp(0, 1)
        rgb = torch.zeros(h * w, 3)
        rgb[idx[front]] = color[front]
        alpha = torch.zeros(h * w)
        alpha[idx[front]] = 1.0
        rgbs.append(rgb.reshape(h, w, 3))
        alphas.append(alpha.reshape(h, w))
    return torch.stack(rgbs), torch.stack(alphas)


def downsample(rgb: Tensor, alpha: Tensor, factor: int) -> tuple[Tensor, Tensor]:
    """Area-average premultiplied colour and alpha ([C,H,W,3], [C,H,W]) by an integer factor."""
    pre = torch.cat([rgb * alpha[..., None], alpha[..., None]], dim=-1).permute(0, 3, 1, 2)
    pre = torch.nn.functional.avg_pool2d(pre, factor)
    a = pre[:, 3]
    col = pre[:, :3] / a.clamp_min(1e-6)[:, None]
    return col.permute(0, 2, 3, 1).clamp(0, 1), a


def caption_colour(caption: str) -> str | None:
    m = _COLOUR_RE.search(caption.lower())
    return None if m is None else _ALIASES.get(m.group(1), m.group(1))


def recolour(
    obj: ColouredPoints, caption: str, new: str, tolerance: float = 0.25
) -> tuple[ColouredPoints, str] | None:
    """Repaint the points near the caption's colour with ``new`` and rewrite the word (None if impossible)."""
    old = caption_colour(caption)
    if old is None:
        return None
    ref = torch.tensor(COLOURS[old], dtype=torch.float32) / 255.0
    near = (obj.colors - ref).norm(dim=-1) < tolerance
    if near.float().mean() < 0.05:
        return None
    target = torch.tensor(_rgb(new), dtype=torch.float32) / 255.0
    colors = obj.colors.clone()
    # Keep texture variation: shift by the difference to the reference colour.
    colors[near] = (target + 0.5 * (obj.colors[near] - ref)).clamp(0, 1)
    pattern = re.compile(
        r"\b" + "|".join([old] + [a for a, o in _ALIASES.items() if o == old]) + r"\b", re.IGNORECASE
    )
    return ColouredPoints(obj.points, obj.normals, colors), pattern.sub(new, caption, count=1)


def sample_cameras(n: int, size: int, generator: torch.Generator, overhead_fraction: float = 0.12) -> Cameras:
    """Random orbit cameras: azimuth all round, elevation -10..45 (plus some overhead 60..85)."""
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=generator)
    el = u(-10.0, 45.0)
    over = torch.rand(n, generator=generator) < overhead_fraction
    el = torch.where(over, u(62.0, 85.0), el)
    az = u(-180.0, 180.0)
    return Cameras.from_orbit(az, el, u(2.4, 3.0), u(40.0, 50.0), size, size)


@dataclass
class RenderedSet:
    """Renders and their labels; saved as one .npz in the run dir."""

    rgb: np.ndarray  # [N, S, S, 3] uint8, straight (not premultiplied) colour
    alpha: np.ndarray  # [N, S, S] uint8
    captions: list[str]  # [N] object caption without view word
    views: list[str]  # [N] front / side / back / overhead
    azimuth: np.ndarray  # [N] degrees
    elevation: np.ndarray  # [N] degrees
    asset: np.ndarray  # [N] int asset index (for held-out splits)

    def save(self, path: str | Path) -> None:
        from splatdream.atomic import atomic_write

        with atomic_write(path) as tmp:
            np.savez_compressed(
                tmp,
                rgb=self.rgb,
                alpha=self.alpha,
                captions=np.array(self.captions),
                views=np.array(self.views),
                azimuth=self.azimuth,
                elevation=self.elevation,
                asset=self.asset,
            )

    @classmethod
    def load(cls, path: str | Path) -> RenderedSet:
        d = np.load(path)
        return cls(
            d["rgb"],
            d["alpha"],
            [str(s) for s in d["captions"]],
            [str(s) for s in d["views"]],
            d["azimuth"],
            d["elevation"],
            d["asset"],
        )

    @staticmethod
    def concat(sets: Sequence[RenderedSet]) -> RenderedSet:
        offs, assets = 0, []
        for s in sets:
            assets.append(s.asset + offs)
            offs += int(s.asset.max()) + 1 if len(s.asset) else 0
        return RenderedSet(
            np.concatenate([s.rgb for s in sets]),
            np.concatenate([s.alpha for s in sets]),
            [c for s in sets for c in s.captions],
            [v for s in sets for v in s.views],
            np.concatenate([s.azimuth for s in sets]),
            np.concatenate([s.elevation for s in sets]),
            np.concatenate(assets),
        )

    def __len__(self) -> int:
        return len(self.captions)

    def subset(self, index: Sequence[int] | np.ndarray) -> RenderedSet:
        idx = np.asarray(index, dtype=np.int64)
        return RenderedSet(
            self.rgb[idx],
            self.alpha[idx],
            [self.captions[i] for i in idx],
            [self.views[i] for i in idx],
            self.azimuth[idx],
            self.elevation[idx],
            self.asset[idx],
        )


def render_assets(
    assets: Iterable[tuple[str, str, trimesh.Trimesh]],  # (caption, short caption, mesh)
    views_per_variant: int = 32,
    recolourings: int = 3,
    size: int = 32,
    supersample: int = 2,
    seed: int = 0,
    view_cfg: ViewPromptConfig = ViewPromptConfig(),
    palette: Sequence[str] | None = None,
) -> RenderedSet:
    """Render every asset (and ``recolourings`` recoloured copies when its caption names a colour).

    Half of each variant's views carry the full caption, half the short one ("a red chair"), so
    both prompt styles users write are in the data. With ``palette`` the recolourings draw from
    those words only and the asset's own colours are not rendered (the fine-tune set of new words).
    """
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    rgbs, alphas, caps, views, azs, els, ids = [], [], [], [], [], [], []
    for k, (caption, short, mesh) in enumerate(assets):
        base = sample_mesh(mesh, seed=seed + k)
        variants = [(base, caption, short)] if palette is None else []
        old = caption_colour(caption)
        if old is not None and recolourings > 0:
            others = [c for c in (COLOURS if palette is None else palette) if c != old]
            for new in rng.choice(others, size=min(recolourings, len(others)), replace=False):
                rec = recolour(base, caption, str(new))
                if rec is not None:
                    variants.append((rec[0], rec[1], short.replace(old, str(new), 1)))
        for obj, cap, short_cap in variants:
            cams = sample_cameras(views_per_variant, size * supersample, gen)
            rgb, alpha = downsample(*splat_render(obj, cams), supersample)
            assert cams.azimuth_deg is not None and cams.elevation_deg is not None  # orbit cameras
            rgbs.append((rgb * 255).round().to(torch.uint8).numpy())
            alphas.append((alpha * 255).round().to(torch.uint8).numpy())
            caps += [cap if i % 2 == 0 else short_cap for i in range(len(cams))]
            views += view_words(cams.azimuth_deg, cams.elevation_deg, view_cfg)
            azs.append(cams.azimuth_deg.numpy())
            els.append(cams.elevation_deg.numpy())
            ids.append(np.full(len(cams), k))
    return RenderedSet(
        np.concatenate(rgbs),
        np.concatenate(alphas),
        caps,
        views,
        np.concatenate(azs),
        np.concatenate(els),
        np.concatenate(ids),
    )


def synthetic_assets() -> list[tuple[str, str, trimesh.Trimesh]]:
    """Coloured primitives, each with a dark square marker on its front (+Z) so views differ."""
    import trimesh

    shapes = {
        "cube": lambda: trimesh.creation.box(extents=(1.0, 1.0, 1.0)),
        "ball": lambda: trimesh.creation.icosphere(subdivisions=3, radius=0.6),
        "cylinder": lambda: trimesh.creation.cylinder(0.45, 1.2, sections=32).apply_transform(
            trimesh.transformations.rotation_matrix(-np.pi / 2, (1, 0, 0))
        ),
        "cone": lambda: (
            trimesh.creation.cone(0.55, 1.2, sections=32)
            .apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, (1, 0, 0)))
            .apply_translation((0, -0.5, 0))
        ),
        "ring": lambda: trimesh.creation.torus(0.5, 0.18, major_sections=32, minor_sections=12),
        "tall block": lambda: trimesh.creation.box(extents=(0.6, 1.4, 0.6)),
        "flat slab": lambda: trimesh.creation.box(extents=(1.4, 0.35, 1.0)),
    }
    out = []
    for name, make in shapes.items():
        for colour in ("red", "green", "blue", "yellow"):
            body = make()
            body.visual.vertex_colors = np.tile(
                np.array([*COLOURS[colour], 255], np.uint8), (len(body.vertices), 1)
            )
            marker = trimesh.creation.box(extents=(0.35, 0.35, 0.1))
            marker.apply_translation((0.0, 0.1, float(body.bounds[1][2]) + 0.04))
            marker.visual.vertex_colors = np.tile(
                np.array([20, 20, 22, 255], np.uint8), (len(marker.vertices), 1)
            )
            mesh = trimesh.util.concatenate([body, marker])
            out.append((f"a {colour} {name}", f"a {colour} {name}", mesh))
    return out


def starter_assets(limit: int | None = None) -> list[tuple[str, str, trimesh.Trimesh]]:
    """The starter library's meshes with their captions and a short "a <colour> <category>" caption."""
    from splatdream.retrieval.meshes import load_mesh
    from splatdream.starter.build import load_manifest

    out = []
    for entry in load_manifest()[:limit]:
        colour = caption_colour(entry.caption)
        category = entry.category.replace("_", " ")
        short = f"a {colour} {category}" if colour else f"a {category}"
        out.append((entry.caption, short, load_mesh(entry.path)))
    return out
