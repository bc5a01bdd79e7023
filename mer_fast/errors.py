"""Errors that tell the user which file, which field, and what to do about it."""

from __future__ import annotations

import os


class MerFastError(Exception):
    """Base class of mer-fast's own errors."""


def _describe(message: str, file, field, fix) -> str:
    parts = []
    if file is not None:
        parts.append(f"{os.fspath(file)}")
    if field is not None:
        parts.append(f"field {field!r}")
    head = ": ".join(parts)
    text = f"{head}: {message}" if head else message
    if fix:
        text += f"\n  fix: {fix}"
    return text


class DataError(MerFastError, ValueError):
    """Bad or missing input data: names the file, the field and the fix."""

    def __init__(self, message: str, *, file=None, field=None, fix: str | None = None):
        self.file = None if file is None else os.fspath(file)
        self.field = field
        self.fix = fix
        self.reason = message
        super().__init__(_describe(message, file, field, fix))


class CheckpointError(MerFastError, ValueError):
    """A checkpoint that cannot be loaded into the model asked for."""

    def __init__(self, message: str, *, file=None, key=None, fix: str | None = None):
        self.file = None if file is None else os.fspath(file)
        self.key = key
        super().__init__(_describe(message, file, key, fix))


class ConfigError(MerFastError, ValueError):
    """An option or preset that does not make sense."""

    def __init__(self, message: str, *, file=None, field=None, fix: str | None = None):
        self.file = None if file is None else os.fspath(file)
        self.field = field
        self.fix = fix
        self.reason = message
        super().__init__(_describe(message, file, field, fix))


class OpArgumentError(MerFastError, ValueError):
    """A bad argument to one of the ``torch.ops.mer_fast`` operators: names the op, the argument,
    the value and what is allowed."""


def did_you_mean(name: str, known) -> str:
    """`` (did you mean X?)`` for the closest of ``known`` to a misspelt ``name``, or ``""``."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""
