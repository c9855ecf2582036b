"""Our web splat files, read back completely by a third-party reader: PlayCanvas's splat-transform.

splat-transform decodes each file and writes it as a plain INRIA .ply, which we read and compare
Gaussian by Gaussian with what we exported: every row present, values within each format's
quantisation.
"""

from __future__ import annotations

import pytest
import torch

from splatdream.export.convert import SUFFIXES, export_scene
from splatdream.export.formats import COMPRESSED_MIN_OPACITY
from splatdream.io.ply import read_ply
from tests.support.node_tools import splat_transform
from tests.test_export_formats import make_scene, match_rows

# Per format: position tolerance (scene units), colour, opacity, log-scale, whether SH survives.
TOLERANCE = {
    "splat": (1e-6, 0.5 / 255 + 1e-4, 0.5 / 255 + 1e-4, 1e-4, False),
    "ply-compressed": (2e-3, 0.01, 0.5 / 255 + 1e-4, 0.02, True),
    "spz": (1e-3, 0.03, 0.01, 0.05, True),
}


@pytest.mark.parametrize("fmt", list(TOLERANCE))
def test_splat_transform_reads_every_gaussian_back(tmp_path, fmt):
    g = make_scene(n=600, sh_degree=1)
    exported = export_scene(g, fmt, tmp_path / f"scene{SUFFIXES[fmt]}")
    out = tmp_path / "decoded.ply"
    splat_transform(exported, out)
    back = read_ply(out)

    expected = g[g.opacities > COMPRESSED_MIN_OPACITY] if fmt == "ply-compressed" else g
    assert len(back) == len(expected)
    pos_tol, rgb_tol, opa_tol, scale_tol, keeps_sh = TOLERANCE[fmt]
    idx = match_rows(expected, back, pos_tol)
    assert len(set(idx.tolist())) == len(expected)  # a one-to-one match: nothing lost, nothing doubled
    ref = expected[idx]
    assert (back.rgb - ref.rgb.clamp(0, 1)).abs().max() <= rgb_tol
    assert (back.opacities - ref.opacities).abs().max() <= opa_tol
    assert (back.log_scales - ref.log_scales).abs().max() <= scale_tol
    dot = (back.unit_quats * ref.unit_quats).sum(-1).abs()
    assert dot.min() > 0.99
    if keeps_sh:
        assert back.sh_degree >= 1
        assert (back.sh[:, 1:4] - ref.sh[:, 1:4]).abs().max() < 0.1
    torch.testing.assert_close(back.means.mean(0), ref.means.mean(0), atol=pos_tol, rtol=0)
