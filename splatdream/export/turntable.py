"""``splatdream turntable SCENE.ply``: an orbit video of a splat scene (mp4 or gif).

``render_turntable`` is the library function (the pipeline calls it on its result);
``main`` is the command. The camera circles the origin -- our scenes are centred there -- at a
distance that fits the scene's bounding sphere into the view unless ``radius`` is given.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import tyro

from splatdream.atomic import atomic_write
from splatdream.device import resolve_device
from splatdream.export.gltf_splats_reader import GltfSplatsError
from splatdream.export.scene_file import read_scene
from splatdream.io.ply import PlyFormatError
from splatdream.numbers import checked
from splatdream.render import Backend, render_gaussians
from splatdream.scene import Gaussians, orbit_ring

VIDEO_SUFFIXES = (".mp4", ".gif")


@dataclass(frozen=True)
class TurntableConfig:
    """Render an orbit video of a Gaussian .ply (mp4 or gif, chosen by the --out extension)."""

    scene: tyro.conf.Positional[Path]
    """The .ply file to render (INRIA 3D Gaussian Splatting layout), or a .glb holding KHR_gaussian_splatting splats."""
    out: Path = Path("outputs/turntable.mp4")
    """Output video; .mp4 (H.264) or .gif. Written atomically."""
    frames: int = 120
    """Number of frames in one full revolution."""
    size: int = 512
    """Frame width and height in pixels (even, for H.264)."""
    elevation: float = 15.0
    """Camera elevation above the equator, degrees."""
    radius: float | None = None
    """Camera distance from the origin; by default fitted to the scene's bounding sphere."""
    fov: float = 40.0
    """Vertical field of view, degrees."""
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """Background colour, RGB in [0, 1]."""
    fps: int = 30
    """Frames per second of the video."""
    backend: Backend = "auto"
    """Rasteriser: auto (gsplat on CUDA, the torch backend elsewhere), torch or gsplat."""
    device: str = "auto"
    """Torch device to render on; auto picks CUDA when available."""
    batch: int = 4
    """Cameras rendered per rasteriser call (lower it if memory runs out)."""


def fit_radius(gaussians: Gaussians, fov_deg: float, margin: float = 1.08) -> float:
    """Camera distance at which a sphere around the origin holding the visible scene fills the view.

    Uses the 99.8th percentile of (distance + 2 sigma) over Gaussians that are not nearly
    transparent, so a few far-away floaters do not shrink the object to a dot.
    """
    g = gaussians.detach().to("cpu", torch.float32)
    visible = g.opacities > 0.05
    if bool(visible.any()):
        g = g[visible]
    if len(g) == 0:
        return 3.0
    extent = g.means.norm(dim=-1) + 2.0 * g.scales.max(dim=-1).values
    extent = extent[torch.isfinite(extent)]
    if extent.numel() == 0:
        return 3.0
    sphere = max(float(np.quantile(extent.numpy(), 0.998)), 1e-3)
    half = math.radians(fov_deg) / 2
    return margin * sphere / math.sin(half)


def render_turntable(
    gaussians: Gaussians,
    frames: int = 120,
    size: int = 512,
    *,
    elevation: float = 15.0,
    radius: float | None = None,
    fov: float = 40.0,
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
    backend: Backend = "auto",
    device: torch.device | str | None = None,
    batch: int = 4,
    progress: bool = True,
) -> np.ndarray:
    """Render ``frames`` views evenly spaced around the origin, starting at the front (azimuth 0).

    Returns:
        uint8 frames [F, size, size, 3].
    """
    if frames < 1 or size < 1 or batch < 1:
        raise ValueError(f"frames, size and batch must be positive, got {frames}, {size}, {batch}")
    device = resolve_device("auto") if device is None else torch.device(device)
    if radius is None:
        radius = fit_radius(gaussians, fov)
    cameras = orbit_ring(frames, size, size, elevation_deg=elevation, radius=radius, fov_y_deg=fov)
    scene = gaussians.detach().to(device, torch.float32)
    bg = torch.tensor(background, dtype=torch.float32, device=device)
    out = np.empty((frames, size, size, 3), dtype=np.uint8)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("turntable"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress, transient=True) as bar, torch.no_grad():
        task = bar.add_task("render", total=frames)
        for start in range(0, frames, batch):
            views = cameras[start : start + batch].to(device)
            colors, _, _ = render_gaussians(
                scene, views, backgrounds=bg.expand(len(views), 3), backend=backend
            )
            rgb = (colors[..., :3].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
            out[start : start + len(views)] = rgb
            bar.advance(task, len(views))
    return out


def write_video(path: str | Path, frames: np.ndarray, fps: int = 30) -> None:
    """Write uint8 frames [F, H, W, 3] atomically as .mp4 (H.264, yuv420p) or .gif."""
    import imageio.v2 as imageio

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(
            f"unsupported video extension {path.suffix!r} for {path}; use one of {VIDEO_SUFFIXES}"
        )
    assert frames.ndim == 4 and frames.shape[-1] == 3, frames.shape
    assert frames.dtype == np.uint8, frames.dtype
    with atomic_write(path) as tmp:
        if suffix == ".mp4":
            _encode_mp4(tmp, frames, fps)
        else:
            imageio.mimwrite(tmp, list(frames), format="GIF", duration=1000.0 / fps, loop=0)


def _encode_mp4(path: Path, frames: np.ndarray, fps: int) -> None:
    """H.264 through imageio-ffmpeg's ffmpeg binary, started without running Python in the child.

    imageio's writer starts ffmpeg with a ``preexec_fn``, which runs every at-fork hook in the
    child: LanceDB's then prints a fork warning per video. ``start_new_session`` keeps Ctrl-C away
    from ffmpeg just the same.
    """
    import imageio_ffmpeg

    _, h, w, _ = frames.shape
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-y",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{w}x{h}",
        "-r",
        str(fps),
        "-i",
        "-",
        "-an",
        "-vcodec",
        "libx264",
        "-crf",
        "10",
        "-pix_fmt",
        "yuv420p",
        "-vf",
        "pad=ceil(iw/2)*2:ceil(ih/2)*2",  # yuv420p needs even sides
        "-f",
        "mp4",
        str(path),
    ]
    done = subprocess.run(
        cmd,
        input=np.ascontiguousarray(frames).tobytes(),
        capture_output=True,
        start_new_session=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg could not write {path}: {done.stderr.decode(errors='replace').strip()}")


def _fail(message: str, code: int = 2) -> int:
    print(f"splatdream turntable: error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    cfg = checked(tyro.cli(TurntableConfig, args=argv, prog="splatdream turntable"))
    if cfg.out.suffix.lower() not in VIDEO_SUFFIXES:
        return _fail(f"--out must end in .mp4 or .gif, got {cfg.out}")
    if cfg.frames < 1 or cfg.size < 2 or cfg.batch < 1 or cfg.fps < 1:
        return _fail("--frames, --batch and --fps must be >= 1 and --size >= 2")
    if cfg.out.suffix.lower() == ".mp4" and cfg.size % 2:
        return _fail(f"--size must be even for .mp4 (H.264), got {cfg.size}")
    try:
        gaussians = read_scene(cfg.scene, allow_empty=False)
    except (PlyFormatError, GltfSplatsError, FileNotFoundError) as exc:
        return _fail(str(exc))
    device = resolve_device(cfg.device)
    radius = cfg.radius if cfg.radius is not None else fit_radius(gaussians, cfg.fov)
    t0 = time.perf_counter()
    frames = render_turntable(
        gaussians,
        cfg.frames,
        cfg.size,
        elevation=cfg.elevation,
        radius=radius,
        fov=cfg.fov,
        background=cfg.background,
        backend=cfg.backend,
        device=device,
        batch=cfg.batch,
    )
    seconds = time.perf_counter() - t0
    write_video(cfg.out, frames, fps=cfg.fps)
    print(
        f"wrote {cfg.out}: {cfg.frames} frames at {cfg.size}x{cfg.size}, {len(gaussians):,} Gaussians, "
        f"camera radius {radius:.3f}, rendered on {device} in {seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
