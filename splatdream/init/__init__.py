"""Initialisation: retrieved meshes (or a .ply, or a random ball) -> particles of Gaussians.

Import from the modules (``from_mesh.mesh_to_gaussians``, ``particles.initialise``, ``config.InitConfig``);
this package import stays light so ``splatdream --help`` never loads torch.
"""
