"""Rasterise 3D Gaussians: one stateless function, two backends with gsplat's contract.

``rasterize`` takes *activated* scales and opacities, exactly like ``gsplat.rasterization``
1.5.3, and returns ``(colors [C,H,W,D], alphas [C,H,W,1], meta)``. On CUDA tensors it calls
gsplat; elsewhere it runs the pure-torch backend in ``torch_backend``. gsplat is imported
lazily so importing this package never builds or loads CUDA code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor
from typing_extensions import Unpack

from splatdream.render.contract import Backend, RasterOptions, RenderMode
from splatdream.scene import Cameras, Gaussians

if TYPE_CHECKING:  # shapes for the reader and mypy only: nothing checks them at run time
    from jaxtyping import Float


def resolve_backend(backend: Backend, device: torch.device) -> Literal["torch", "gsplat"]:
    if backend == "auto":
        return "gsplat" if device.type == "cuda" else "torch"
    if backend == "gsplat" and device.type != "cuda":
        raise ValueError("backend='gsplat' needs CUDA tensors; use backend='torch' (or 'auto') on CPU")
    if backend not in ("torch", "gsplat"):
        raise ValueError(f"unknown backend {backend!r}; choose 'auto', 'torch' or 'gsplat'")
    return backend


def rasterize(
    means: Float[Tensor, "N 3"],
    quats: Float[Tensor, "N 4"],  # wxyz
    scales: Float[Tensor, "N 3"],  # activated
    opacities: Float[Tensor, " N"],  # activated
    colors: Float[Tensor, "N D"]
    | Float[Tensor, "N K 3"]  # SH coefficients (with sh_degree)
    | Float[Tensor, "C N ..."],  # one set per camera
    viewmats: Float[Tensor, "C 4 4"],
    Ks: Float[Tensor, "C 3 3"],
    width: int,
    height: int,
    *,
    backend: Backend = "auto",
    **options: Unpack[RasterOptions],
) -> tuple[Float[Tensor, "C H W D"], Float[Tensor, "C H W 1"], dict[str, Any]]:
    """Render Gaussians into C cameras; same arguments and outputs as ``gsplat.rasterization``."""
    if resolve_backend(backend, means.device) == "gsplat":
        from gsplat import rasterization

        return rasterization(means, quats, scales, opacities, colors, viewmats, Ks, width, height, **options)
    from splatdream.render.torch_backend import rasterization_torch

    return rasterization_torch(
        means, quats, scales, opacities, colors, viewmats, Ks, width, height, **options
    )


def render_gaussians(
    gaussians: Gaussians,
    cameras: Cameras,
    *,
    backend: Backend = "auto",
    **options: Unpack[RasterOptions],
) -> tuple[Float[Tensor, "C H W D"], Float[Tensor, "C H W 1"], dict[str, Any]]:
    """Activate a ``Gaussians`` scene and render it from ``cameras`` (SH degree from the scene)."""
    g = gaussians
    options.setdefault("sh_degree", g.sh_degree)
    return rasterize(
        g.means,
        g.quats,
        g.scales,
        g.opacities,
        g.sh,
        cameras.viewmats.to(g.means),
        cameras.Ks.to(g.means),
        cameras.width,
        cameras.height,
        backend=backend,
        **options,
    )


__all__ = ["Backend", "RasterOptions", "RenderMode", "rasterize", "render_gaussians", "resolve_backend"]
