"""How a ``TrainConfig`` field carries its description: ``option()`` declares a field with its
default, group, help text and allowed values (kept in the dataclass field's metadata), and
``field_description()`` reads them back for ``describe()``, ``mer-fast train --help`` and the
configuration reference. Kept apart from the field list so that ``trainconfig.py`` holds the
fields themselves and nothing else of length."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import MISSING
from typing import Any


def option(
    default: Any = MISSING,
    group: str = "",
    help: str = "",  # noqa: A002 - argparse's word, as every field writes help=...
    *,
    choices: tuple[str, ...] | None = None,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A TrainConfig field: its default (or ``factory`` for a mutable one), the group it belongs
    to (a key of GROUPS), its description and, for a text field with fixed values, those values."""
    metadata: dict[str, Any] = {"group": group, "help": help}
    if choices is not None:
        metadata["choices"] = choices
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def field_description(f: dataclasses.Field) -> dict[str, Any]:
    """The description ``option()`` stored with field ``f``: name, type, default, group, help and
    (where fixed) choices; a field declared without ``option()`` has an empty group and help."""
    default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[operator]  # option(): a default or a factory
    return {
        "name": f.name,
        "type": str(f.type),
        "default": default,
        "group": f.metadata.get("group", ""),
        "help": f.metadata.get("help", ""),
        "choices": f.metadata.get("choices"),
    }
