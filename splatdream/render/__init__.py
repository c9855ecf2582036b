"""Rasterise 3D Gaussians: one stateless function, two backends with gsplat's contract.

``rasterize`` takes *activated* scales and opacities, exactly like ``gsplat.rasterization``
1.5.3, and returns ``(colors [C,H,W,D], alphas [C,H,W,1], meta)``. On CUDA tensors it calls
gsplat; elsewhere it runs the pure-torch backend in ``torch_backend``. gsplat is imported
lazily so importing this package never builds or loads CUDA code.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor

from splatdream.scene import Cameras, Gaussians

Backend = Literal["auto", "torch", "gsplat"]
RenderMode = Literal["RGB", "D", "ED", "RGB+D", "RGB+ED"]


def resolve_backend(backend: Backend, device: torch.device) -> Literal["torch", "gsplat"]:
    if backend == "auto":
        return "gsplat" if device.type == "cuda" else "torch"
    if backend == "gsplat" and device.type != "cuda":
        raise ValueError("backend='gsplat' needs CUDA tensors; use backend='torch' (or 'auto') on CPU")
    if backend not in ("torch", "gsplat"):
        raise ValueError(f"unknown backend {backend!r}; choose 'auto', 'torch' or 'gsplat'")
    return backend


def rasterize(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4] wxyz
    scales: Tensor,  # [N, 3] activated
    opacities: Tensor,  # [N] activated
    colors: Tensor,  # [N, D] or [N, K, 3] SH coefficients (with sh_degree), or [C, N, ...]
    viewmats: Tensor,  # [C, 4, 4]
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    *,
    sh_degree: int | None = None,
    backgrounds: Tensor | None = None,  # [C, D]
    render_mode: RenderMode = "RGB",
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    eps2d: float = 0.3,
    packed: bool = False,
    backend: Backend = "auto",
) -> tuple[Tensor, Tensor, dict[str, Any]]:
    """Render Gaussians into C cameras; same arguments and outputs as ``gsplat.rasterization``."""
    which = resolve_backend(backend, means.device)
    if which == "gsplat":
        from gsplat import rasterization

        return rasterization(
            means, quats, scales, opacities, colors, viewmats, Ks, width, height,
            sh_degree=sh_degree, backgrounds=backgrounds, render_mode=render_mode,
            near_plane=near_plane, far_plane=far_plane, eps2d=eps2d, packed=packed,
        )
    from splatdream.render.torch_backend import rasterization_torch

    return rasterization_torch(
        means, quats, scales, opacities, colors, viewmats, Ks, width, height,
        sh_degree=sh_degree, backgrounds=backgrounds, render_mode=render_mode,
        near_plane=near_plane, far_plane=far_plane, eps2d=eps2d, packed=packed,
    )


def render_gaussians(
    gaussians: Gaussians,
    cameras: Cameras,
    *,
    backgrounds: Tensor | None = None,  # [C, 3]
    render_mode: RenderMode = "RGB",
    backend: Backend = "auto",
) -> tuple[Tensor, Tensor, dict[str, Any]]:
    """Convenience wrapper: activate a ``Gaussians`` scene and render it from ``cameras``."""
    return rasterize(
        gaussians.means,
        gaussians.quats,
        gaussians.scales,
        gaussians.opacities,
        gaussians.sh,
        cameras.viewmats.to(gaussians.means),
        cameras.Ks.to(gaussians.means),
        cameras.width,
        cameras.height,
        sh_degree=gaussians.sh_degree,
        backgrounds=backgrounds,
        render_mode=render_mode,
        backend=backend,
    )


__all__ = ["rasterize", "render_gaussians", "resolve_backend", "Backend", "RenderMode"]
