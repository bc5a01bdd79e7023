"""Helpers for the model tests: the vendored original 3D-ResNets code, and checkpoint files
written the way the published ones were."""
from __future__ import annotations

import importlib.util
import pickle
import struct
import warnings
from collections import OrderedDict
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

FIXTURES = Path(__file__).parent / "fixtures" / "hara3d"


def original_module(name: str) -> ModuleType:
    """``resnet_2020``, ``resnet_2018`` or ``resnext_2018`` from tests/fixtures/hara3d."""
    spec = importlib.util.spec_from_file_location(f"hara3d_{name}", FIXTURES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.loader.exec_module(module)
    return module


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
    return OrderedDict(("module." + k, v) for k, v in model.state_dict().items()
                       if not k.endswith("num_batches_tracked"))


_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


def save_like_torch03(obj, path: Path) -> None:
    """Writes ``obj`` as PyTorch 0.3's ``torch.save`` did for the 2017/18 checkpoints: the
    pre-zip format, tensors rebuilt by ``torch._utils._rebuild_tensor`` from
    ``torch.cuda.FloatStorage`` storages (the files were saved from the GPU)."""
    storages: dict[str, torch.Tensor] = {}   # key -> float32 tensor owning the storage
    owners: dict[int, torch.Tensor] = {}

    class Pickler(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, torch.UntypedStorage):
                key = str(len(storages))
                storages[key] = owners[o.data_ptr()]
                return ("storage", torch.cuda.FloatStorage, key, "cuda:0", o.nbytes() // 4,
                        None)
            return None

        def reducer_override(self, o):
            if isinstance(o, torch.Tensor):
                t = o.detach().float().contiguous().clone()
                owners[t.data_ptr()] = t
                return (torch._utils._rebuild_tensor,
                        (t.untyped_storage(), 0, tuple(t.size()), t.stride()))
            return NotImplemented

    with open(path, "wb") as f:
        for head in (_LEGACY_MAGIC, _LEGACY_PROTOCOL,
                     dict(protocol_version=_LEGACY_PROTOCOL, little_endian=True,
                          type_sizes=dict(short=2, int=4, long=4))):
            pickle.dump(head, f, protocol=2)
        Pickler(f, protocol=2).dump(obj)
        keys = sorted(storages, key=int)
        pickle.dump(keys, f, protocol=2)
        for k in keys:
            f.write(struct.pack("<q", storages[k].numel()))
            f.write(storages[k].numpy().tobytes())
