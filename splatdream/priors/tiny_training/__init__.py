"""TinyPrior training tooling: training data, training, quality checks and export of the shipped weights.

Named for what it does: the TinyPrior itself (inference, what a run loads) is ``splatdream.priors.tiny_prior``;
nothing in a run imports this package (tests/test_layers.py).
"""
