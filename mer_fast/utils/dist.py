"""PyTorch DDP under ``torchrun``: one process per GPU (or per CPU share, with gloo), any number of
nodes. Everything here is a no-op in a single process, so the training code calls these helpers
unconditionally.

The rules the distributed code paths follow:

- **Rank 0 owns the output folders.** Only rank 0 reads and writes the steps folder
  (``step.json``, ``model.pt``, ``last.pt``, ``best.pt``, ``metrics.csv``, TensorBoard). What it
  reads (a stored step, a resumable state) reaches the other ranks by broadcast
  (:func:`from_main`), so the other nodes need the datasets but not the steps folder, and no rank
  ever reads a half-written or missing file.
- **Every rank draws the same random numbers.** Shuffling and augmentation are seeded by
  (seed, run, epoch), so every rank knows the whole epoch; each takes its share of every global
  batch (:func:`share_bounds`), and the global batch stays ``batch_size`` clips.
- **Ranks map to devices by ``LOCAL_RANK``**: ``cuda:LOCAL_RANK`` with the NCCL backend when
  CUDA is there, else the CPU with gloo.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import torch

from mer_fast.errors import ConfigError

T = TypeVar("T")


def launched() -> bool:
    """True in a process started by ``torchrun`` with more than one process in the job."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def active() -> bool:
    """True when a process group of more than one process is initialised."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if active() else 0


def world() -> int:
    import torch.distributed as dist

    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    return rank() == 0


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def rank_device(name: str) -> torch.device:
    """The device of this process under torchrun: ``auto``/``cuda`` -> ``cuda:LOCAL_RANK``
    (``auto`` falls back to the CPU without CUDA), ``cpu`` -> the CPU."""
    if name == "cpu":
        return torch.device("cpu")
    if name == "auto" and not torch.cuda.is_available():
        return torch.device("cpu")
    if name in ("auto", "cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device {name!r} asked for, but torch sees no CUDA GPU",
                field="device",
                fix="use --device cpu (gloo), or a CUDA build",
            )
        count = torch.cuda.device_count()
        if local_rank() >= count:
            raise ConfigError(
                f"LOCAL_RANK {local_rank()} but this node has {count} GPU(s)",
                field="--nproc_per_node",
                fix=f"start at most {count} processes per node",
            )
        return torch.device("cuda", local_rank())
    raise ConfigError(
        f"device {name!r}: under torchrun each process takes the GPU of its LOCAL_RANK",
        field="device",
        fix="use --device cuda (or auto, or cpu)",
    )


def resolve_device(name: str) -> torch.device:
    """The training device: ``auto`` is CUDA when present; under torchrun, the GPU of the
    process's ``LOCAL_RANK``."""
    if active():
        return rank_device(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device {name!r} asked for, but torch sees no CUDA GPU "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda})",
            field="device",
            fix="use --device cpu, or install a CUDA build of torch",
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError(
            f"device {name!r} asked for, but torch sees {torch.cuda.device_count()} GPU(s)",
            field="device",
            fix=f"use cuda:0 .. cuda:{torch.cuda.device_count() - 1}, or cuda",
        )
    return dev


def init(device: str = "auto", timeout_minutes: float = 120.0) -> torch.device:
    """Joins the torchrun job (NCCL on GPUs, gloo on the CPU) and returns this process's device;
    in a process not started by torchrun, returns the device and initialises nothing.

    The timeout covers the longest time one rank may wait for another: rank 0 indexing a
    dataset or decoding a clip store while the others wait."""
    import torch.distributed as dist

    if not launched():
        return resolve_device(device)
    dev = rank_device(device)
    if not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(
            backend,
            timeout=timedelta(minutes=timeout_minutes),
            device_id=dev if dev.type == "cuda" else None,
        )
    return dev


def shutdown() -> None:
    """Leaves the process group: every rank together (a rank tearing down its connections
    while another still uses them aborts the other), after the DDP wrappers that hold the group
    are freed (a group destroyed at interpreter exit aborts the process)."""
    import gc

    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        gc.collect()
        if dist.get_world_size() > 1:
            dist.barrier()
        dist.destroy_process_group()


def backend() -> str | None:
    import torch.distributed as dist

    return dist.get_backend() if active() else None


def _collective_device() -> torch.device:
    if backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def barrier() -> None:
    import torch.distributed as dist

    if active():
        dist.barrier()


def share_bounds(n: int, world_size: int, rank_: int) -> tuple[int, int]:
    """Positions ``[lo, hi)`` of rank ``rank_``'s share of a batch of ``n`` items: the first
    ``n % world_size`` ranks take one more (``torch.tensor_split``'s rule), except that no rank
    gets exactly one item when ``n >= 2``: a batch of fewer than ``2 * world_size`` items goes to
    its first ``n // 2`` ranks (BatchNorm cannot train on one clip, see
    :mod:`mer_fast.utils.batching`). Rank 0 has the largest share and is never empty when
    ``n > 0``; later ranks may be. The trainer (resident store) and the streaming loader
    (:class:`mer_fast.data.samplers.ShardBatchSampler`) both split batches by it."""
    ranks = world_size if n >= 2 * world_size else max(1, n // 2)
    if rank_ >= ranks:
        return n, n
    q, r = divmod(n, ranks)
    lo = rank_ * q + min(rank_, r)
    return lo, lo + q + (1 if rank_ < r else 0)


class RankFailed(RuntimeError):
    """Raised on the other ranks when a step run by rank 0 alone failed there."""


def from_main(fn: Callable[[], T]) -> T:
    """Runs ``fn`` on rank 0 only and returns its result on every rank (broadcast, pickled).
    An exception on rank 0 is raised on every rank, so no rank waits for one that failed."""
    import torch.distributed as dist

    if not active():
        return fn()
    box: list[Any] = [None]
    if is_main():
        try:
            box[0] = ("ok", fn())
        except Exception as exc:  # sent to the other ranks, then raised here too
            try:
                pickle.dumps(exc)
                box[0] = ("error", exc)
            except Exception:  # noqa: BLE001 - an unpicklable error raises whatever its state does
                box[0] = ("error", RankFailed(f"rank 0: {type(exc).__name__}: {exc}"))
            dist.broadcast_object_list(box, src=0, device=_collective_device())
            raise
    dist.broadcast_object_list(box, src=0, device=_collective_device())
    status, value = box[0]
    if status == "error":
        raise value
    return value


def all_sum(values: list[float]) -> list[float]:
    """Sums of ``values`` over the ranks (float64)."""
    import torch.distributed as dist

    if not active():
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=_collective_device())
    dist.all_reduce(t)
    return t.cpu().tolist()


def gather_cat(t: torch.Tensor) -> torch.Tensor:
    """Every rank's CPU tensor concatenated along dim 0 in rank order, on every rank (the
    shares may differ in length)."""
    import torch.distributed as dist

    if not active():
        return t
    parts: list[Any] = [None] * world()
    dist.all_gather_object(parts, t.cpu())
    return torch.cat(parts)


def all_gather(obj: Any) -> list[Any]:
    """Every rank's (picklable) ``obj``, in rank order, on every rank."""
    import torch.distributed as dist

    if not active():
        return [obj]
    parts: list[Any] = [None] * world()
    dist.all_gather_object(parts, obj)
    return parts


def broadcast_module(module: torch.nn.Module) -> None:
    """Copies rank 0's parameters and buffers into every rank's ``module`` (in place)."""
    import torch.distributed as dist

    if not active():
        return
    with torch.no_grad():
        for t in module.state_dict().values():
            if backend() == "nccl" and t.device.type != "cuda":
                tmp = t.to(_collective_device())
                dist.broadcast(tmp, 0)
                t.copy_(tmp)
            elif t.is_contiguous():
                dist.broadcast(t, 0)
            else:  # e.g. channels_last_3d weights
                tmp = t.contiguous()
                dist.broadcast(tmp, 0)
                t.copy_(tmp)


@contextlib.contextmanager
def local_main_first() -> Iterator[None]:
    """The body runs first on each node's local rank 0, then on the node's other ranks (the
    first fills the decoded-clip cache, the others read it)."""
    if not active():
        yield
        return
    first = local_rank() == 0
    if not first:
        barrier()
    try:
        yield
    finally:
        if first:
            barrier()
