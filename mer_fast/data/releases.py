"""Which release of a dataset a run reads: the cropped faces or the full frames.

SMIC (``SMIC_all_cropped`` / ``SMIC_all_raw``), CASME II (``Cropped`` / ``CASME2_RAW_selected``)
and SAMM (``SAMM_CROP`` / ``SAMM``) ship both. The paper trains on the cropped faces, so a run
reads the cropped release wherever it is present and the full frames only where it is not (with
a note); ``release = "raw"`` (``--set release=raw``) asks for the full frames instead. The
choice may differ per dataset: ``"raw,smic=cropped"`` reads every dataset's raw release but
SMIC's cropped one. An explicit adapter option (``data: {casme2: {cropped: true}}`` in a preset)
wins over the config field.

The adapters carry the choice as their ``cropped`` option (None: cropped first, False: raw,
True: cropped); datasets that ship one release (CK+, UCF101, Kinetics-400) ignore it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mer_fast.errors import ConfigError

RELEASES = ("cropped", "raw")
FIELD = "release"
EXAMPLE = "write e.g. --set release=raw, or release=cropped,casme2=raw (per dataset)"


def parse_release(text: str | None) -> tuple[str, dict[str, str]]:
    """``"cropped"`` / ``"raw"`` / ``"raw,smic=cropped"`` -> (the default, {dataset: choice})
    with canonical dataset names. Raises a ConfigError naming the field and the fix."""
    from mer_fast.data.datasets import canonical_name

    default = "cropped"
    per: dict[str, str] = {}
    defaults_seen = 0
    for item in str(text if text is not None else "cropped").split(","):
        item = item.strip()
        if not item:
            continue
        name, eq, choice = item.partition("=")
        choice = (choice if eq else name).strip().lower()
        if choice not in RELEASES:
            raise ConfigError(
                f"unknown release {choice!r} in {text!r}",
                field=FIELD,
                fix=f"use {' or '.join(RELEASES)}; {EXAMPLE}",
            )
        if not eq:
            default = choice
            defaults_seen += 1
            continue
        try:
            per[canonical_name(name.strip())] = choice
        except ConfigError:
            from mer_fast.data.datasets import DATASETS

            raise ConfigError(
                f"unknown dataset {name.strip()!r} in release={text!r}",
                field=FIELD,
                fix=f"datasets are {', '.join(sorted(DATASETS))}; {EXAMPLE}",
            ) from None
    if defaults_seen > 1:
        raise ConfigError(f"release={text!r} gives more than one default", field=FIELD, fix=EXAMPLE)
    return default, per


def release_of(release: str | None, name: str) -> str:
    """The release choice (cropped | raw) for dataset ``name``."""
    default, per = parse_release(release)
    return per.get(name, default)


def release_options(
    release: str | None, name: str, options: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Adapter options of dataset ``name`` with the release choice applied as ``cropped``
    (None: cropped first, False: raw); options that set ``cropped`` themselves win. For the
    MEGC2019 composite each part gets its own choice."""
    from mer_fast.data.datasets import get_adapter

    out = dict(options or {})
    adapter = get_adapter(name)
    if "cropped" not in adapter.options or "cropped" in out:
        return out
    default, per = parse_release(release)
    if adapter.composite:
        choices = {p: per.get(p, per.get(adapter.name, default)) for p in adapter.parts}
        out["cropped"] = {p: None if c == "cropped" else False for p, c in choices.items()}
    else:
        out["cropped"] = None if per.get(adapter.name, default) == "cropped" else False
    return out


def releases_read(index) -> dict[str, str]:
    """``{dataset: release folder}`` of the clips of an index (for results.json, step.json
    and the console); datasets that ship one release are named as such."""
    out: dict[str, str] = {}
    for r in index.records:
        if r.dataset not in out:
            out[r.dataset] = str(r.meta.get("release") or "its only release")
    return out
