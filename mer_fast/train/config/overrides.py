"""Changing ``TrainConfig`` fields by name, from presets, ``--set KEY=VALUE`` and code: each value
is read as the field's type (``"1e-3"`` -> 1e-3, ``"13,18"`` -> (13, 18), ``"true"`` -> True);
an unknown name is an error listing the known ones."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from mer_fast.errors import ConfigError

Config = TypeVar("Config")  # a TrainConfig (any dataclass instance)

# fields whose default is None but whose values are numbers (read as these types)
TUPLE_FIELDS = {"milestones": int, "lambdas": float, "betas": float}
INT_FIELDS = ("frames", "micro_batch")


def coerce(f: dataclasses.Field, value: Any, source: str | None) -> Any:
    """``value`` read as the type of field ``f`` (None stays None)."""
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[operator]  # option(): a default or a factory
    if value is None:
        return None
    if f.name == "aus":  # "1,2,4", "AU1+AU2" or a list: an error names the piece
        from mer_fast.data.action_units import au_list

        return au_list(value)
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if isinstance(default, tuple) or f.name in TUPLE_FIELDS:
            if isinstance(value, str):
                value = [v for v in value.replace(" ", "").split(",") if v]
            kind = TUPLE_FIELDS.get(f.name, float)
            return tuple(kind(v) for v in value)
        if isinstance(default, dict):
            if not isinstance(value, Mapping):
                raise ValueError(value)
            return dict(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, int) or f.name in INT_FIELDS:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        return str(value) if not isinstance(value, str) else value
    except (TypeError, ValueError):
        raise ConfigError(
            f"cannot read {value!r} as the type of {f.name!r} (default {default!r})",
            file=source,
            field=f.name,
        ) from None


def apply_overrides(cfg: Config, changes: Mapping[str, Any], source: str | None = None) -> Config:
    """A copy of ``cfg`` with ``changes`` (field name, or with dashes, -> value) applied;
    ``source`` names where they come from in errors. Call ``validate()`` on the result."""
    known = {f.name: f for f in dataclasses.fields(cfg)}  # type: ignore[arg-type]
    out = dataclasses.replace(cfg)  # type: ignore[type-var]
    for key, value in changes.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(
                f"unknown option {key!r}",
                file=source,
                field=key,
                fix=f"known options: {', '.join(sorted(known))}",
            )
        setattr(out, name, coerce(known[name], value, source))
    return out
