"""The scene (Gaussians) and the views (Cameras) every stage passes around.

Conventions, documented once here and in the README:
- World: +Y up, object centred at the origin inside the unit sphere. Azimuth 0 looks at the
  object's front from +Z; azimuth grows towards +X; elevation is positive above the equator.
- Cameras: gsplat / OpenCV convention -- world-to-camera 4x4 ``viewmats`` with x right, y down,
  z forward, intrinsics ``Ks`` in pixels.
- Gaussians: raw parameters (log-scales, logit-opacities, wxyz quaternions, SH) as gsplat's
  densification strategies keep them; activated values only at the rasteriser call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor

from splatdream.scene_config import OrbitRanges

SH_C0 = 0.28209479177387814
"""Degree-0 real spherical harmonic; colour = SH_C0 * dc + 0.5 in gsplat's convention."""


def num_sh_bases(degree: int) -> int:
    if not 0 <= degree <= 3:
        raise ValueError(f"SH degree must be 0..3, got {degree}")
    return (degree + 1) ** 2


def sh_degree_from_bases(k: int) -> int:
    degree = round(math.sqrt(k)) - 1
    if (degree + 1) ** 2 != k or not 0 <= degree <= 3:
        raise ValueError(f"{k} SH coefficients is not (d+1)^2 for a degree d in 0..3")
    return degree


def rgb_to_sh(rgb: Tensor) -> Tensor:
    """Colour in [0, 1] -> SH DC coefficient (inverse of the rasteriser's +0.5 offset)."""
    return (rgb - 0.5) / SH_C0


def sh_to_rgb(dc: Tensor) -> Tensor:
    return dc * SH_C0 + 0.5


@dataclass
class Gaussians:
    """Raw Gaussian parameters of one scene (one particle)."""

    means: Tensor  # [N, 3]
    quats: Tensor  # [N, 4] wxyz, not necessarily normalised
    log_scales: Tensor  # [N, 3]
    logit_opacities: Tensor  # [N]
    sh: Tensor  # [N, K, 3], K = (degree + 1)^2

    def __post_init__(self) -> None:
        n = self.means.shape[0]
        assert self.means.shape == (n, 3), self.means.shape
        assert self.quats.shape == (n, 4), self.quats.shape
        assert self.log_scales.shape == (n, 3), self.log_scales.shape
        assert self.logit_opacities.shape == (n,), self.logit_opacities.shape
        assert self.sh.ndim == 3 and self.sh.shape[0] == n and self.sh.shape[2] == 3, self.sh.shape
        sh_degree_from_bases(self.sh.shape[1])

    # -- activated views, used only at the rasteriser call --------------------------------
    @property
    def scales(self) -> Tensor:
        return torch.exp(self.log_scales)

    @property
    def opacities(self) -> Tensor:
        return torch.sigmoid(self.logit_opacities)

    @property
    def unit_quats(self) -> Tensor:
        return torch.nn.functional.normalize(self.quats, dim=-1)

    @property
    def sh_degree(self) -> int:
        return sh_degree_from_bases(self.sh.shape[1])

    @property
    def rgb(self) -> Tensor:
        """View-independent base colour [N, 3] from the DC band (unclamped)."""
        return sh_to_rgb(self.sh[:, 0])

    def __len__(self) -> int:
        return self.means.shape[0]

    @property
    def device(self) -> torch.device:
        return self.means.device

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_activated(
        cls,
        means: Tensor,
        scales: Tensor,
        opacities: Tensor,
        rgb: Tensor,
        quats: Tensor | None = None,
        sh_degree: int = 0,
    ) -> Gaussians:
        """Build raw parameters from activated values (scales > 0, opacities in (0, 1))."""
        n = means.shape[0]
        if quats is None:
            quats = torch.zeros(n, 4, dtype=means.dtype, device=means.device)
            quats[:, 0] = 1.0
        opa = opacities.clamp(1e-6, 1 - 1e-6)
        sh = torch.zeros(n, num_sh_bases(sh_degree), 3, dtype=means.dtype, device=means.device)
        sh[:, 0] = rgb_to_sh(rgb)
        return cls(means, quats, torch.log(scales), torch.logit(opa), sh)

    @classmethod
    def random_ball(
        cls,
        n: int,
        radius: float = 0.5,
        scale: float = 0.02,
        opacity: float = 0.2,
        sh_degree: int = 0,
        generator: torch.Generator | None = None,
    ) -> Gaussians:
        """Uniform random Gaussians in a ball: the usual no-prior baseline initialisation."""
        d = torch.randn(n, 3, generator=generator)
        d = d / d.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        r = radius * torch.rand(n, 1, generator=generator) ** (1 / 3)
        rgb = torch.rand(n, 3, generator=generator)
        quats = torch.randn(n, 4, generator=generator)
        return cls.from_activated(
            d * r,
            torch.full((n, 3), scale),
            torch.full((n,), opacity),
            rgb,
            quats=torch.nn.functional.normalize(quats, dim=-1),
            sh_degree=sh_degree,
        )

    # -- tensor plumbing --------------------------------------------------------------------
    def _map(self, fn) -> Gaussians:  # type: ignore[no-untyped-def]
        return Gaussians(**{f.name: fn(getattr(self, f.name)) for f in fields(self)})

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Gaussians:
        return self._map(lambda t: t.to(device=device, dtype=dtype))

    def detach(self) -> Gaussians:
        return self._map(lambda t: t.detach())

    def clone(self) -> Gaussians:
        return self._map(lambda t: t.clone())

    def __getitem__(self, index: Tensor | slice) -> Gaussians:
        """Select Gaussians by boolean mask, index tensor or slice."""
        return self._map(lambda t: t[index])

    def with_sh_degree(self, degree: int) -> Gaussians:
        """Zero-pad or truncate the SH bands to ``degree``."""
        k = num_sh_bases(degree)
        sh = self.sh[:, :k]
        if sh.shape[1] < k:
            pad = sh.new_zeros(len(self), k - sh.shape[1], 3)
            sh = torch.cat([sh, pad], dim=1)
        return replace(self, sh=sh)

    @staticmethod
    def cat(items: Sequence[Gaussians]) -> Gaussians:
        if not items:
            raise ValueError("cannot concatenate an empty list of Gaussians")
        degree = max(g.sh_degree for g in items)
        items = [g.with_sh_degree(degree) for g in items]
        return Gaussians(
            **{f.name: torch.cat([getattr(g, f.name) for g in items]) for f in fields(Gaussians)}
        )

    def is_finite(self) -> bool:
        return all(bool(torch.isfinite(getattr(self, f.name)).all()) for f in fields(self))

    # -- gsplat strategy interop --------------------------------------------------------------
    def to_param_dict(self, requires_grad: bool = True) -> torch.nn.ParameterDict:
        """Parameters keyed as gsplat's strategies expect (means, scales, quats, opacities, sh0, shN)."""
        tensors = {
            "means": self.means,
            "scales": self.log_scales,
            "quats": self.quats,
            "opacities": self.logit_opacities,
            "sh0": self.sh[:, :1],
            "shN": self.sh[:, 1:],
        }
        return torch.nn.ParameterDict(
            {
                k: torch.nn.Parameter(v.detach().clone(), requires_grad=requires_grad)
                for k, v in tensors.items()
            }
        )

    @classmethod
    def from_param_dict(cls, params: torch.nn.ParameterDict | dict[str, Tensor]) -> Gaussians:
        """View (not copy) of a gsplat-style parameter dict; gradients flow through it."""
        return cls(
            means=params["means"],
            quats=params["quats"],
            log_scales=params["scales"],
            logit_opacities=params["opacities"],
            sh=torch.cat([params["sh0"], params["shN"]], dim=1),
        )


def look_at(eye: Tensor, target: Tensor | None = None, up: Tensor | None = None) -> Tensor:
    """World-to-camera matrices [..., 4, 4] (OpenCV: x right, y down, z forward).

    Args:
        eye: camera centres [..., 3].
        target: points looked at [..., 3]; the origin by default.
        up: world up [3]; +Y by default. Cameras looking straight along it get a stable
            fallback so overhead views never produce NaN.
    """
    target = torch.zeros_like(eye) if target is None else target.expand_as(eye)
    up_vec = eye.new_tensor([0.0, 1.0, 0.0]) if up is None else up.to(eye)
    forward = torch.nn.functional.normalize(target - eye, dim=-1)
    right = torch.linalg.cross(forward, up_vec.expand_as(forward), dim=-1)
    degenerate = right.norm(dim=-1, keepdim=True) < 1e-6
    # Looking straight up or down: pick +X as "right", which is what an orbit at azimuth 0 gives.
    right = torch.where(degenerate, eye.new_tensor([1.0, 0.0, 0.0]).expand_as(right), right)
    right = torch.nn.functional.normalize(right, dim=-1)
    down = torch.linalg.cross(forward, right, dim=-1)
    c2w = torch.zeros(*eye.shape[:-1], 4, 4, dtype=eye.dtype, device=eye.device)
    c2w[..., :3, 0] = right
    c2w[..., :3, 1] = down
    c2w[..., :3, 2] = forward
    c2w[..., :3, 3] = eye
    c2w[..., 3, 3] = 1.0
    return torch.linalg.inv(c2w)


def intrinsics(fov_y_deg: Tensor, width: int, height: int) -> Tensor:
    """Pinhole intrinsics [..., 3, 3] in pixels from the vertical field of view."""
    focal = 0.5 * height / torch.tan(torch.deg2rad(fov_y_deg) / 2)
    K = torch.zeros(*fov_y_deg.shape, 3, 3, dtype=fov_y_deg.dtype, device=fov_y_deg.device)
    K[..., 0, 0] = focal
    K[..., 1, 1] = focal
    K[..., 0, 2] = width / 2
    K[..., 1, 2] = height / 2
    K[..., 2, 2] = 1.0
    return K


def orbit_position(azimuth_deg: Tensor, elevation_deg: Tensor, radius: Tensor) -> Tensor:
    """Camera centres [..., 3] on a sphere; azimuth 0 sits on +Z (the front), 90 on +X."""
    az = torch.deg2rad(azimuth_deg)
    el = torch.deg2rad(elevation_deg)
    return torch.stack(
        [
            radius * torch.cos(el) * torch.sin(az),
            radius * torch.sin(el),
            radius * torch.cos(el) * torch.cos(az),
        ],
        dim=-1,
    )


@dataclass
class Cameras:
    """A batch of pinhole cameras in gsplat's convention."""

    viewmats: Tensor  # [C, 4, 4] world-to-camera
    Ks: Tensor  # [C, 3, 3]
    width: int
    height: int
    azimuth_deg: Tensor | None = None  # [C], when the cameras came from an orbit
    elevation_deg: Tensor | None = None  # [C]
    radius: Tensor | None = None  # [C]

    def __post_init__(self) -> None:
        c = self.viewmats.shape[0]
        assert self.viewmats.shape == (c, 4, 4), self.viewmats.shape
        assert self.Ks.shape == (c, 3, 3), self.Ks.shape
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"image size must be positive, got {self.width}x{self.height}")

    def __len__(self) -> int:
        return self.viewmats.shape[0]

    @property
    def c2w(self) -> Tensor:
        return torch.linalg.inv(self.viewmats)

    @property
    def centers(self) -> Tensor:
        return self.c2w[:, :3, 3]

    def __getitem__(self, index: Tensor | slice | int) -> Cameras:
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)

        def pick(t: Tensor | None) -> Tensor | None:
            return None if t is None else t[index]

        return Cameras(
            self.viewmats[index],
            self.Ks[index],
            self.width,
            self.height,
            pick(self.azimuth_deg),
            pick(self.elevation_deg),
            pick(self.radius),
        )

    def to(self, device: torch.device | str) -> Cameras:
        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device)

        return Cameras(
            self.viewmats.to(device),
            self.Ks.to(device),
            self.width,
            self.height,
            move(self.azimuth_deg),
            move(self.elevation_deg),
            move(self.radius),
        )

    def resized(self, width: int, height: int) -> Cameras:
        """Same views at another resolution (intrinsics scaled)."""
        K = self.Ks.clone()
        K[:, 0] *= width / self.width
        K[:, 1] *= height / self.height
        return replace(self, Ks=K, width=width, height=height)

    @classmethod
    def from_orbit(
        cls,
        azimuth_deg: Tensor,
        elevation_deg: Tensor,
        radius: Tensor,
        fov_y_deg: Tensor,
        width: int,
        height: int,
    ) -> Cameras:
        eye = orbit_position(azimuth_deg, elevation_deg, radius)
        return cls(
            look_at(eye),
            intrinsics(fov_y_deg, width, height),
            width,
            height,
            azimuth_deg,
            elevation_deg,
            radius,
        )


def sample_orbit(
    n: int, ranges: OrbitRanges, width: int, height: int, generator: torch.Generator | None = None
) -> Cameras:
    """``n`` random cameras looking at the origin, uniform within ``ranges`` (seeded by ``generator``)."""

    def uniform(lo_hi: tuple[float, float]) -> Tensor:
        lo, hi = lo_hi
        return lo + (hi - lo) * torch.rand(n, generator=generator, dtype=torch.float32)

    az = uniform(ranges.azimuth_deg)
    az = torch.remainder(az + 180.0, 360.0) - 180.0
    return Cameras.from_orbit(
        az, uniform(ranges.elevation_deg), uniform(ranges.radius), uniform(ranges.fov_y_deg), width, height
    )


def orbit_ring(
    n: int,
    width: int,
    height: int,
    elevation_deg: float = 15.0,
    radius: float = 2.8,
    fov_y_deg: float = 45.0,
    start_azimuth_deg: float = 0.0,
) -> Cameras:
    """``n`` evenly spaced cameras around the object at one elevation: turntables and contact sheets."""
    az = start_azimuth_deg + torch.arange(n, dtype=torch.float32) * (360.0 / n)
    az = torch.remainder(az + 180.0, 360.0) - 180.0
    full = torch.full((n,), 1.0)
    return Cameras.from_orbit(az, full * elevation_deg, full * radius, full * fov_y_deg, width, height)
