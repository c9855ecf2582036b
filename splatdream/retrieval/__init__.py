"""ReDream step 1: an asset library (LanceDB) and two-stage text/image retrieval from it.

Import the pieces you need (``splatdream.retrieval.library.AssetLibrary``); this package import
stays light so the CLI's help never loads torch.
"""
