"""Reading a checkpoint file safely: :func:`read_checkpoint` loads it with
``torch.load(weights_only=True)`` (tensors and plain containers only, no code runs; a file that
needs more is refused unless ``trusted``), recognises what is not a checkpoint from its first
bytes (an empty file, an HTML page of a stopped download, a Git LFS pointer), names a truncated
or corrupt file, and returns a dict with a ``state_dict`` of tensors whatever the layout (a
3D-ResNets dict, ``model_state_dict`` / ``model`` entries, a bare state dict, a whole module)."""

from __future__ import annotations

import os
import pickle
import re
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mer_fast.errors import CheckpointError
from mer_fast.models.state_dict_fit import key_list


def read_checkpoint(
    path: str | os.PathLike, *, map_location: Any = "cpu", trusted: bool = False
) -> tuple[dict[str, Any], bool]:
    """Reads a checkpoint file into a dict with a ``state_dict`` entry.

    Returns ``(checkpoint, weights_only)``. A bare state dict becomes ``{"state_dict": ...}``;
    ``model_state_dict`` / ``model`` entries are accepted in place of ``state_dict``.
    Raises :class:`CheckpointError` naming the file for anything that is not a checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            "no such file" if not path.exists() else "not a file",
            file=path,
            fix="check the path of the checkpoint",
        )
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(64)
    problem = _sniff(head, size)
    if problem:
        raise CheckpointError(
            problem,
            file=path,
            fix="download or copy the file again; a checkpoint is a file written by torch.save",
        )
    weights_only = True
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only load failed" not in str(exc).lower():
            raise _corrupt(path, size, exc) from exc
        if not trusted:
            what = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
            detail = f" (it contains {what.group(1)})" if what else ""
            raise CheckpointError(
                "the file holds Python objects besides tensors and plain containers"
                f"{detail}, so it cannot be read with weights_only=True",
                file=path,
                fix="if you trust the source of the file: on the command line add "
                "--trust-checkpoint (mer-fast train / experiment / pretrain for --init "
                "files, mer-fast predict for --checkpoint); in Python pass trusted=True. "
                "Either runs the code pickled in it",
            ) from exc
        weights_only = False
        try:
            obj = torch.load(path, map_location=map_location, weights_only=False)
        except Exception as exc2:  # any failure of a broken pickle
            raise _corrupt(path, size, exc2) from exc2
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise _corrupt(path, size, exc) from exc
    return _as_checkpoint(obj, path), weights_only


def _sniff(head: bytes, size: int) -> str | None:
    """Why these first bytes cannot start a torch.save file, or None if they can."""
    if size == 0:
        return "the file is empty"
    if head.startswith((b"PK\x03\x04", b"\x80")):
        return None  # zip archive (torch >= 1.6) or a pickle (legacy torch.save, incl. 0.3)
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<")):
        return (
            "the file is an HTML page, not a checkpoint (often a download that stopped at a "
            "login or virus-scan page, e.g. Google Drive's)"
        )
    if text.startswith(b"version https://git-lfs"):
        return "the file is a Git LFS pointer, not the checkpoint (run `git lfs pull`)"
    return f"not a PyTorch checkpoint: it starts with {head[:16]!r}"


def _corrupt(path: Path, size: int, exc: BaseException) -> CheckpointError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, EOFError) or re.search(
        r"EOF|central directory|truncat", text, re.IGNORECASE
    ):
        why = f"the file is truncated or corrupted ({size} bytes; torch.load: {text})"
    else:
        why = f"torch.load cannot read it ({type(exc).__name__}: {text})"
    return CheckpointError(why, file=path, fix="download or copy the file again")


def _is_tensor_map(obj: Any) -> bool:
    return (
        isinstance(obj, Mapping)
        and len(obj) > 0
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def _as_checkpoint(obj: Any, path: Path) -> dict[str, Any]:
    if isinstance(obj, nn.Module):  # only reachable with trusted=True
        return {"state_dict": obj.state_dict()}
    if not isinstance(obj, Mapping):
        raise CheckpointError(
            f"the file holds a {type(obj).__name__}, not a checkpoint dict",
            file=path,
            fix="give a file written by torch.save of a dict with 'state_dict', or of a state dict",
        )
    ck = dict(obj)
    if "state_dict" not in ck:
        for alt in ("model_state_dict", "model"):
            if isinstance(ck.get(alt), Mapping):
                ck["state_dict"] = ck.pop(alt)
                break
        else:
            if _is_tensor_map(ck):
                return {"state_dict": OrderedDict(ck)}
            raise CheckpointError(
                f"no state dict in the file (top-level keys: {key_list(list(map(str, ck)))})",
                file=path,
                key="state_dict",
                fix="give a checkpoint dict with 'state_dict', or a state dict",
            )
    sd = ck["state_dict"]
    if not isinstance(sd, Mapping):
        raise CheckpointError(
            f"'state_dict' is a {type(sd).__name__}, not a dict", file=path, key="state_dict"
        )
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            raise CheckpointError(
                f"state_dict entry holds a {type(v).__name__}, not a tensor", file=path, key=str(k)
            )
    return ck
