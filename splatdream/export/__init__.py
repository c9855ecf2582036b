"""Export: .ply read/write in the INRIA splat layout, turntable videos, scene summaries."""

from __future__ import annotations

from splatdream.export.atomic import atomic_write
from splatdream.export.ply import NonFiniteGaussiansError, PlyFormatError, read_ply, write_ply

__all__ = ["NonFiniteGaussiansError", "PlyFormatError", "atomic_write", "read_ply", "write_ply"]
