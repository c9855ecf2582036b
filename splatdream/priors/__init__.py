"""2D diffusion priors behind one interface: Stable Diffusion (diffusers) and the shipped TinyPrior.

Guidance code uses ``loader.load_prior(config.PriorConfig(...), device)`` and the ``base.Prior`` methods
only. Import from the modules: this package import stays light so ``splatdream --help`` never loads torch.
``tiny_prior`` is the TinyPrior's inference (part of a run); ``tiny/`` reproduces its weights
(tooling, never imported by a run).
"""
