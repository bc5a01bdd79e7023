"""Fault injection for tests/test_ray.py, run in every Ray worker process at its start (Ray's
``worker_process_setup_hook``): once a file named ``armed`` exists in $MER_FAST_TEST_FAULTS,
the first fold process to save its resumable state (``folds/<fold>/last.pt``) dies on the spot,
as a worker killed by the OOM killer or a lost node would."""

from __future__ import annotations

import os
from pathlib import Path


def die_once_after_checkpoint() -> None:
    from mer_fast.utils import atomic

    faults = os.environ.get("MER_FAST_TEST_FAULTS")
    if not faults:
        return
    faults_dir = Path(faults)
    save = atomic.torch_save

    def torch_save(obj, path, *args, **kwargs):
        save(obj, path, *args, **kwargs)
        path = Path(path)
        if (
            path.name == "last.pt"
            and path.parent.parent.name == "folds"
            and (faults_dir / "armed").exists()
        ):
            try:  # exactly one process dies, even when two get here at once
                fd = os.open(faults_dir / "died", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.write(fd, path.parent.name.encode())
            os.close(fd)
            os._exit(1)

    atomic.torch_save = torch_save
