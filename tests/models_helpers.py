"""Helpers for the model tests: the recorded data of the original 3D-ResNets code
(tests/fixtures/3dresnets, written by tools/record_3dresnets.py), seeded weights both sides can
rebuild, and checkpoint files written the way the published ones were."""

from __future__ import annotations

import gzip
import json
import pickle
import struct
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

RECORDED = Path(__file__).parent / "fixtures" / "3dresnets"
DEPTHS = [10, 18, 34, 50, 101, 152, 200]
# the runs whose outputs are recorded: (model, shortcut, release of the original code)
OUTPUT_CASES = [("r3d10", "B", "2020"), ("r3d18", "A", "2018"), ("rx3d101", "B", "2018")]
# 16 x 32 x 32 clips end as 1x1x1 maps, which the 2018 code's fixed AvgPool3d expects
OUTPUT_INPUT = dict(clips=2, channels=3, frames=16, size=32, seed=20180612)


def manifest_key(release: str, name: str, shortcut: str) -> str:
    return f"{release}/{name}/{shortcut}"


def layout(model_or_state) -> list[list]:
    """State-dict manifest: [name, shape, dtype] in state-dict order."""
    sd = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    return [[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in sd.items()]


def seeded_tensor(name: str, shape, dtype: str) -> torch.Tensor:
    """Deterministic values for the state-dict entry ``name`` (a name without the DataParallel
    ``module.`` prefix), the same on every machine and torch version (NumPy's legacy
    RandomState stream, seeded by the CRC-32 of the name): He-scaled normal weights, BatchNorm
    statistics and affine parameters away from their initial values, zero counters."""
    shape = tuple(shape)
    if dtype != "float32":
        return torch.zeros(shape, dtype=getattr(torch, dtype))
    rng = np.random.RandomState(zlib.crc32(name.encode()))
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "running_var" or (leaf == "weight" and len(shape) == 1):
        values = rng.uniform(0.5, 1.5, shape)
    elif leaf in ("running_mean", "bias"):
        values = rng.standard_normal(shape) * 0.1
    else:  # convolution and linear weights
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        values = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
    return torch.from_numpy(np.asarray(values, dtype=np.float32))


def seeded_state_dict(entries, prefix: str = "") -> OrderedDict:
    """A state dict holding :func:`seeded_tensor` values for manifest ``entries``; ``prefix``
    (``module.``) is added to the names, not to the seeds."""
    return OrderedDict(
        (prefix + name, seeded_tensor(name, shape, dtype)) for name, shape, dtype in entries
    )


def seeded_input() -> torch.Tensor:
    c = OUTPUT_INPUT
    rng = np.random.RandomState(c["seed"])
    x = rng.standard_normal((c["clips"], c["channels"], c["frames"], c["size"], c["size"]))
    return torch.from_numpy(x.astype(np.float32))


def recorded(name: str) -> dict:
    """``manifests`` (manifests.json.gz) or ``outputs`` (outputs.json) recorded from the original
    code by tools/record_3dresnets.py."""
    if name == "manifests":
        return json.loads(gzip.decompress((RECORDED / "manifests.json.gz").read_bytes()))
    return json.loads((RECORDED / f"{name}.json").read_text())


def randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial BatchNorm statistics and affine parameters (eval-mode outputs then depend on
    every buffer being loaded into the right place)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.1)
    return model


def state_dict_2018(model: nn.Module) -> OrderedDict:
    """A state dict as the 2017/18 files hold it: the DataParallel ``module.`` prefix and no
    BatchNorm ``num_batches_tracked`` (PyTorch 0.3)."""
    return OrderedDict(
        ("module." + k, v)
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    )


_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


def save_like_torch03(obj, path: Path) -> None:
    """Writes ``obj`` as PyTorch 0.3's ``torch.save`` did for the 2017/18 checkpoints: the
    pre-zip format, tensors rebuilt by ``torch._utils._rebuild_tensor`` from
    ``torch.cuda.FloatStorage`` storages (the files were saved from the GPU)."""
    storages: dict[str, torch.Tensor] = {}  # key -> float32 tensor owning the storage
    owners: dict[int, torch.Tensor] = {}

    class Pickler(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, torch.UntypedStorage):
                key = str(len(storages))
                storages[key] = owners[o.data_ptr()]
                return ("storage", torch.cuda.FloatStorage, key, "cuda:0", o.nbytes() // 4, None)
            return None

        def reducer_override(self, o):
            if isinstance(o, torch.Tensor):
                t = o.detach().float().contiguous().clone()
                owners[t.data_ptr()] = t
                return (
                    torch._utils._rebuild_tensor,
                    (t.untyped_storage(), 0, tuple(t.size()), t.stride()),
                )
            return NotImplemented

    with open(path, "wb") as f:
        for head in (
            _LEGACY_MAGIC,
            _LEGACY_PROTOCOL,
            dict(
                protocol_version=_LEGACY_PROTOCOL,
                little_endian=True,
                type_sizes=dict(short=2, int=4, long=4),
            ),
        ):
            pickle.dump(head, f, protocol=2)
        Pickler(f, protocol=2).dump(obj)
        keys = sorted(storages, key=int)
        pickle.dump(keys, f, protocol=2)
        for k in keys:
            f.write(struct.pack("<q", storages[k].numel()))
            f.write(storages[k].numpy().tobytes())
