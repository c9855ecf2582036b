"""Export: .ply read/write in the INRIA splat layout, turntable videos, scene summaries."""

from __future__ import annotations

from splatdream.export.ply import NonFiniteGaussiansError, PlyFormatError, read_ply, write_ply

__all__ = ["NonFiniteGaussiansError", "PlyFormatError", "read_ply", "write_ply"]
