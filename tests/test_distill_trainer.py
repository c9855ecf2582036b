"""The distillation loop on a tiny random prior: it runs, resumes exactly, and survives NaNs."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
import torch

from splatdream.distill.checkpoint import load_checkpoint, restore_trainer, save_checkpoint, trainer_state
from splatdream.distill.colour_field import ColourField
from splatdream.distill.config import (
    ColourFieldConfig,
    DensifyConfig,
    DistillConfig,
    LearningRates,
    ScoreNetConfig,
)
from splatdream.distill.loop import train
from splatdream.distill.schedule import ExpDecay
from splatdream.distill.score_net import CameraLoRA
from splatdream.distill.trainer import Trainer
from splatdream.scene import Gaussians

CFG = DistillConfig(
    steps=6,
    resolution=replace(DistillConfig().resolution, values=(24.0,)),
    densify=DensifyConfig(
        refine_start=2, refine_every=2, refine_stop=1.0, reset_every=1.0, grow_grad2d=1e-7, max_gaussians=900
    ),
    checkpoint_every=3,
)


def particles(n: int = 2, size: int = 300) -> list[Gaussians]:
    return [
        Gaussians.random_ball(
            size, radius=0.6, scale=0.05, opacity=0.5, generator=torch.Generator().manual_seed(i)
        )
        for i in range(n)
    ]


def state_equal(a: Trainer, b: Trainer) -> None:
    for pa, pb in zip(a.params, b.params, strict=True):
        for k in pa:
            torch.testing.assert_close(pa[k], pb[k], rtol=1e-5, atol=1e-6)
    sa, sb = a.score_net.trainable_state_dict(), b.score_net.trainable_state_dict()
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], rtol=1e-5, atol=1e-6)


def test_score_net_starts_as_the_prior_and_only_saves_trainables(tiny_prior_factory) -> None:
    prior = tiny_prior_factory()
    x = torch.randn(2, 3, 16, 16)
    t = torch.tensor([100, 700])
    emb = prior.encode_prompts(["a chair"])
    base = prior.predict_noise(x, t, emb, guidance_scale=1.0)
    net = CameraLoRA(prior.unet, ScoreNetConfig())
    c2w = torch.eye(4).expand(2, 4, 4)
    with net.active(c2w):
        same = prior.predict_noise(x, t, emb, guidance_scale=1.0)
    torch.testing.assert_close(same, base)
    with torch.no_grad():
        for p in net.parameters_to_train():
            p.add_(0.05)
    with net.active(c2w):
        moved = prior.predict_noise(x, t, emb, guidance_scale=1.0)
    assert (moved - base).abs().max() > 1e-3
    torch.testing.assert_close(prior.predict_noise(x, t, emb, guidance_scale=1.0), base)  # prior untouched
    state = net.trainable_state_dict()
    n_unet = sum(p.numel() for p in prior.unet.parameters())
    assert 0 < sum(v.numel() for v in state.values()) < n_unet / 2


@pytest.mark.parametrize("packed", [False, True])
def test_vsd_steps_update_particles_and_lora(tiny_prior_factory, packed: bool) -> None:
    prior = tiny_prior_factory()
    init = particles()
    tr = Trainer(replace(CFG, packed=packed), prior, "a blue chair", init)
    lora0 = tr.score_net.trainable_state_dict()
    results = [tr.step() for _ in range(5)]
    assert all(not r.skipped and torch.isfinite(torch.tensor(r.loss)) for r in results)
    now = tr.particles()
    assert not torch.equal(now[0].sh[:, 0].mean(0), init[0].sh[:, 0].mean(0))
    assert any(len(p) != 300 for p in now), "densification should have changed the count"
    assert all(len(p) <= 2 * 900 for p in now)
    lora1 = tr.score_net.trainable_state_dict()
    assert any(not torch.equal(lora0[k], lora1[k]) for k in lora0)


@pytest.mark.parametrize("packed", [False, True])
def test_resume_matches_uninterrupted_run(tiny_prior_factory, tmp_path, packed: bool) -> None:
    """Across refines: step 4 refines before the checkpoint, step 6 after the resume."""
    cfg = replace(CFG, packed=packed)
    straight = Trainer(cfg, tiny_prior_factory(), "a red mug", particles())
    for _ in range(7):
        straight.step()
    first = Trainer(cfg, tiny_prior_factory(), "a red mug", particles())
    for _ in range(5):
        first.step()
    assert any(len(p["means"]) != 300 for p in first.params), "the checkpoint should hold densified particles"
    save_checkpoint(first, tmp_path / "ckpt.pt")
    del first
    resumed = Trainer(cfg, tiny_prior_factory(), "a red mug", particles())
    load_checkpoint(resumed, tmp_path / "ckpt.pt")
    assert resumed.step_count == 5
    for _ in range(2):
        resumed.step()
    state_equal(straight, resumed)
    assert not list(tmp_path.glob(".*tmp*")), "atomic write left a temporary file"


def test_non_finite_steps_are_skipped_then_restored_with_lower_lr(tiny_prior_factory, tmp_path) -> None:
    prior = tiny_prior_factory()
    cfg = replace(CFG, steps=8, max_bad_steps=2, checkpoint_every=2, densify=DensifyConfig(enabled=False))
    tr = Trainer(cfg, prior, "a chair", particles())
    real = prior.predict_noise
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        out = real(*args, **kwargs)
        # Steps 3 and 4 (prior calls in those steps) go bad.
        return out * float("nan") if 3 <= tr.step_count <= 4 else out

    prior.predict_noise = flaky  # type: ignore[method-assign]
    train(tr, tmp_path)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    skipped = [r for r in records if r["skipped"]]
    assert len(skipped) >= 2
    assert tr.lr_scale == pytest.approx(0.5)
    assert tr.step_count == cfg.steps
    assert all(g.is_finite() for g in tr.particles())
    assert (tmp_path / "checkpoint.pt").exists()


def test_sds_switch_needs_no_lora(tiny_prior_factory) -> None:
    tr = Trainer(
        replace(CFG, loss="sds", densify=DensifyConfig(enabled=False)),
        tiny_prior_factory(),
        "a cup",
        particles(1),
    )
    assert tr.score_net is None
    r = tr.step()
    assert not r.skipped and r.lora_loss != r.lora_loss  # NaN: no LoRA trained


def test_retrieval_regulariser_needs_references(tiny_prior_factory) -> None:
    with pytest.raises(ValueError, match="reference"):
        Trainer(replace(CFG, retrieval_reg_every=3), tiny_prior_factory(), "a cup", particles(1))
    tr = Trainer(
        replace(CFG, retrieval_reg_every=3, densify=DensifyConfig(enabled=False)),
        tiny_prior_factory(),
        "a cup",
        particles(1),
        references=particles(1),
    )
    flags = [tr.step().regulariser for _ in range(4)]
    assert flags == [True, False, False, True]


# -- smooth colour field and frozen geometry (issue 13) ---------------------------------------------
COLOUR_CFG = replace(
    CFG,
    densify=DensifyConfig(enabled=False),
    colour=ColourFieldConfig(enabled=True, grid_size=4, lr_grid=5e-2),
    lr=LearningRates(means=ExpDecay(0.0, 0.0), scales=0.0, quats=0.0, opacities=0.0, sh0=0.0, shN=0.0),
)


def test_colour_field_is_identity_at_init_and_smooth() -> None:
    g = particles(1, 200)[0]
    field = ColourField(ColourFieldConfig(enabled=True, grid_size=3))
    torch.testing.assert_close(field.recolour(g).sh, g.sh)
    with torch.no_grad():
        field.grid.fill_(0.1)
        field.offset.fill_(0.05)
    torch.testing.assert_close(field.recolour(g).rgb, g.rgb + 0.15)
    # Two Gaussians close in space get close offsets whatever their own colours.
    with torch.no_grad():
        field.offset.zero_()
        field.grid.normal_()
    near = g.means[:1] + torch.tensor([[0.01, 0.0, 0.0]])
    a = field(torch.zeros(2, 3), torch.cat([g.means[:1], near]))
    assert (a[0] - a[1]).abs().max() < 0.1


def _two_part_colours(n: int = 200) -> torch.Tensor:
    """A red seat and a brown back, each with a little texture."""
    gen = torch.Generator().manual_seed(0)
    red, brown = torch.tensor([0.8, 0.1, 0.1]), torch.tensor([0.45, 0.28, 0.12])
    base = torch.cat([red.expand(n // 2, 3), brown.expand(n - n // 2, 3)])
    return (base + 0.03 * torch.randn(n, 3, generator=gen)).clamp(0, 1)


def test_palette_finds_the_parts_colours_and_moves_one_alone() -> None:
    rgb = _two_part_colours()
    cfg = ColourFieldConfig(enabled=True, grid_size=0, palette=2, affine=False)
    field = ColourField(cfg, base_rgb=rgb)
    assert [g["name"] for g in field.param_groups()] == ["palette"]
    # k-means found the two parts, darker first (the red's luminance is the lower)
    torch.testing.assert_close(field.palette[0], rgb[:100].mean(0), atol=0.02, rtol=0)
    torch.testing.assert_close(field.palette[1], rgb[100:].mean(0), atol=0.02, rtol=0)
    means = torch.zeros_like(rgb)
    torch.testing.assert_close(field(rgb, means), rgb)  # the identity at init
    with torch.no_grad():
        field.palette_offsets[0] = torch.tensor([-0.35, 0.18, 0.02])  # red -> brown
    moved = field(rgb, means) - rgb
    torch.testing.assert_close(moved[:100], field.palette_offsets[0].expand(100, 3), atol=0.01, rtol=0)
    assert moved[100:].abs().max() < 0.01, "the brown part moved with the red one"
    many = ColourField(
        replace(cfg, palette=8), base_rgb=torch.rand(500, 3, generator=torch.Generator().manual_seed(1))
    )
    assert (
        len(many.palette) == 8 and (many.palette @ torch.tensor([0.2126, 0.7152, 0.0722])).diff().gt(0).all()
    )
    few = ColourField(replace(cfg, palette=4), base_rgb=torch.tensor([[0.1, 0.2, 0.3]]).repeat(10, 1))
    assert len(few.palette) == 1  # one distinct colour, one cluster
    with pytest.raises(ValueError, match="init colours"):
        ColourField(cfg)


def test_palette_holds_the_part_that_already_has_the_prompts_colour() -> None:
    from splatdream.colours import target_word

    rgb = _two_part_colours()
    cfg = ColourFieldConfig(enabled=True, grid_size=0, palette=2, affine=False, hold_matching=15.0)
    field = ColourField(cfg, base_rgb=rgb, word=target_word("a wooden chair"))
    assert field.palette_free.tolist() == [
        1.0,
        0.0,
    ]  # the red seat may move, the brown back is wooden already
    with torch.no_grad():
        field.palette_offsets.fill_(0.2)
    moved = field(rgb, torch.zeros_like(rgb)) - rgb
    assert moved[:100].mean() > 0.19 and moved[100:].abs().max() < 0.01
    nothing_held = ColourField(cfg, base_rgb=rgb, word=target_word("a blue chair"))
    assert nothing_held.palette_free.tolist() == [1.0, 1.0]
    assert ColourField(cfg, base_rgb=rgb, word=None).palette_free.tolist() == [1.0, 1.0]


def test_colour_field_moves_colour_only_and_resumes(tiny_prior_factory, tmp_path) -> None:
    init = particles()
    tr = Trainer(COLOUR_CFG, tiny_prior_factory(), "a blue chair", init)
    assert tr.frozen == {"means", "scales", "quats", "opacities", "sh0", "shN"}
    for _ in range(3):
        tr.step()
    now = tr.particles()
    for a, b in zip(init, now, strict=True):
        torch.testing.assert_close(a.means, b.means)
        torch.testing.assert_close(a.logit_opacities, b.logit_opacities)
        torch.testing.assert_close(a.log_scales, b.log_scales)
        assert not torch.allclose(a.sh, b.sh), "the colour field did not recolour the particle"
    save_checkpoint(tr, tmp_path / "ckpt.pt")
    for _ in range(2):
        tr.step()
    resumed = Trainer(COLOUR_CFG, tiny_prior_factory(), "a blue chair", particles())
    load_checkpoint(resumed, tmp_path / "ckpt.pt")
    for _ in range(2):
        resumed.step()
    state_equal(tr, resumed)
    for a, b in zip(tr.particles(), resumed.particles(), strict=True):
        torch.testing.assert_close(a.sh, b.sh, rtol=1e-5, atol=1e-6)


# -- issue 15: the GPU path made right ---------------------------------------------------------------
def tensors_in(obj):
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from tensors_in(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from tensors_in(v)


def test_restore_puts_every_tensor_on_the_trainer_device(tiny_prior_factory) -> None:
    """A checkpoint is read on the CPU; a CUDA trainer must get gsplat's grad2d/count (and the rest) on CUDA.

    Stand-in for CUDA: a trainer on the ``meta`` device restoring a CPU state.
    """
    cfg = replace(CFG, colour=ColourFieldConfig(enabled=True, grid_size=2))
    tr = Trainer(cfg, tiny_prior_factory(), "a red mug", particles())
    for _ in range(2):
        tr.step()
    state = trainer_state(tr)
    assert state["strategy_states"][0]["grad2d"].device.type == "cpu"
    target = Trainer(cfg, tiny_prior_factory(), "a red mug", particles(), device="meta")
    restore_trainer(target, state)
    on_device = [
        *tensors_in(target.strategy_states),
        *tensors_in([dict(p) for p in target.params]),
        *tensors_in([f.state_dict() for f in target.colour_fields]),
    ]
    for opts in target.optimizers:
        for opt in opts.values():
            on_device += [v for s in opt.state.values() for k, v in s.items() if k != "step"]
    for opt in target.colour_opts:
        on_device += [v for s in opt.state.values() for k, v in s.items() if k != "step"]
    assert len(on_device) > 20
    assert {x.device.type for x in on_device} == {"meta"}
    assert target.score_net is not None
    prior_device = next(target.prior.unet.parameters()).device
    assert all(p.device == prior_device for p in target.score_net.parameters_to_train())


def test_checkpoint_carries_the_cuda_rng_when_cuda_is_initialised(tiny_prior_factory, monkeypatch) -> None:
    tr = Trainer(
        replace(CFG, densify=DensifyConfig(enabled=False)), tiny_prior_factory(), "a cup", particles(1)
    )
    assert trainer_state(tr)["rng"]["cuda"] is None or torch.cuda.is_initialized()
    saved = [torch.arange(8, dtype=torch.uint8)]
    restored = []
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: saved)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, index: restored.append((state, index)))
    state = trainer_state(tr)
    assert state["rng"]["cuda"] is saved
    restore_trainer(tr, state)
    assert len(restored) == 1 and torch.equal(restored[0][0], saved[0]) and restored[0][1] == 0


def test_regulariser_only_toward_retrieved_assets(caplog) -> None:
    from splatdream.config import RunConfig
    from splatdream.init.config import InitConfig
    from splatdream.pipeline import regulariser_references

    init = particles(2)
    on = RunConfig(distill=replace(CFG, retrieval_reg_every=3))
    cfg, refs = regulariser_references(on, init)
    assert cfg.retrieval_reg_every == 3 and refs is init
    for method in ("random", "ply"):
        caplog.clear()
        with caplog.at_level("WARNING"):
            cfg, refs = regulariser_references(replace(on, init=InitConfig(method=method)), init)
        assert cfg.retrieval_reg_every == 0 and refs is None
        assert len(caplog.records) == 1 and "regulariser off" in caplog.text and method in caplog.text
    caplog.clear()
    off = replace(on, init=InitConfig(method="random"), distill=replace(CFG, retrieval_reg_every=0))
    assert regulariser_references(off, init) == (off.distill, None) and not caplog.records


def test_lora_trains_on_the_velocity_for_a_v_prediction_prior(tiny_prior_factory, monkeypatch) -> None:
    from splatdream.priors.base import alpha_sigma

    prior = tiny_prior_factory()
    prior.prediction_type = "v_prediction"
    tr = Trainer(replace(CFG, densify=DensifyConfig(enabled=False)), prior, "a cup", particles(2))
    seen: dict[str, torch.Tensor] = {}
    real_add_noise, real_mse = prior.add_noise, torch.nn.functional.mse_loss

    def add_noise(x0, noise, t):
        seen.update(x0=x0, noise=noise, t=t)
        return real_add_noise(x0, noise, t)

    def mse(pred, target, **kwargs):
        seen["target"] = target
        return real_mse(pred, target, **kwargs)

    monkeypatch.setattr(prior, "add_noise", add_noise)
    monkeypatch.setattr(torch.nn.functional, "mse_loss", mse)
    x0 = torch.rand(2, 3, 16, 16) * 2 - 1
    tr._train_lora(x0, tr._sample_cameras())
    a, s = alpha_sigma(prior.alphas_cumprod, seen["t"])
    velocity = a * seen["noise"] - s * seen["x0"]
    torch.testing.assert_close(seen["target"], velocity)
    assert not torch.allclose(seen["target"], seen["noise"], atol=1e-2)


def test_lora_guidance_drops_the_camera_but_keeps_the_text(tiny_prior_factory, monkeypatch) -> None:
    prior = tiny_prior_factory()
    cfg = replace(CFG, densify=DensifyConfig(enabled=False), score_net=ScoreNetConfig(guidance_scale=3.0))
    tr = Trainer(cfg, prior, "a cup", particles(2))
    calls = []
    real = prior.predict_noise

    def spy(x_t, t, text, **kwargs):
        calls.append((text.cond.clone(), tr.score_net._pending.clone()))
        return real(x_t, t, text, **kwargs)

    monkeypatch.setattr(prior, "predict_noise", spy)
    cams = tr._sample_cameras()
    tr._lora_score(torch.randn(2, 3, 16, 16), torch.tensor([100, 600]), cams)
    (cond_c, cam_c), (cond_u, cam_u) = calls
    plain = tr.text["plain"].cond
    torch.testing.assert_close(cond_c, plain)
    torch.testing.assert_close(cond_u, plain)  # not the empty prompt
    assert not torch.allclose(tr.text["plain"].uncond, plain)
    assert cam_c.abs().sum() > 0 and cam_u.abs().sum() == 0


def test_sds_defaults_to_cfg_100_and_vsd_to_7_5(tiny_prior_factory) -> None:
    assert DistillConfig(loss="sds").prior_guidance() == 100.0
    assert DistillConfig(loss="vsd").prior_guidance() == 7.5
    assert DistillConfig(loss="sds", guidance_scale=30.0).prior_guidance() == 30.0
    tr = Trainer(
        replace(CFG, loss="sds", densify=DensifyConfig(enabled=False)),
        tiny_prior_factory(),
        "a cup",
        particles(1),
    )
    assert tr.guidance_scale == 100.0


def grads_after_one_step(prior_factory, max_batch: int, loss: str = "vsd", reg: int = 0):
    cfg = replace(
        CFG,
        max_batch=max_batch,
        loss=loss,
        densify=DensifyConfig(enabled=False),
        views_per_particle=2,
        retrieval_reg_every=reg,
        colour=ColourFieldConfig(enabled=True, grid_size=2),
    )
    prior = prior_factory()
    batches = []
    hook = prior.unet.register_forward_pre_hook(lambda module, args: batches.append(args[0].shape[0]))
    tr = Trainer(cfg, prior, "a blue chair", particles(3), references=particles(3) if reg else None)
    result = tr.step()
    hook.remove()
    grads = {f"{i}.{k}": p.grad.clone() for i, params in enumerate(tr.params) for k, p in params.items()}
    grads |= {
        f"field{i}.{n}": p.grad.clone()
        for i, f in enumerate(tr.colour_fields)
        for n, p in f.named_parameters()
    }
    if tr.score_net is not None:
        grads |= {f"lora{i}": p.grad.clone() for i, p in enumerate(tr.score_net.parameters_to_train())}
    return result, grads, batches


@pytest.mark.parametrize(("loss", "reg"), [("vsd", 0), ("vsd", 1), ("sds", 0)])
def test_chunked_step_gives_the_unchunked_gradients(tiny_prior_factory, loss: str, reg: int) -> None:
    whole, g_whole, b_whole = grads_after_one_step(tiny_prior_factory, 64, loss, reg)
    chunked, g_chunked, b_chunked = grads_after_one_step(tiny_prior_factory, 2, loss, reg)
    assert max(b_whole) == 12 and max(b_chunked) <= 4  # 6 renders; CFG doubles the UNet batch
    assert g_whole.keys() == g_chunked.keys() and len(g_whole) > 10
    for k, g in g_whole.items():  # float32 sums in another order: equal to ~1e-6 of the gradient's scale
        scale = float(g.abs().max()) if g.numel() else 0.0
        torch.testing.assert_close(g_chunked[k], g, rtol=1e-4, atol=1e-6 + 1e-5 * scale, msg=k)
    assert chunked.loss == pytest.approx(whole.loss, rel=1e-5)
    if (
        loss == "vsd" and reg == 1
    ):  # the reference is scored every step: the LoRA particle score is never used
        assert math.isnan(whole.lora_loss) and math.isnan(chunked.lora_loss)
    elif loss == "vsd":
        assert chunked.lora_loss == pytest.approx(whole.lora_loss, rel=1e-5)


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        DistillConfig(max_batch=0)


def test_finite_checks_sync_once_whatever_the_parameter_count(tiny_prior_factory, monkeypatch) -> None:
    """Tensor -> Python bool is a host sync on CUDA; the old per-tensor checks made one per parameter (87 here)."""
    real = torch.Tensor.__bool__
    calls = {"n": 0}

    def counting(self):
        calls["n"] += 1
        return real(self)

    def bool_calls(n_particles: int) -> int:
        tr = Trainer(
            replace(CFG, densify=DensifyConfig(enabled=False)),
            tiny_prior_factory(),
            "a cup",
            particles(n_particles),
        )
        tr.step()
        calls["n"] = 0
        monkeypatch.setattr(torch.Tensor, "__bool__", counting)
        tr.step()
        monkeypatch.setattr(torch.Tensor, "__bool__", real)
        return calls["n"]

    assert bool_calls(1) == bool_calls(3) <= 2  # the particles' check and the LoRA's


def test_packed_and_unpacked_layouts_train_alike(tiny_prior_factory) -> None:
    """The meta layout changes nothing but the layout: same particles, same densification, same LoRA."""
    runs = []
    for packed in (False, True):
        tr = Trainer(replace(CFG, packed=packed), tiny_prior_factory(), "a green lamp", particles())
        counts = [tr.step().num_gaussians for _ in range(5)]
        runs.append((tr, counts))
    (a, ca), (b, cb) = runs
    assert ca == cb and ca[-1] != [300, 300]  # densified, identically
    state_equal(a, b)
    for sa, sb in zip(a.strategy_states, b.strategy_states, strict=True):
        torch.testing.assert_close(sa["grad2d"], sb["grad2d"], rtol=1e-5, atol=1e-9)
        assert torch.equal(sa["count"], sb["count"])


# -- issue 26: the caption edited by the prompt is the target ---------------------------------------
def _edited_caption_trainer(prior, prompt: str, init: list[Gaussians]) -> Trainer:
    cfg = replace(
        COLOUR_CFG, retrieval_reg_every=1, reference_text="caption", target_text="edited-caption", steps=3
    )
    captions = ["a red sedan car with a red roof", "a blue compact car with a white roof"]
    return Trainer(
        cfg, prior, prompt, init, references=[g.clone() for g in init], reference_captions=captions
    )


def test_edited_caption_target_leaves_a_colourless_prompt_as_retrieved(tiny_prior_factory) -> None:
    """Both texts of the score are the caption, particle and reference the same render: zero gradient,
    so the particles end exactly as retrieved (the prompt against the caption recoloured them)."""
    init = particles()
    tr = _edited_caption_trainer(tiny_prior_factory(), "a sports car", init)
    for _ in range(3):
        tr.step()
    for a, b in zip(init, tr.particles(), strict=True):  # bit for bit: the field adds an exact 0
        assert torch.equal(a.sh, b.sh) and torch.equal(a.means, b.means)
    for field in tr.colour_fields:
        assert torch.equal(field.matrix, torch.eye(3)) and not field.offset.any()
    moved = Trainer(
        replace(COLOUR_CFG, retrieval_reg_every=1, reference_text="caption", steps=3),
        tiny_prior_factory(),
        "a sports car",
        [g.clone() for g in init],
        references=[g.clone() for g in init],
        reference_captions=["a red sedan car with a red roof", "a blue compact car with a white roof"],
    )
    for _ in range(3):
        moved.step()
    assert not torch.equal(init[0].sh, moved.particles()[0].sh), "the prompt target should move the colours"


def test_only_a_prompt_that_edits_no_caption_lets_the_steps_be_skipped(tiny_prior_factory) -> None:
    """The pipeline skips distillation on ``unchanged_by_prompt``: it must say so exactly when the test above
    shows the steps change nothing, and never when a caption changes or densification could act."""
    prior = tiny_prior_factory()
    why = _edited_caption_trainer(prior, "a sports car", particles()).unchanged_by_prompt
    assert why is not None and "captions" in why
    assert _edited_caption_trainer(prior, "a green car", particles()).unchanged_by_prompt is None
    # one caption of two edited is enough to run
    assert _edited_caption_trainer(prior, "a red car", particles()).unchanged_by_prompt is None
    dense = Trainer(
        replace(
            COLOUR_CFG,
            retrieval_reg_every=1,
            reference_text="caption",
            target_text="edited-caption",
            densify=DensifyConfig(enabled=True),
        ),
        prior,
        "a sports car",
        particles(),
        references=particles(),
        reference_captions=["a red sedan car with a red roof", "a blue compact car with a white roof"],
    )
    assert dense.unchanged_by_prompt is None
    plain = Trainer(replace(COLOUR_CFG, steps=3), prior, "a sports car", particles())
    assert plain.unchanged_by_prompt is None


def test_edited_caption_target_scores_each_particle_under_its_edited_caption(tiny_prior_factory) -> None:
    prior = tiny_prior_factory()
    encoded: list[str] = []
    real = prior.encode_prompts

    def record(texts, **kw):
        encoded.extend(texts)
        return real(texts, **kw)

    prior.encode_prompts = record  # type: ignore[method-assign]
    tr = _edited_caption_trainer(prior, "a green car", particles())
    assert "a green sedan car with a green roof, front view" in encoded
    assert "a green compact car with a green roof, back view" in encoded
    init = particles()
    tr.step()
    assert not torch.equal(init[1].sh, tr.particles()[1].sh)


def test_edited_caption_needs_the_caption_reference_every_step() -> None:
    with pytest.raises(ValueError, match=r"reference-text caption --distill\.retrieval-reg-every 1"):
        replace(COLOUR_CFG, target_text="edited-caption")
