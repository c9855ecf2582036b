"""Configuration of the distillation stage (VSD/SDS over N Gaussian particles)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from splatdream.distill.schedule import ExpDecay, Steps, at_step
from splatdream.scene_config import OrbitRanges

LossKind = Literal["vsd", "sds"]
"""The distillation loss: variational (VSD, ProlificDreamer) or plain score distillation (SDS, DreamFusion)."""

DEFAULT_GUIDANCE: dict[str, float] = {"vsd": 7.5, "sds": 100.0}
"""The prior's CFG when ``guidance_scale`` is unset: ProlificDreamer's 7.5 for VSD, DreamFusion's 100 for SDS."""


@dataclass(frozen=True)
class ScoreNetConfig:
    """The LoRA score model of the particles' distribution (VSD)."""

    rank: int = 4
    """LoRA rank on the UNet attention projections (ProlificDreamer / threestudio: 4)."""
    alpha: float = 4.0
    """LoRA alpha (scale = alpha / rank; threestudio's diffusers LoRA layers have scale 1)."""
    init: Literal["gaussian", "kaiming"] = "gaussian"
    """The LoRA A matrices' init (B starts at zero either way): 'gaussian' N(0, 1/rank^2) as diffusers' LoRA layers
    that threestudio's VSD uses; 'kaiming' is peft's default (kaiming-uniform, ~10x smaller on SD's 320-1280-wide
    projections), so the LoRA's output moves that much less per step at the same learning rate."""
    lr: float = 1e-4
    """AdamW learning rate of the LoRA and camera embedding (ProlificDreamer: 1e-4)."""
    betas: tuple[float, float] = (0.9, 0.99)
    """AdamW betas (threestudio's prolificdreamer.yaml)."""
    eps: float = 1e-15
    """AdamW epsilon (threestudio's prolificdreamer.yaml)."""
    weight_decay: float = 0.01
    """AdamW weight decay (torch's default, which threestudio leaves unset)."""
    camera_dropout: float = 0.1
    """Probability of zeroing the camera in LoRA training, so the LoRA model supports guidance."""
    guidance_scale: float = 1.0
    """CFG scale of the LoRA model's prediction (ProlificDreamer: 1.0)."""
    steps_per_particle_step: int = 1
    """LoRA training steps per particle update."""


@dataclass(frozen=True)
class LearningRates:
    """Adam learning rates per parameter group (raw parameters)."""

    means: ExpDecay = ExpDecay(1e-3, 1e-5)
    """Positions: log-linear decay over the run, as 3DGS does."""
    scales: float = 5e-3
    """Log-scales."""
    quats: float = 1e-3
    """Quaternions (wxyz)."""
    opacities: float = 5e-2
    """Logit opacities."""
    sh0: float = 1e-2
    """SH DC (base colour)."""
    shN: float = 5e-4
    """Higher SH bands."""


@dataclass(frozen=True)
class ColourFieldConfig:
    """Distil colour into a per-particle affine transform, a coarse 3D offset grid and offsets per colour cluster
    of the init (off: free colours only)."""

    enabled: bool = False
    """Route the score's colour gradient through the smooth field (per-Gaussian colours keep their own lr)."""
    grid_size: int = 6
    """Grid vertices per side over the cube [-extent, extent]^3 (2 = a trilinear ramp; 0 = affine only)."""
    extent: float = 1.0
    """Half side of the grid cube, in scene units (the object lies inside the unit sphere)."""
    lr_affine: float = 1e-2
    """Adam learning rate of the affine matrix and offset."""
    lr_grid: float = 1e-2
    """Adam learning rate of the grid offsets (RGB units)."""
    affine: bool = True
    """Train the global affine map (off: it stays the identity)."""
    palette: int = 0
    """Colour clusters of the particle's own init colours (k-means), each with its own RGB offset, shared
    softly by the Gaussians near it in colour. The parameters are decoupled by part: a score that pushes only
    the red seat moves only the red cluster's offset, while through one affine map per particle the same push
    also turned the brown back green (docs/quality.md). 0 = none."""
    palette_softness: float = 0.1
    """RGB distance over which a Gaussian's weight moves from one cluster to the next (the RBF's sigma):
    soft, so a texture's shades that fall either side of a cluster boundary still move together."""
    lr_palette: float = 1e-2
    """Adam learning rate of the palette offsets (RGB units)."""
    hold_matching: float = 0.0
    """A palette cluster whose colour lies within this Delta E of the prompt's colour or material word already
    has it and keeps it (its offset is held at 0): a brown back stays brown under "wooden" while the red seat
    turns, where the prior's own idea of "more wooden" on a brown surface is olive (docs/quality.md). 0 = off."""


@dataclass(frozen=True)
class DensifyConfig:
    """Densify and prune with gsplat's DefaultStrategy, with thresholds measured on score distillation.

    gsplat's defaults are tuned for a photometric L1 loss. The VSD surrogate's image-plane gradients are
    orders of magnitude larger, so at gsplat's ``grow_grad2d = 2e-4`` nearly every visible Gaussian grows
    at each refine (measured: 93% on the TinyPrior, 99% on an SD-shaped prior). Each refine writes the
    grad2d percentiles it acted on to metrics.jsonl (``benchmarks/densify.py``, docs/gpu_path.md). The
    scale depends on the prior (its VAE, its noise predictions), so the presets set their own threshold.
    """

    enabled: bool = True
    """Turn densification and pruning on."""
    refine_start: int = 100
    """First step that may grow or prune."""
    refine_stop: float = 0.75
    """No growing, pruning or opacity reset from this fraction of the run's steps on (threestudio: 15000 of 20000)."""
    refine_every: int = 100
    """Steps between refinements."""
    reset_every: float = 0.15
    """Opacity reset period as a fraction of the run's steps (threestudio: 3000 of 20000); size-based pruning
    (prune_scale3d) also runs only after the first reset."""
    grow_grad2d: float = 0.1
    """Mean image-plane gradient above which a Gaussian is duplicated or split. Default measured on the shipped
    TinyPrior (128 px renders, VSD, CFG 7.5, 4 particles): p50 0.002-0.006, p95 0.03-0.08, p99 0.06-0.15 over
    three refines, so 0.1 grows at most a few percent; gsplat's 2e-4 grew 77-93%."""
    grow_quantile: float | None = None
    """Scale-free growth: at each refine grow the top this fraction (e.g. 0.03) of the Gaussians seen since the
    last refine, ranked by mean grad2d, whatever the gradients' scale (still never past ``max_gaussians``).
    None: grow above the fixed ``grow_grad2d``. Each refine logs the threshold it used and what it did."""
    opacity_reset: bool = True
    """Reset opacities to 2x ``prune_opa`` every ``reset_every`` steps (3DGS). GaussianDreamer's SDS runs never
    reset; a reset that lands with a t_max drop lets the refines after it prune fading particles."""
    prune_opa: float = 0.01
    """Opacity below which Gaussians are removed (an opacity reset sets opacities to 2x this)."""
    prune_scale3d: float = 0.1
    """Largest axis (scene units; the object lies in the unit sphere) above which Gaussians are removed."""
    max_gaussians: int = 200_000
    """No growth once a particle has this many Gaussians (keeps memory bounded)."""

    def __post_init__(self) -> None:
        if not 0 <= self.refine_stop <= 1 or not 0 < self.reset_every <= 1:
            raise ValueError(
                f"distill.densify.refine_stop ({self.refine_stop}) and reset_every ({self.reset_every}) "
                "are fractions of the run's steps, in [0, 1] and (0, 1]: write step 15000 of a "
                "20000-step run as 0.75"
            )

    def stop_step(self, steps: int) -> int:
        """The step of a ``steps``-long run from which nothing grows, is pruned or reset."""
        return at_step(self.refine_stop, steps)

    def reset_period(self, steps: int) -> int:
        """Steps between opacity resets in a ``steps``-long run."""
        return max(1, at_step(self.reset_every, steps))


@dataclass(frozen=True)
class GuardConfig:
    """Bounds a particle must meet against its init at the end of distillation (off: results as distilled)."""

    enabled: bool = False
    """Check every particle after the last step and walk its colours back toward the init's where needed
    (runs that start from retrieved assets only: a random ball or a given .ply is not an asset to keep)."""
    max_patches: float = 3.0
    """Largest patch measure (Delta E; eval's bound is 4, this leaves a margin for eval's finer views)."""
    match_below: float = 15.0
    """A particle whose init is within this Delta E of the prompt's colour word already matches it ..."""
    keep_within: float = 0.5
    """... and may end at most this much farther from the word (eval's bound is +1)."""
    max_shift: float = 4.0
    """Prompts naming no colour or material: largest Delta E between the init's and the result's mean colour."""
    max_speckle: float = 1.02
    """Largest speckle ratio (eval's ``cleanliness.speckle``: result / init inside the init's parts, same
    floor): a recolour that pulls a texture's clusters apart (light wood kept, its dark grain turned black) is
    noisier than its init by eye and by this measure (x1.72 on a held-out piano). 1.02: the measure's own noise between view sets."""
    part_neighbours: int = 8
    """When the speckle bound leaves none of a change, try its part-wise mean (every Gaussian of a part takes
    the part's mean change; parts link each Gaussian to this many nearest neighbours of like colour): the
    piano's grain darkens alike instead of being pulled apart. 0: off."""
    steps: int = 8
    """Points tried on the line from result (a = 1) to init (a = 0): a = 1, 1 - 1/steps, ..., 0."""
    views: int = 12
    """Ring views the guard renders (plus views // 4 from above)."""
    size: int = 64
    """Their side in pixels."""


@dataclass(frozen=True)
class DistillConfig:
    """Variational score distillation (ProlificDreamer) over the particles; SDS as a switch."""

    loss: LossKind = "vsd"
    """'vsd' (LoRA particle score) or 'sds' (injected noise as the particle score)."""
    steps: int = 300
    """Particle update steps."""
    guidance_scale: float | None = None
    """Classifier-free guidance of the prior; unset: 7.5 for vsd (ProlificDreamer), 100 for sds (DreamFusion)."""
    negative_prompt: str = ""
    """Negative prompt for the prior's unconditional branch."""
    t_min: float = 0.02
    """Smallest diffusion time, as a fraction of the schedule."""
    t_max: Steps = Steps((0.98, 0.5), (0.25,))
    """Largest diffusion time over the run (threestudio: 0.98, then 0.5 from step 5000 of 20000)."""
    resolution: Steps = Steps((64.0,))
    """Render side in pixels over the run, e.g. Steps((64, 512), (0.25,))."""
    views_per_particle: int = 1
    """Cameras rendered per particle per step."""
    max_batch: int = 4
    """Most renders per chunk of a step (VAE encode and backward, prior and LoRA calls): the UNet sees at most
    2x this per call (CFG), whatever the particle count. Chunked and unchunked steps give the same gradients."""
    cameras: OrbitRanges = OrbitRanges()
    """Where training cameras are sampled."""
    background: Literal["random", "white", "black"] = "random"
    """Render background: a random solid colour per view keeps the prior from painting the backdrop."""
    lr: LearningRates = LearningRates()
    """Particle learning rates (a group at 0 is frozen: no gradient is computed for it)."""
    colour: ColourFieldConfig = ColourFieldConfig()
    """Smooth colour parameterisation the score's colour gradient goes through."""
    densify: DensifyConfig = DensifyConfig()
    """Densification / pruning."""
    score_net: ScoreNetConfig = ScoreNetConfig()
    """The particles' LoRA score model (VSD only)."""
    retrieval_reg_every: int = 0
    """ReDream's regulariser: every this many steps use eps(render) - eps(retrieved asset's render); 0 = off, paper: 3."""
    reference_text: Literal["prompt", "caption"] = "prompt"
    """What the retrieved asset's render is scored with on regulariser steps. 'prompt' (ReDream): the run's prompt,
    which pulls the particle back toward the asset. 'caption': the asset's own caption from retrieval (a Delta
    Denoising Score), so the gradient is what the prompt asks beyond what the asset already is -- the prior's own
    colour bias and the score's noise cancel between the two (docs/quality.md). With it every step
    (``retrieval_reg_every=1``) the particle score is never used, so VSD's LoRA is not trained."""
    target_text: Literal["prompt", "edited-caption"] = "prompt"
    """What the particle's render is scored with. 'prompt': the run's prompt. 'edited-caption' (with
    ``reference_text='caption'``): the asset's caption with its colour and material words replaced by the
    prompt's (``colours.edit_caption``), so the two texts of the Delta Denoising Score differ only by the change
    the prompt asks for; a prompt without colour or material words asks for none, and the particle stays as
    retrieved. The prompt against the caption also differs in every word the prompt leaves out ("a *red* sedan"
    vs "a sports car"), which pushed colour-less prompts' particles away from their own colours (docs/quality.md)."""
    guard: GuardConfig = GuardConfig()
    """Per-particle guard at the end: no particle leaves worse than its init (splatdream/guard.py, run by the pipeline: it judges with evaluate's measures)."""
    checkpoint_every: int = 100
    """Steps between checkpoints (written atomically)."""
    max_bad_steps: int = 5
    """Consecutive non-finite steps before restoring the last checkpoint with a lower learning rate."""
    lr_backoff: float = 0.5
    """Learning-rate factor applied on each such restore."""
    backend: Literal["auto", "torch", "gsplat"] = "auto"
    """Rasteriser backend (auto: gsplat on CUDA, torch elsewhere)."""
    packed: bool = False
    """The rasteriser's meta layout, passed to both the render and densification (gsplat's own default is
    packed=True, which its DefaultStrategy must then be told). Same images either way; packed saves GPU memory
    when many Gaussians are out of view."""
    seed: int = 0
    """Seed of every random choice (cameras, timesteps, noise, backgrounds)."""
    log_every: int = 1
    """Steps between metric records in metrics.jsonl."""

    def __post_init__(self) -> None:
        if self.max_batch < 1:
            raise ValueError(f"distill.max_batch must be at least 1, got {self.max_batch}")
        if self.target_text == "edited-caption" and (
            self.reference_text != "caption" or self.retrieval_reg_every != 1
        ):
            raise ValueError(
                "distill.target_text 'edited-caption' scores against the asset's caption every step: "
                "set --distill.reference-text caption --distill.retrieval-reg-every 1"
            )

    def prior_guidance(self) -> float:
        """The prior's CFG scale: ``guidance_scale`` when set, else 7.5 for VSD and 100 for SDS."""
        if self.guidance_scale is not None:
            return self.guidance_scale
        return DEFAULT_GUIDANCE[self.loss]
