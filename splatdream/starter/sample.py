"""The shipped sample scene: two toadstools on a patch of grass, built procedurally.

``make_sample_scene()`` samples surfaces of revolution (caps, gills, stems) and a grass disc
with a Fibonacci-style lattice, puts one flat Gaussian on each sample oriented along the
surface normal, and bakes a soft key light into the colours (plus a faint band-1 sheen on the
caps, so the file exercises view-dependent SH). Everything is deterministic: the only
randomness is a seeded PCG64 stream of uniforms, and every value is snapped to a 2^-16 grid
before the float32 cast so the file is byte-identical across machines whose libm differ in
the last bit. ``python -m splatdream.starter.sample`` regenerates ``splatdream/data/sample/sample.ply``.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from splatdream.io.ply import write_ply
from splatdream.scene import SH_C0, Gaussians

SAMPLE_PLY = Path(__file__).resolve().parents[1] / "data" / "sample" / "sample.ply"
"""Path of the shipped sample scene."""

_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))
_SH_C1 = 0.4886025119029199
_LIGHT = np.array([0.45, 0.8, 0.4]) / np.linalg.norm([0.45, 0.8, 0.4])
_GRID = 2.0**16


@dataclass
class _Part:
    """Surface samples of one piece of the scene, in float64 until the end."""

    points: np.ndarray  # [n, 3]
    normals: np.ndarray  # [n, 3], unit
    rgb: np.ndarray  # [n, 3] in [0, 1], before lighting
    sigma: np.ndarray  # [n] tangential standard deviation
    sheen: float = 0.0  # band-1 brightness towards viewers facing the surface
    opacity: float = 0.95


def _revolve(
    rng: np.random.Generator, n: int, profile, t_range: tuple[float, float] = (0.0, 1.0), jitter: float = 0.35
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Evenly spread ``n`` samples on the surface of revolution of ``profile(t) -> (r, y)`` about +Y.

    Returns points, normals (the profile tangent turned by -90 degrees: outwards where the
    profile runs upwards), the parameter ``t``, the azimuth ``phi`` and the area per sample.
    """
    t_dense = np.linspace(*t_range, 2049)
    r_d, y_d = profile(t_dense)
    seg = np.hypot(np.diff(r_d), np.diff(y_d))
    ring = 2 * np.pi * 0.5 * (r_d[1:] + r_d[:-1]) * seg  # area of each thin band
    cdf = np.concatenate([[0.0], np.cumsum(ring)])
    area = cdf[-1]
    u = (np.arange(n) + 0.5 + jitter * (rng.random(n) - 0.5)) / n
    t = np.interp(u * area, cdf, t_dense)
    phi = np.arange(n) * _GOLDEN_ANGLE + jitter * 0.5 * (rng.random(n) - 0.5)
    r, y = profile(t)
    dt = 1e-5
    r1, y1 = profile(np.clip(t + dt, *t_range))
    r0, y0 = profile(np.clip(t - dt, *t_range))
    dr, dy = r1 - r0, y1 - y0
    # Rotating the profile tangent (dr, dy) by -90 degrees gives the normal (dy, -dr) in (r, y).
    nr, ny = dy, -dr
    length = np.hypot(nr, ny)
    nr, ny = nr / length, ny / length
    points = np.stack([r * np.sin(phi), y, r * np.cos(phi)], axis=-1)
    normals = np.stack([nr * np.sin(phi), ny, nr * np.cos(phi)], axis=-1)
    return points, normals, t, phi, area / n


def _disc(rng: np.random.Generator, n: int, radius: float, y: float) -> tuple[np.ndarray, float]:
    """Sunflower-spiral samples on a horizontal disc; returns points and area per sample."""
    i = np.arange(n) + 0.5 + 0.3 * (rng.random(n) - 0.5)
    r = radius * np.sqrt(np.clip(i / n, 0, 1))
    phi = np.arange(n) * _GOLDEN_ANGLE
    points = np.stack([r * np.sin(phi), np.full(n, y), r * np.cos(phi)], axis=-1)
    return points, np.pi * radius**2 / n


def _spot_mask(rng: np.random.Generator, dirs: np.ndarray, count: int, size: float) -> np.ndarray:
    """Points whose unit direction from the cap centre falls in one of ``count`` round spots."""
    k = np.arange(count) + 0.5
    polar = np.arccos(1 - 0.95 * k / count)  # upper part of the sphere only
    polar = polar * (0.9 + 0.2 * rng.random(count))
    az = k * _GOLDEN_ANGLE * 2.1 + rng.random(count)
    centres = np.stack([np.sin(polar) * np.sin(az), np.cos(polar), np.sin(polar) * np.cos(az)], axis=-1)
    radii = size * (0.7 + 0.6 * rng.random(count))
    cos_angle = dirs @ centres.T  # [n, count]
    return (cos_angle > np.cos(radii)[None]).any(axis=1)


def _toadstool(
    rng: np.random.Generator, scale: float, counts: tuple[int, int, int], base_y: float
) -> list[_Part]:
    """A red, white-spotted toadstool standing at the origin on y = ``base_y`` (before placement)."""
    n_cap, n_gill, n_stem = counts
    s = scale
    stem_top = base_y + 0.62 * s
    a, b, y_cap = 0.58 * s, 0.44 * s, stem_top - 0.04 * s
    theta_max = math.radians(102)

    def cap_profile(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        th = t * theta_max
        return a * np.sin(th), y_cap + b * np.cos(th)

    r_rim, y_rim = cap_profile(np.array(1.0))
    pts, nrm, _, _, area = _revolve(rng, n_cap, cap_profile, t_range=(0.0, 1.0))
    nrm = -nrm  # the profile runs downwards from the top, so the revolved normal points inwards
    dirs = (pts - np.array([0.0, y_cap, 0.0])) / np.array([a, b, a])
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    spots = _spot_mask(rng, dirs, count=16, size=0.17)
    rgb = np.where(spots[:, None], [1.0, 0.98, 0.93], [0.86, 0.08, 0.06])
    # Slightly darker towards the rim, like a real cap.
    t_rim = np.clip(np.arccos(np.clip(dirs[:, 1], -1, 1)) / theta_max, 0, 1)
    rgb = rgb * (1.0 - 0.18 * t_rim[:, None] ** 2)
    pts = pts + nrm * np.where(spots, 0.008 * s, 0.0)[:, None]  # spots stand a little proud
    cap = _Part(pts, nrm, rgb, np.full(len(pts), 0.7 * math.sqrt(area)), sheen=0.07)

    r_in = 0.15 * s

    def gill_profile(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # From the stem out to the rim (so the revolved normal points down), slightly domed.
        r = r_in + (r_rim - r_in) * t
        return r, stem_top - 0.03 * s + (y_rim - stem_top + 0.03 * s) * t**1.5

    pts, nrm, t, phi, area = _revolve(rng, n_gill, gill_profile)
    stripes = 0.5 + 0.5 * np.cos(phi * 48)
    rgb = np.array([0.92, 0.8, 0.66]) * (0.72 + 0.28 * stripes)[:, None] * (0.75 + 0.25 * t)[:, None]
    gills = _Part(pts, nrm, rgb, np.full(len(pts), 0.6 * math.sqrt(area)), opacity=0.98)

    def stem_profile(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Bottom to top: the revolved normal then points outwards.
        y = base_y + (stem_top - base_y) * t
        return s * (0.15 + 0.05 * (1 - t) ** 2 + 0.012 * np.sin(t * 9)), y

    pts, nrm, t, phi, area = _revolve(rng, n_stem, stem_profile, t_range=(0.0, 1.0))
    streak = 0.94 + 0.06 * np.cos(phi * 7 + t * 3)
    shade_under_cap = 1.0 - 0.35 * np.clip((t - 0.6) / 0.4, 0, 1)
    rgb = np.array([0.96, 0.93, 0.84]) * (streak * shade_under_cap)[:, None]
    stem = _Part(pts, nrm, rgb, np.full(len(pts), 0.6 * math.sqrt(area)))
    return [cap, gills, stem]


def _place(
    parts: list[_Part], offset: tuple[float, float, float], tilt_deg: float, yaw_deg: float
) -> list[_Part]:
    """Rotate parts about their base (tilt about X, then yaw about Y) and move them."""
    ct, st = math.cos(math.radians(tilt_deg)), math.sin(math.radians(tilt_deg))
    cy, sy = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    tilt = np.array([[1, 0, 0], [0, ct, -st], [0, st, ct]])
    yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rot = yaw @ tilt
    out = []
    for p in parts:
        moved = p.points @ rot.T + np.array(offset)
        out.append(_Part(moved, p.normals @ rot.T, p.rgb, p.sigma, p.sheen, p.opacity))
    return out


def _ground(
    rng: np.random.Generator, n_top: int, n_side: int, radius: float, y: float, shadows
) -> list[_Part]:
    """A grass disc with flowers and a soil rim; ``shadows(x, z)`` darkens it under the caps."""
    pts, area = _disc(rng, n_top, radius, y)
    x, z = pts[:, 0], pts[:, 2]
    patches = 0.5 + 0.25 * np.sin(9 * x + 2) * np.cos(7 * z - 1) + 0.25 * np.sin(23 * x - 17 * z)
    rgb = np.array([0.26, 0.55, 0.18]) + patches[:, None] * np.array([0.12, 0.16, 0.04])
    # A few flowers: small clusters in yellow, white and lilac.
    flower_colours = np.array([[1.0, 0.85, 0.2], [0.98, 0.98, 0.95], [0.72, 0.55, 0.95]])
    k = np.arange(14)
    fr = radius * np.sqrt((k + 0.5 + 0.5 * rng.random(14)) / 14.5) * 0.93
    fphi = k * _GOLDEN_ANGLE * 1.7 + 0.3 * rng.random(14)
    fx, fz = fr * np.sin(fphi), fr * np.cos(fphi)
    for i in range(len(k)):
        near = (x - fx[i]) ** 2 + (z - fz[i]) ** 2 < 0.035**2
        rgb[near] = flower_colours[i % 3]
    rgb = rgb * shadows(x, z)[:, None]
    normals = np.tile([0.0, 1.0, 0.0], (n_top, 1))
    top = _Part(
        pts + np.array([0, 1, 0]) * 0.004 * np.sin(13 * x + 11 * z)[:, None],
        normals,
        rgb,
        np.full(n_top, 0.66 * math.sqrt(area)),
        opacity=0.98,
    )

    depth = 0.09

    def side_profile(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.full_like(t, radius) - 0.02 * t * (1 - t), y - depth + depth * t

    pts, nrm, t, phi, a = _revolve(rng, n_side, side_profile)
    layers = 0.85 + 0.15 * np.cos(t * 19 + np.sin(phi * 5))
    rgb = np.array([0.47, 0.31, 0.18]) * layers[:, None]
    rgb = np.where((t > 0.82)[:, None], [0.26, 0.5, 0.17], rgb)  # grass overhang at the lip
    side = _Part(pts, nrm, rgb, np.full(n_side, 0.62 * math.sqrt(a)))
    return [top, side]


def _frames(normals: np.ndarray) -> np.ndarray:
    """Rotation matrices [n, 3, 3] whose third column is the normal (the thin axis of a flat Gaussian)."""
    ref = np.where(np.abs(normals[:, 1:2]) < 0.9, [[0.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]])
    t1 = np.cross(ref, normals)
    t1 /= np.linalg.norm(t1, axis=-1, keepdims=True)
    t2 = np.cross(normals, t1)
    return np.stack([t1, t2, normals], axis=-1)


def _matrix_to_wxyz(m: np.ndarray) -> np.ndarray:
    """Rotation matrices [n, 3, 3] -> unit quaternions [n, 4] (wxyz, w >= 0), Shepperd's method."""
    trace = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    diag = np.stack([trace, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], axis=-1)
    case = np.argmax(diag, axis=-1)
    q = np.empty((len(m), 4))
    for c in range(4):
        sel = case == c
        r = m[sel]
        if c == 0:
            s = 2 * np.sqrt(1 + r[:, 0, 0] + r[:, 1, 1] + r[:, 2, 2])
            q[sel] = np.stack(
                [
                    s / 4,
                    (r[:, 2, 1] - r[:, 1, 2]) / s,
                    (r[:, 0, 2] - r[:, 2, 0]) / s,
                    (r[:, 1, 0] - r[:, 0, 1]) / s,
                ],
                axis=-1,
            )
        else:
            i, j, k = c - 1, c % 3, (c + 1) % 3
            s = 2 * np.sqrt(1 + r[:, i, i] - r[:, j, j] - r[:, k, k])
            qi = np.empty((int(sel.sum()), 4))
            qi[:, 0] = (r[:, k, j] - r[:, j, k]) / s
            qi[:, 1 + i] = s / 4
            qi[:, 1 + j] = (r[:, j, i] + r[:, i, j]) / s
            qi[:, 1 + k] = (r[:, k, i] + r[:, i, k]) / s
            q[sel] = qi
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def make_sample_scene(seed: int = 7) -> Gaussians:
    """Build the sample scene (about 7,200 degree-3 Gaussians inside the unit sphere, +Y up)."""
    rng = np.random.default_rng(seed)
    ground_y = -0.5
    big_at, small_at = (-0.06, ground_y, -0.04), (0.4, ground_y, 0.24)
    parts = _place(_toadstool(rng, 1.0, (2500, 850, 850), 0.0), big_at, tilt_deg=-4, yaw_deg=20)
    parts += _place(_toadstool(rng, 0.48, (560, 170, 190), 0.0), small_at, tilt_deg=10, yaw_deg=60)

    def shadows(x: np.ndarray, z: np.ndarray) -> np.ndarray:
        d_big = np.hypot(x - big_at[0], z - big_at[2])
        d_small = np.hypot(x - small_at[0], z - small_at[2])
        shade = 1.0 - 0.45 * np.exp(-((d_big / 0.42) ** 2)) - 0.35 * np.exp(-((d_small / 0.2) ** 2))
        return np.clip(shade, 0.4, 1.0)

    parts += _ground(rng, 1750, 330, radius=0.72, y=ground_y, shadows=shadows)

    points = np.concatenate([p.points for p in parts])
    normals = np.concatenate([p.normals for p in parts])
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    lambert = np.clip(normals @ _LIGHT, 0.0, 1.0)
    shade = 0.72 + 0.36 * lambert
    rgb = np.clip(np.concatenate([p.rgb for p in parts]) * shade[:, None], 0.0, 1.0)
    sigma = np.concatenate([p.sigma for p in parts])
    sigma = sigma * (0.9 + 0.2 * rng.random(len(sigma)))
    thin = np.maximum(0.12 * sigma, 0.0015)
    sheen = np.concatenate([np.full(len(p.points), p.sheen) for p in parts])
    opacity = np.concatenate([np.full(len(p.points), p.opacity) for p in parts])

    n = len(points)
    sh = np.zeros((n, 16, 3))
    sh[:, 0] = (rgb - 0.5) / SH_C0
    # Band 1 (gsplat's basis -C1*y, C1*z, -C1*x of the camera-to-point direction): brighter
    # by ``sheen`` when looking straight at the surface, a cheap glossy look for the caps.
    sh[:, 1] = (sheen * normals[:, 1] / _SH_C1)[:, None]
    sh[:, 2] = (-sheen * normals[:, 2] / _SH_C1)[:, None]
    sh[:, 3] = (sheen * normals[:, 0] / _SH_C1)[:, None]

    fields = {
        "means": points,
        "quats": _matrix_to_wxyz(_frames(normals)),
        "log_scales": np.log(np.stack([sigma, sigma, thin], axis=-1)),
        "logit_opacities": np.log(opacity / (1 - opacity)),
        "sh": sh,
    }
    snapped = {k: (np.round(v * _GRID) / _GRID).astype(np.float32) for k, v in fields.items()}
    tensors = {k: torch.from_numpy(v) for k, v in snapped.items()}
    return Gaussians(**tensors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m splatdream.starter.sample", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=SAMPLE_PLY, help="where to write the .ply")
    args = parser.parse_args(argv)
    scene = make_sample_scene()
    write_ply(args.out, scene)
    print(f"wrote {args.out}: {len(scene):,} Gaussians, {args.out.stat().st_size / 2**20:.2f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
