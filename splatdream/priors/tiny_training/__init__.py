"""TinyPrior tooling: training data, training, evaluation and export of the shipped weights.

Inference lives in ``splatdream.priors.tiny_prior``; nothing in a run imports this package.
"""
