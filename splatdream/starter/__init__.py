"""Tooling that builds the shipped data: the procedural starter library, its catalogue, the sample scene.

Not part of a run: the pipeline reads what these modules wrote into ``splatdream/data``.
"""
