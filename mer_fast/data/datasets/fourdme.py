"""4DME (Li et al., IEEE TAC 2022): spontaneous micro-expressions with 4D, depth, colour and gray
videos; mer-fast reads the gray clips of release v1.

Layout (meb's config and loader, shared/DATASETS-MORE.md)::

    4DME/  (or 4DMicro/)                            <- the dataset folder (--data 4dme=PATH)
      4DME_Labelling_Micro_release v1.xlsx          <- the coding sheet (a space in the name)
      4DME_Labelling_Micro_extras_release v1.xlsx   <- companion: self-report and video emotions
      gray_micro_crop/<sub_ID>/<fold_name>/<frames> <- the cropped faces (read by default)
      gray_micro/<sub_ID>/<fold_name>/<frames>      <- the full frames (cropped=False)

Columns read by header: ``sub_ID``, ``fold_name``, ``Onset``, ``Apex``, ``Offset``, ``AUs``,
``Emotion``; kept in meta: ``fold``, ``eye blink`` and the one-hot ``Positive`` / ``Negative`` /
``Surprise`` / ``Repression`` / ``Others`` (which of the two sheets holds these is inferred by
elimination from meb's column drops; both places work). A clip is (sub_ID, fold_name); its
folder holds exactly onset..offset (meb's validation passed on its copy). Frame file names of
release v1 are not confirmed: any ``<name><digits>.<jpg|png|bmp>`` is read by its last digits.

Quirks, each a note:

- AUs with the ``AU`` prefix, L/R sides and ``(k)`` (static, present before the onset:
  ``AU4(k)+L7``, ``AUR2+12(k)+45``): parsed by :mod:`~mer_fast.data.action_units`; meb's rule
  (``(k)`` AUs dropped unless ``ignore_ks``) is ``numbers(static=False/True)``;
- the AU and later columns of two rows are each other's (meb swaps its rows 144/145 by position,
  datasets.py:309-312). Without the real sheet the two rows cannot be named by key, so mer-fast
  recognises them by content: two neighbouring rows whose ``Emotion`` and one-hot columns
  disagree in mirror (each row's flags name the other's emotion), and which agree once the
  columns from ``AUs`` on are swapped, are swapped back (named in a note). Where the one-hot
  columns are absent or sit on the same side of ``AUs`` as ``Emotion`` the swap is not visible
  and the rows are read as written;
- ``Emotion`` of release v1 is not confirmed (the paper: five categories; meb's Table 2 calls it
  objective, derived from AUs): the five names in any case are read, ``Other`` as ``others``, and
  a multi-label cell such as ``Surprise+Positive`` (the pre-release spelling) is listed among the
  exclusions (no single class) with the labels in the note;
- a ``sub_ID`` with a session suffix (``S13_1st`` / ``S13_2nd``, pre-release spellings) is one
  person for LOSO (as meb merged them); the folder keeps the sheet's spelling.

Counts: 267 clips (meb n=267 in every CD6ME run). Subjects, fps, frame size and per-emotion
counts are not confirmed by a stored source. Protocols: ``all`` (the five categories) and
``3class`` (positive, negative, surprise, as a public loader keeps for three classes). Three
classes (``emotion3``): Positive, Negative, Surprise as named; Repression and Others left out
(as that loader; MEGC2019 maps CASME II's repression to negative, but 4DME codes Negative
apart from Repression). The later release (``micro_short_gray_video_cropped/`` with
``Micro_and_Macro-expression_labels_new_2D_oneLabel.xlsx``, which also holds macro rows by
an unconfirmed column) is not read.

Checked against meb (its first and latest commits, run on the facts above): release v1 is read
with ``sub_ID`` / ``fold_name`` / ``Emotion`` / ``Onset`` / ``Apex`` / ``Offset`` / ``AUs``
(renamed there, datasets.py:295-305), the companion sheet is read in meb's Table 2 notebook
from the owners' own ``4DMicro/Original data/`` folder, and ``Surprise+Positive`` is a value
meb itself wrote into its pre-release copy (meb@f00c3f4, row 263), so whether release v1 has
multi-label cells is open. The public code searched held no loader of release v1 but meb's
(and copies of its config).
"""

from __future__ import annotations

import re
from typing import Any

from mer_fast.data.datasets.cells import cell_text
from mer_fast.data.datasets.class_sets import ClassData, Counts
from mer_fast.data.datasets.folders import find_files
from mer_fast.data.datasets.sheet_adapter import SheetAdapter, SheetScan
from mer_fast.data.datasets.sheet_rows import SheetRow
from mer_fast.data.datasets.sheet_schema import (
    Column,
    Releases,
    SheetFiles,
    SheetSchema,
    SubjectRule,
    Vocabulary,
)
from mer_fast.data.datasets.sheets import read_table
from mer_fast.errors import DataError

SPELLINGS = ("Positive", "Negative", "Surprise", "Repression", "Others")
EMOTIONS = tuple(s.lower() for s in SPELLINGS)
EMOTION3: dict[str, str | None] = {
    "positive": "positive",
    "negative": "negative",
    "surprise": "surprise",
    "repression": None,
    "others": None,
}
SHEET = "4DME_Labelling_Micro_release v1.xlsx"
EXTRAS = ("4DME*extras*.xlsx",)
SUB_ID = ("sub_ID", "SubID")
FOLD_NAME = ("fold_name",)
AUS = ("AUs", "AU")
PERSON = re.compile(r"(?:S|sub)?0*\d+", re.IGNORECASE)
SWAP_SOURCE = "meb datasets.py:309-312 (its rows 144/145)"


class FourDME(SheetAdapter):
    name = "4dme"
    title = "4DME"
    aliases = ("fourd", "4d-me", "4dmicro")
    folders = ("4DME", "4DMicro")
    fps = None  # not confirmed
    layout = f"{SHEET!r} and gray_micro_crop/<sub_ID>/<fold_name>/ and/or gray_micro/..."
    options = {"protocol": "all", "cropped": None, "sheet": None, "allow_gaps": False}
    option_help = {
        "protocol": "all (positive, negative, surprise, repression, others) or 3class",
        "cropped": "True: read gray_micro_crop/ (the cropped faces), False: gray_micro/; "
        "None: gray_micro_crop/ if present, else gray_micro/",
        "sheet": f"path of the coding sheet (default: {SHEET} in the dataset folder)",
        "allow_gaps": "use clips with gaps in their frame numbering (warn)",
    }

    releases = Releases(raw="gray_micro", cropped="gray_micro_crop")
    sheet_files = SheetFiles(names=(SHEET,), patterns=("4DME*Micro_release*.xls*",))
    schema = SheetSchema(
        columns=(
            Column("subject", SUB_ID),
            Column("sub_id", SUB_ID),  # the sheet's spelling: the folder's name
            Column("filename", FOLD_NAME),
            Column("onset", ("Onset",)),
            Column("apex", ("Apex",)),
            Column("offset", ("Offset",)),
            Column("action_units", AUS, required=False),
            Column("emotion", ("Emotion",)),
            Column("fold", ("fold",), required=False, keep_numbers=True),
            Column("eye_blink", ("eye blink",), required=False, keep_numbers=True),
            *(Column(s.lower(), (s,), required=False, keep_numbers=True) for s in SPELLINGS),
        ),
    )
    emotions = Vocabulary(SPELLINGS, aliases={"other": "others"}, combined="+")
    subject_rule = SubjectRule(
        pattern=r"((?:S|sub)?0*\d+)(?:[_ ,\-].*)?",
        folder="{}",
        fix="sub_ID like S13 (a session suffix such as S13_1st is allowed)",
    )
    class_data = ClassData(
        native={"all": EMOTIONS, "3class": EMOTIONS[:3]},
        emotion3=EMOTION3,
        real=(
            Counts(
                clips=267,
                subjects=None,
                source="meb n=267 (CD6ME runs, shared/DATASETS-MORE.md); subjects and "
                "per-emotion counts not published",
            ),
        ),
    )
    frame_pattern = r".*?(\d+)\.(?:jpg|jpeg|png|bmp)"
    clip_folder = "{sub_id}/{filename}"
    clip_id = "{sub_id}/{filename}"
    key_fields = ("sub_id", "filename")

    def prepare(self, ctx: SheetScan) -> None:
        self._swap_back(ctx)
        ctx.extra["extras"] = self._extras(ctx)

    def check_row(self, ctx: SheetScan, row: SheetRow) -> bool:
        if PERSON.fullmatch(row.subject):  # one spelling per person: S13
            row.subject = f"S{int(re.sub(r'[^0-9]', '', row.subject)):02d}"
        raw = row.meta["sub_id"]
        if not PERSON.fullmatch(raw):
            ctx.extra.setdefault("sessions", {}).setdefault(row.subject, set()).add(raw)
        return True

    def record_meta(self, ctx: SheetScan, row: SheetRow) -> dict[str, Any]:
        meta = super().record_meta(ctx, row)
        key = (row.meta["sub_id"].casefold(), row.filename.casefold())
        meta.update(ctx.extra["extras"].get(key, {}))
        return meta

    def finish(self, ctx: SheetScan) -> None:
        sessions = ctx.extra.get("sessions", {})
        if sessions:
            listed = "; ".join(f"{k} ({', '.join(sorted(v))})" for k, v in sorted(sessions.items()))
            ctx.scan.warn(
                f"sub_IDs with a session suffix read as one subject each for LOSO: {listed}"
            )

    # -- the two rows whose AU and later columns are each other's --------------------------------
    def _labels(self, ctx: SheetScan, values: tuple[Any, ...]) -> tuple[set[str], set[str]]:
        """(the labels the Emotion cell names, the one-hot columns set to 1)."""
        label, _ = self.emotions.read(ctx.table.get(values, ("Emotion",)))
        named = set(label.split("+")) if label else set()
        flags = {s.lower() for s in SPELLINGS if _flag(ctx.table.get(values, (s,)))}
        return named, flags

    def _swap_back(self, ctx: SheetScan) -> None:
        table = ctx.table
        at = table.index(AUS)
        if at is None or not all(table.has((s,)) for s in SPELLINGS):
            return
        rows = table.rows
        for i in range(len(rows) - 1):
            (na, a), (nb, b) = rows[i], rows[i + 1]
            (ea, fa), (eb, fb) = self._labels(ctx, a), self._labels(ctx, b)
            if not (fa and fb and ea != fa and eb != fb and fa == eb and fb == ea):
                continue
            width = max(len(a), len(b))
            a2 = tuple(a) + (None,) * (width - len(a))
            b2 = tuple(b) + (None,) * (width - len(b))
            a2, b2 = a2[:at] + b2[at:], b2[:at] + a2[at:]
            (ea2, fa2), (eb2, fb2) = self._labels(ctx, a2), self._labels(ctx, b2)
            if ea2 == fa2 and eb2 == fb2:
                rows[i], rows[i + 1] = (na, a2), (nb, b2)
                ctx.scan.warn(
                    f"{self._name(ctx, a)} and {self._name(ctx, b)} ({table.path.name} rows "
                    f"{na} and {nb}): the columns from {table.headers[at]!r} on are each "
                    f"other's (Emotion and the one-hot columns disagree in mirror); swapped "
                    f"back, as {SWAP_SOURCE} does by row position"
                )

    def _name(self, ctx: SheetScan, values: tuple[Any, ...]) -> str:
        sub, fold = (cell_text(ctx.table.get(values, n)) for n in (SUB_ID, FOLD_NAME))
        return f"{sub}/{fold}"

    # -- the companion sheet ---------------------------------------------------------------------
    def _extras(self, ctx: SheetScan) -> dict[tuple[str, str], dict[str, str]]:
        """The companion sheet's self-report and video emotions by (sub_ID, fold_name)."""
        found = find_files(ctx.root, EXTRAS, depth=1)
        if not found:
            return {}
        try:
            table = read_table(found[0], [SUB_ID, FOLD_NAME], what="4DME extras sheet")
        except DataError as exc:
            ctx.scan.warn(f"{found[0]}: not read ({exc.reason}); its emotions are left out")
            return {}
        columns = {
            "self_report_emotion": ("self-report emo'", "self-report emo"),
            "video_emotion": ("video emo'", "video emo"),
        }
        out = {}
        for _, values in table.rows:
            key = (
                cell_text(table.get(values, SUB_ID)).casefold(),
                cell_text(table.get(values, FOLD_NAME)).casefold(),
            )
            out[key] = {k: cell_text(table.get(values, n)) for k, n in columns.items()}
        ctx.scan.warn(
            f"read the companion sheet {found[0].name} ({len(out)} rows): self-report and "
            "video emotions in each clip's meta"
        )
        return out


def _flag(value: Any) -> bool:
    """A one-hot cell set: 1, 1.0, '1', True."""
    return cell_text(value) in ("1", "True")
