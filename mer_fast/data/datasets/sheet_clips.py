"""From a row of a coding sheet to a clip record, the shared reading of every
:class:`~mer_fast.data.datasets.sheet_adapter.SheetAdapter`: the row's cells read and checked
(``sheet_rows.read_row``), a second row for one clip, an emotion outside the protocol and a
missing clip folder filed, the clip's frames listed (its own folder, or a range of a video's
frame folder) and the record built with its action units. Kept apart from the adapter base,
which declares the layout and the hooks; the hooks are still called on the adapter, so a
dataset's overrides apply here unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mer_fast.data.action_units import parse_action_units
from mer_fast.data.datasets.cells import cell_text
from mer_fast.data.datasets.frame_checks import frames_of_clip, frames_of_range, number_files
from mer_fast.data.datasets.sheet_rows import SheetRow, cell, read_row
from mer_fast.data.frames import FrameListing
from mer_fast.data.index import ClipRecord

if TYPE_CHECKING:
    from mer_fast.data.datasets.sheet_adapter import SheetAdapter, SheetScan


def read_clip(adapter: SheetAdapter, ctx: SheetScan, number: int, values: tuple[Any, ...]) -> None:
    """Row ``number`` of the sheet (its cell ``values``) to a clip record in ``ctx.scan``: a
    problem for a second row of the same clip or a missing folder, an exclusion for an emotion
    outside the protocol; the folder and onset/apex/offset checks are the adapter's hooks."""
    scan = ctx.scan
    row = read_row(adapter, ctx, number, values)
    if row is None:
        return
    key = tuple(k.casefold() for k in row.key)
    if key in ctx.keys:
        labels = [key_label(adapter, f) for f in adapter.key_fields]
        scan.problem(
            row.clip,
            f"second row for {row.clip} (row {number})",
            file=ctx.table.path,
            field="+".join(labels),
            fix="delete the duplicate row",
        )
        return
    ctx.keys.add(key)
    folder_key = adapter.folder_key(ctx, row)
    ctx.used.add(folder_key)  # a clip outside the protocol still has its folder
    if row.emotion not in ctx.classes:
        scan.exclude(
            row.clip, f"emotion {row.emotion!r} is not in the protocol {list(ctx.classes)}"
        )
        return
    folder = ctx.on_disk.get(folder_key)
    if folder is None:
        scan.problem(
            row.clip,
            f"listed in {ctx.table.path.name} (row {number}) but its folder is missing",
            file=adapter.missing_folder(ctx, row),
            field="Filename",
            fix=f"restore the folder from the {ctx.release} release, or delete the row",
        )
        return
    adapter.check_folder(ctx, row, folder)
    listing = clip_listing(adapter, ctx, row, folder)
    if listing is None:
        return
    adapter.check_marks(ctx, row, listing)
    add_record(adapter, ctx, row, listing)


def clip_listing(
    adapter: SheetAdapter, ctx: SheetScan, row: SheetRow, folder: Path
) -> FrameListing | None:
    """The frames of a row's clip: the whole ``folder`` (``clip_frames`` "folder"), or onset..
    offset of the video frame folder it names ("range"; each video folder listed once). None
    after filing a problem."""
    allow_gaps = bool(ctx.options.get("allow_gaps", False))
    if ctx.clip_frames == "folder":
        return frames_of_clip(
            ctx.scan, row.clip, folder, adapter.frame_pattern, allow_gaps=allow_gaps
        )
    if row.onset is None or row.offset is None or row.offset < row.onset:
        ctx.scan.problem(
            row.clip,
            f"onset {row.onset} / offset {row.offset} do not give a range to cut from the "
            "video's frames",
            file=ctx.table.path,
            field="onset/offset",
            fix="correct the row (or declare a Fix for it in the adapter, with its source)",
        )
        return None
    video = ctx.videos.get(folder)
    if video is None:
        try:
            entries = ctx.tree.entries(folder, ordered=False)
        except OSError as exc:
            ctx.scan.problem(
                row.clip,
                f"cannot read the video's frame folder ({exc.strerror or exc})",
                file=folder,
                field="frames",
                fix="make it readable, or restore it from the release",
            )
            return None
        video = ctx.videos[folder] = number_files(folder, entries, adapter.frame_pattern)
        ctx.scan.ignored_files.extend(str(folder / n) for n in video.unmatched + video.other)
    return frames_of_range(
        ctx.scan,
        row.clip,
        video,
        row.onset,
        row.offset,
        allow_gaps=allow_gaps,
        gaps_are_quirks=adapter.gaps_are_quirks,
    )


def add_record(adapter: SheetAdapter, ctx: SheetScan, row: SheetRow, listing: FrameListing) -> None:
    """The clip record of a row whose frames were found, with its parsed action units."""
    meta = adapter.record_meta(ctx, row)
    aus = None
    au_col = adapter.schema.column("action_units")
    if au_col is not None and ctx.table.has(au_col.names or (au_col.field,)):
        value = cell(adapter, ctx.table, row.values, "action_units")
        aus = parse_action_units(value)
        meta["action_units"] = aus_text = cell_text(value)
        if aus.unparsed:
            ctx.scan.warn(
                f"{row.clip}: action units {aus_text!r}: {list(aus.unparsed)} not read as "
                "AU codes (the text stays in meta['action_units'])"
            )
    ctx.scan.add(
        ClipRecord(
            dataset=adapter.name,
            clip_id=row.clip,
            subject=row.subject,
            label=row.emotion,
            label_index=ctx.classes.index(row.emotion),
            frames=listing.files,
            num_frames=len(listing),
            fps=adapter.fps,
            frame_numbers=listing.numbers,
            onset=row.onset,
            apex=row.apex,
            offset=row.offset,
            meta=meta,
            action_units=aus,
        )
    )


def key_label(adapter: SheetAdapter, name: str) -> str:
    """A field's column as the sheet labels it (for problems naming the key columns)."""
    col = adapter.schema.column(name)
    return col.label if col is not None else name
