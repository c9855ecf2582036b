"""Export: web splat formats (.splat, compressed .ply, .spz), the .glb mesh, turntable videos, scene summaries.

The native .ply (INRIA layout) is read and written by ``splatdream.io.ply``; every stage imports it from there.
"""
