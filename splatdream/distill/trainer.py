"""The distillation loop: N Gaussian particles, one prior, one LoRA score model of the particles.

One ``step()``: sample a camera per particle, render every particle, encode to the prior's
model space, add noise at a random t, ask the prior (CFG, view-dependent prompt) and the
particles' LoRA score model (camera-conditioned) for the noise, push each render along
w(t) (eps_prior - eps_lora), densify/prune with gsplat's DefaultStrategy, then train the LoRA
on the detached renders. Everything after the render runs ``max_batch`` renders at a time, so
memory does not grow with the particle count. Everything random comes from one seeded generator,
so a resumed run repeats an uninterrupted one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor

from splatdream.colours import edit_caption, target_word
from splatdream.distill import densify
from splatdream.distill.colour_field import ColourField
from splatdream.distill.config import DistillConfig
from splatdream.distill.guidance import (
    all_finite,
    sample_timesteps,
    sds_grad,
    surrogate_loss,
    timestep_weight,
    vsd_grad,
)
from splatdream.distill.score_net import CameraLoRA, score_optimizer
from splatdream.priors.base import Prior, TextEmbeddings, denoising_target
from splatdream.priors.half import scaled_backward, unscale_grads
from splatdream.priors.views import VIEW_WORDS, view_words, with_view
from splatdream.render import render_gaussians
from splatdream.scene import Cameras, Gaussians, sample_orbit, sh_to_rgb

if TYPE_CHECKING:  # shapes for the reader and mypy only: nothing checks them at run time
    from jaxtyping import Float, Int

log = logging.getLogger(__name__)

PARAM_KEYS = ("means", "scales", "quats", "opacities", "sh0", "shN")


@dataclass
class StepResult:
    """What one step reports (also one line of metrics.jsonl)."""

    step: int
    loss: float
    lora_loss: float
    t_mean: float
    num_gaussians: list[int]
    skipped: bool = False
    regulariser: bool = False
    refine: dict[str, float] = field(default_factory=dict)
    """At a refine: percentiles of the grad2d it acted on and the fraction of Gaussians that grew."""
    extra: dict[str, float] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "step": self.step,
            "loss": self.loss,
            "lora_loss": self.lora_loss,
            "t_mean": self.t_mean,
            "num_gaussians": self.num_gaussians,
            "skipped": self.skipped,
        }
        if self.regulariser:
            rec["regulariser"] = True
        rec.update(self.refine)
        rec.update(self.extra)
        return rec


def base_lrs(cfg: DistillConfig) -> dict[str, float]:
    return {
        "means": cfg.lr.means(0, cfg.steps),
        "scales": cfg.lr.scales,
        "quats": cfg.lr.quats,
        "opacities": cfg.lr.opacities,
        "sh0": cfg.lr.sh0,
        "shN": cfg.lr.shN,
    }


def frozen_keys(cfg: DistillConfig) -> frozenset[str]:
    """Parameters that never move (learning rate 0 throughout) and so need no gradient.

    Densification reads the image-plane gradient of the means, so with it on nothing is detached.
    """
    if cfg.densify.enabled:
        return frozenset()
    lrs = base_lrs(cfg)
    return frozenset(
        k for k, lr in lrs.items() if lr == 0 and (k != "means" or cfg.lr.means(cfg.steps, cfg.steps) == 0)
    )


def chunks(n: int, size: int) -> list[slice]:
    """Consecutive slices of at most ``size`` covering ``range(n)``."""
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def make_optimizers(
    params: torch.nn.ParameterDict, cfg: DistillConfig, lr_scale: float
) -> dict[str, torch.optim.Optimizer]:
    """One Adam per parameter, the layout gsplat's strategies edit in place."""
    lrs = base_lrs(cfg)
    return {
        k: torch.optim.Adam([{"params": [params[k]], "lr": lrs[k] * lr_scale, "name": k}], eps=1e-15)
        for k in PARAM_KEYS
    }


class Trainer:
    """Holds the trained state (particles, optimisers, LoRA score model, RNG) and runs steps.

    Its checkpoints (what is saved, how a resume restores it) live in ``distill/checkpoint.py``.
    """

    def __init__(
        self,
        cfg: DistillConfig,
        prior: Prior,
        prompt: str,
        particles: list[Gaussians],
        references: list[Gaussians] | None = None,
        device: torch.device | str = "cpu",
        reference_captions: list[str] | None = None,
    ) -> None:
        if not particles:
            raise ValueError("distillation needs at least one particle")
        if cfg.retrieval_reg_every > 0 and (references is None or len(references) != len(particles)):
            raise ValueError("retrieval_reg_every > 0 needs one retrieved-asset reference per particle")
        if (
            cfg.retrieval_reg_every > 0
            and cfg.reference_text == "caption"
            and (reference_captions is None or len(reference_captions) != len(particles))
        ):
            raise ValueError(
                "distill.reference_text 'caption' needs one retrieved-asset caption per particle"
            )
        self.reference_captions = (
            list(reference_captions) if cfg.reference_text == "caption" and reference_captions else None
        )
        self.cfg = cfg
        self.prior = prior
        self.prompt = prompt
        self.device = torch.device(device)
        self.step_count = 0
        self.lr_scale = 1.0
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.params = [g.to(self.device, torch.float32).to_param_dict() for g in particles]
        self.references = None if references is None else [r.detach().to(self.device) for r in references]
        self.optimizers = [make_optimizers(p, cfg, self.lr_scale) for p in self.params]
        self.frozen = frozen_keys(cfg)
        self.guidance_scale = cfg.prior_guidance()
        self.colour_fields: list[ColourField] = []
        self.colour_opts: list[torch.optim.Optimizer] = []
        if cfg.colour.enabled:
            self.colour_fields = [
                ColourField(
                    cfg.colour, base_rgb=sh_to_rgb(p["sh0"].detach()[:, 0]), word=target_word(prompt)
                ).to(self.device)
                for p in self.params
            ]
            self.colour_opts = [torch.optim.Adam(f.param_groups(), eps=1e-15) for f in self.colour_fields]
        self.strategy = densify.make_strategy(cfg.densify, cfg.steps)
        self.strategy_states = []
        for p, opt in zip(self.params, self.optimizers, strict=True):
            if self.strategy is not None:
                self.strategy.check_sanity(p, opt)
                self.strategy_states.append(self.strategy.initialize_state(scene_scale=1.0))
            else:
                self.strategy_states.append({})
        self.score_net: CameraLoRA | None = None
        self.score_opt: torch.optim.Optimizer | None = None
        if cfg.loss == "vsd" and not self.reference_every_step:
            prior.unet.requires_grad_(False)
            # peft's LoRA A matrices and the camera MLP draw from the global RNG: seed it here, so two
            # runs with the same seed (and a run and its resume) start from the same score net.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(cfg.seed)
                self.score_net = CameraLoRA(prior.unet, cfg.score_net)
            self.score_opt = score_optimizer(self.score_net.parameters_to_train(), cfg.score_net)
        self.text = self._encode_prompts()

    # -- set-up ---------------------------------------------------------------------------------
    @property
    def unchanged_by_prompt(self) -> str | None:
        """Why no step can move any particle, or None when one can.

        With the edited caption as the target and the asset's render under its own caption as the
        reference every step, a prompt that edits no caption (no colour or material word the captions do
        not already say) makes both texts of the score one text and both renders one render: every
        gradient is exactly zero, and with densification off the run would end bit-identical to its
        inits (tests/test_distill_trainer.py). So those steps need not run.
        """
        captions = self.reference_captions
        if (
            self.cfg.target_text != "edited-caption"
            or not self.reference_every_step
            or captions is None
            or self.cfg.densify.enabled
            or any(edit_caption(c, self.prompt) != c for c in captions)
        ):
            return None
        return "the prompt changes none of the assets' captions (no colour or material word they do not already say)"

    @property
    def reference_every_step(self) -> bool:
        """Every step scores the retrieved assets' renders, so VSD's particle score (the LoRA) is never used."""
        return self.cfg.retrieval_reg_every == 1 and self.references is not None

    def _encode_prompts(self) -> dict[str | tuple, TextEmbeddings]:
        """The plain prompt (for the LoRA) and one per view word (for the prior), encoded once; with
        ``reference_text='caption'`` also each asset caption per view word (keys ``(particle, word)``), and
        with ``target_text='edited-caption'`` each caption as the prompt edits it (keys ``("target", particle, word)``)."""
        vp = self.prior.view_prompts
        texts: dict[str | tuple, str] = {"plain": self.prompt}
        texts.update({w: with_view(self.prompt, w, vp) for w in VIEW_WORDS})
        for i, caption in enumerate(self.reference_captions or []):
            texts.update({(i, w): with_view(caption, w, vp) for w in VIEW_WORDS})
            if self.cfg.target_text == "edited-caption":
                target = edit_caption(caption, self.prompt)
                texts.update({("target", i, w): with_view(target, w, vp) for w in VIEW_WORDS})
        with torch.no_grad():
            emb = self.prior.encode_prompts(list(texts.values()), negative_prompt=self.cfg.negative_prompt)
        return {key: emb[i] for i, key in enumerate(texts)}

    def text_for(self, cameras: Cameras, reference: bool = False) -> TextEmbeddings:
        """The prompt per camera (its view word); with ``reference`` and asset captions, the caption of the
        particle each camera belongs to (cameras come ``views_per_particle`` per particle, in order); with
        ``target_text='edited-caption'`` and no ``reference``, that caption as the prompt edits it."""
        assert cameras.azimuth_deg is not None and cameras.elevation_deg is not None  # orbit cameras
        words = view_words(cameras.azimuth_deg, cameras.elevation_deg, self.prior.view_prompts)
        v = self.cfg.views_per_particle
        if reference and self.reference_captions is not None:
            cond = torch.cat([self.text[(j // v, w)].cond for j, w in enumerate(words)])
        elif self.cfg.target_text == "edited-caption" and self.reference_captions is not None:
            cond = torch.cat([self.text[("target", j // v, w)].cond for j, w in enumerate(words)])
        else:
            cond = torch.cat([self.text[w].cond for w in words])
        return TextEmbeddings(cond, self.text["plain"].uncond)

    # -- the loop ---------------------------------------------------------------------------------
    @property
    def num_particles(self) -> int:
        return len(self.params)

    def particle(self, index: int) -> Gaussians:
        """Particle ``index`` as rendered: frozen parameters detached, colours through its colour field."""
        params = self.params[index]
        g = Gaussians.from_param_dict({k: v.detach() if k in self.frozen else v for k, v in params.items()})
        return self.colour_fields[index].recolour(g) if self.colour_fields else g

    def particles(self) -> list[Gaussians]:
        """Detached copies of the current particles (colour fields baked into the base colours)."""
        with torch.no_grad():
            return [self.particle(i).detach().clone() for i in range(self.num_particles)]

    def _sample_cameras(self) -> Cameras:
        res = int(self.cfg.resolution(self.step_count, self.cfg.steps))
        n = self.num_particles * self.cfg.views_per_particle
        return sample_orbit(n, self.cfg.cameras, res, res, generator=self.generator)

    def _backgrounds(self, n: int) -> Tensor:
        if self.cfg.background == "white":
            return torch.ones(n, 3)
        if self.cfg.background == "black":
            return torch.zeros(n, 3)
        return torch.rand(n, 3, generator=self.generator)

    def _set_lrs(self) -> None:
        for opts in self.optimizers:
            for group in opts["means"].param_groups:
                group["lr"] = self.cfg.lr.means(self.step_count, self.cfg.steps) * self.lr_scale

    def render(
        self, index: int, cameras: Cameras, backgrounds: Float[Tensor, "B 3"]
    ) -> tuple[Float[Tensor, "B 3 H W"], dict[str, Any]]:
        """Particle ``index`` from ``cameras`` (B of them) -> images in [0, 1] and the rasteriser's meta."""
        g = self.particle(index)
        colors, _, meta = render_gaussians(
            g,
            cameras.to(self.device),
            backgrounds=backgrounds.to(self.device),
            backend=self.cfg.backend,
            packed=self.cfg.packed,
        )
        return colors.permute(0, 3, 1, 2).clamp(0, 1), meta

    def step(self) -> StepResult:
        cfg, prior = self.cfg, self.prior
        step = self.step_count
        v = cfg.views_per_particle
        self._set_lrs()
        cameras = self._sample_cameras()
        backgrounds = self._backgrounds(len(cameras))
        t = sample_timesteps(
            len(cameras), cfg.t_min, cfg.t_max(step, cfg.steps), prior.num_train_timesteps, self.generator
        )
        renders, metas = [], []
        for i in range(self.num_particles):
            sl = slice(i * v, (i + 1) * v)
            img, meta = self.render(i, cameras[sl], backgrounds[sl])
            if self.strategy is not None:
                self.strategy.step_pre_backward(
                    self.params[i], self.optimizers[i], self.strategy_states[i], step, meta
                )
            renders.append(img)
            metas.append(meta)
        images = torch.cat(renders)
        use_reg = (
            cfg.retrieval_reg_every > 0
            and self.references is not None
            and step % cfg.retrieval_reg_every == 0
        )
        refs = self._reference_images(cameras, backgrounds) if use_reg else None
        for opt in self._particle_optimizers():
            opt.zero_grad(set_to_none=True)
        total, grads, x0 = self._score_and_backward(images, cameras, t.to(prior.device), refs)
        trained = [p for params in self.params for p in params.values()]
        trained += [p for f in self.colour_fields for p in f.parameters()]
        ok = all_finite([total, *grads, *(p.grad for p in trained)])
        record = self._densify_record() if ok and densify.is_refine_step(cfg.densify, step, cfg.steps) else {}
        refines: list[dict[str, float]] = []
        if ok:
            for i in range(self.num_particles):
                for opt in self.optimizers[i].values():
                    opt.step()
                if self.colour_opts:
                    self.colour_opts[i].step()
                if self.strategy is not None:
                    seed = int(torch.randint(0, 2**62, (1,), generator=self.generator))
                    did = densify.post_backward(
                        self.strategy,
                        cfg.densify,
                        self.params[i],
                        self.optimizers[i],
                        self.strategy_states[i],
                        step,
                        metas[i],
                        seed,
                        packed=cfg.packed,
                        steps=cfg.steps,
                    )
                    refines.append(did)
        if record and refines and all(refines):
            record |= densify.refine_summary(refines)
            log.info("refine at step %d: %s", step, densify.describe_refine(record))
        lora_loss = self._train_lora(x0, cameras) if (ok and self.score_net is not None) else float("nan")
        self.step_count += 1
        return StepResult(
            step=step,
            loss=total.item(),
            lora_loss=lora_loss,
            t_mean=float(t.float().mean()) / prior.num_train_timesteps,
            num_gaussians=[len(p["means"]) for p in self.params],
            skipped=not ok,
            regulariser=use_reg,
            refine=record,
        )

    def _score_and_backward(
        self,
        images: Float[Tensor, "B 3 H W"],
        cameras: Cameras,
        t: Int[Tensor, " B"],
        refs: Float[Tensor, "B 3 H W"] | None,
    ) -> tuple[Float[Tensor, ""], list[Tensor], Float[Tensor, "B C h w"]]:
        """Score the renders and backpropagate the surrogate loss into the particles.

        The VAE encode and backward and the UNet calls run ``max_batch`` renders at a time, each chunk
        backpropagated into a detached copy of the renders; the renders' own graph (rasteriser, particles)
        is then walked once. Returns the loss, each chunk's score gradient and the detached model-space renders.
        """
        cfg, prior = self.cfg, self.prior
        b = images.shape[0]
        text = self.text_for(cameras)
        ref_text = self.text_for(cameras, reference=True) if refs is not None else text
        leaf = images.detach().requires_grad_(images.requires_grad)
        noise: Tensor | None = None
        losses, grads, x0s = [], [], []
        for sl in chunks(b, cfg.max_batch):
            x0 = prior.encode_images(leaf[sl].to(prior.device, prior.dtype)).float()
            if noise is None:  # one draw for the whole batch, so the chunking never changes the random stream
                noise = torch.randn((b, *x0.shape[1:]), generator=self.generator).to(x0)
            x_t = prior.add_noise(x0.detach(), noise[sl], t[sl])
            weight = timestep_weight(prior.alphas_cumprod, t[sl], x0.ndim)
            with torch.no_grad():
                eps_prior = prior.predict_noise(x_t, t[sl], text[sl], guidance_scale=self.guidance_scale)
                if refs is not None:
                    grad = vsd_grad(
                        eps_prior, self._reference_score(refs[sl], noise[sl], t[sl], ref_text[sl]), weight
                    )
                elif cfg.loss == "vsd":
                    grad = vsd_grad(eps_prior, self._lora_score(x_t, t[sl], cameras[sl]), weight)
                else:
                    grad = sds_grad(eps_prior, noise[sl], weight)
            loss = surrogate_loss(x0, grad, batch=b)
            if loss.requires_grad:
                loss.backward()
            losses.append(loss.detach())
            grads.append(grad)
            x0s.append(x0.detach())
        if images.requires_grad and leaf.grad is not None:
            images.backward(leaf.grad)
        return torch.stack(losses).sum(), grads, torch.cat(x0s)

    def _particle_optimizers(self) -> list[torch.optim.Optimizer]:
        return [opt for opts in self.optimizers for opt in opts.values()] + list(self.colour_opts)

    def _densify_record(self) -> dict[str, float]:
        """The grad2d the coming refine acts on (accumulated up to the previous step), pooled over particles."""
        d = self.cfg.densify
        pairs = [
            (g, densify.grow_threshold(d, s, len(p["means"])))
            for s, p in zip(self.strategy_states, self.params, strict=True)
            if (g := densify.mean_grad2d(s)) is not None
        ]
        return densify.grad2d_record([g for g, _ in pairs], [t for _, t in pairs])

    def _lora_score(self, x_t: Tensor, t: Tensor, cameras: Cameras) -> Tensor:
        """The particles' score as noise; under guidance the unconditional branch keeps the text, drops the camera."""
        assert self.score_net is not None
        c2w = cameras.c2w.to(x_t.device)
        plain = self.text["plain"]
        with self.score_net.active(c2w):
            eps_c = self.prior.predict_noise(x_t, t, plain, guidance_scale=1.0)
        s = self.cfg.score_net.guidance_scale
        if s == 1.0:
            return eps_c
        # threestudio: the LoRA is trained with the camera dropped, never the text, so its unconditional
        # branch is the same text with a zero camera.
        with self.score_net.active(torch.zeros_like(c2w)):
            eps_u = self.prior.predict_noise(x_t, t, plain, guidance_scale=1.0)
        return eps_u + s * (eps_c - eps_u)

    @torch.no_grad()
    def _reference_images(
        self, cameras: Cameras, backgrounds: Float[Tensor, "B 3"]
    ) -> Float[Tensor, "B 3 H W"]:
        """Each retrieved asset rendered from its particle's cameras (ReDream's regulariser)."""
        assert self.references is not None
        v = self.cfg.views_per_particle
        imgs = []
        for i, ref in enumerate(self.references):
            sl = slice(i * v, (i + 1) * v)
            colors, _, _ = render_gaussians(
                ref,
                cameras[sl].to(self.device),
                backgrounds=backgrounds[sl].to(self.device),
                backend=self.cfg.backend,
                packed=self.cfg.packed,
            )
            imgs.append(colors.permute(0, 3, 1, 2).clamp(0, 1))
        return torch.cat(imgs)

    def _reference_score(self, images: Tensor, noise: Tensor, t: Tensor, text: TextEmbeddings) -> Tensor:
        """The prior's score of the retrieved assets' renders under the same noise and timestep (DDS-like)."""
        x0_ref = self.prior.encode_images(images.to(self.prior.device, self.prior.dtype)).float()
        x_t_ref = self.prior.add_noise(x0_ref, noise, t)
        return self.prior.predict_noise(x_t_ref, t, text, guidance_scale=self.guidance_scale)

    def _lora_output(self, x_t: Tensor, t: Tensor) -> Tensor:
        """The LoRA model's raw UNet output (noise or v, the prior's own parameterisation) on the plain prompt."""
        prior = self.prior
        hidden = self.text["plain"].expand(x_t.shape[0]).to(prior.device, prior.dtype).cond
        return prior.unet_forward(x_t.to(prior.device, prior.dtype), t.to(prior.device), hidden, None)

    def _train_lora(self, x0: Tensor, cameras: Cameras) -> float:
        """Denoising loss of the LoRA score model on the detached renders (fresh t, camera dropout).

        The target is the prior's own parameterisation (noise, or v for v-prediction priors), so the
        LoRA's output means what ``predict_noise`` takes it to mean.
        """
        assert self.score_net is not None and self.score_opt is not None
        prior, params = self.prior, self.score_net.parameters_to_train()
        b = x0.shape[0]
        losses = []
        for _ in range(self.cfg.score_net.steps_per_particle_step):
            t = torch.randint(0, prior.num_train_timesteps, (b,), generator=self.generator).to(x0.device)
            noise = torch.randn(x0.shape, generator=self.generator).to(x0)
            keep = (torch.rand(b, generator=self.generator) >= self.cfg.score_net.camera_dropout).to(x0)
            c2w = cameras.c2w.to(x0) * keep[:, None, None]
            x_t = prior.add_noise(x0, noise, t)
            target = denoising_target(x0, noise, t, prior.alphas_cumprod, prior.prediction_type)
            self.score_opt.zero_grad(set_to_none=True)
            parts = []
            for sl in chunks(b, self.cfg.max_batch):
                with self.score_net.active(c2w[sl]):
                    pred = self._lora_output(x_t[sl], t[sl])
                # the batch mean, one chunk at a time
                loss = F.mse_loss(pred.float(), target[sl].float(), reduction="sum") / target.numel()
                scaled_backward(loss, prior.dtype)  # float16 UNet: keep the gradients out of the subnormals
                parts.append(loss.detach())
            unscale_grads(params, prior.dtype)
            loss = torch.stack(parts).sum()
            if all_finite([loss, *(p.grad for p in params)]):
                self.score_opt.step()
            losses.append(loss)
        return float(torch.stack(losses).mean())

    def lower_learning_rate(self) -> None:
        """After repeated non-finite steps: scale every particle learning rate down."""
        self.lr_scale *= self.cfg.lr_backoff
        for opt in self._particle_optimizers():
            for group in opt.param_groups:
                group["lr"] *= self.cfg.lr_backoff
