"""``splatdream batch``: many prompts, one Ray task each, into one folder with a manifest and a gallery.

Modules, one job each: ``manifest`` (the prompts file and batch.json, what is done), ``tasks`` (one
prompt's run inside a Ray worker, resuming what a dead worker left), ``runner`` (submits the tasks,
shows progress, records results), ``gallery`` (index.html and the summary table), ``cli``.
"""
