"""The project's native file formats, read and written where every stage looks for them (``ply``: INRIA-layout Gaussians)."""
