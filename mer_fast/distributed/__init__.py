"""Spreading work over processes, GPUs and machines.

- :mod:`mer_fast.distributed.ray_folds`: LOSO folds and experiment rows fanned out over Ray
  (``mer-fast train --workers N`` / ``--ray-address``), resumable, with the results of a
  sequential run. Imports Ray (the ``dist`` extra) when used. Its pieces: ``ray_jobs`` (the
  options, jobs and results), ``ray_cluster`` (joining Ray, a fold's resources),
  ``ray_actors`` (the planner and fold worker processes), ``ray_driver`` (the event loop).
- :mod:`mer_fast.distributed.gpu_share`: how many folds fit on one GPU at once, and the Ray GPU
  fraction that packs them (``--gpus-per-fold auto``).

Importing this package imports neither Ray nor torch.
"""
