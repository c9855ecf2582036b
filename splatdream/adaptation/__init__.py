"""ReDream's lightweight adaptation: front-align retrieved assets, then LoRA-adapt the 2D prior on them.

Stages used by the pipeline (``splatdream.pipeline``), imported from their modules (this package import
stays light so ``splatdream --help`` never loads torch):
    align.align_front(prior, gaussians, caption, cfg) -> (rotated_gaussians, yaw_deg, scores)
    train.adapt_prior(prior, assets_gaussians, prompt, cfg, out_dir) -> AdaptResult
    lora.apply_adapter(prior, adapter_dir, fuse=True) -> prior
"""
