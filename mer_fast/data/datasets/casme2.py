"""CASME II (Yan et al., 2014): spontaneous micro-expressions filmed at 200 fps.

Layout::

    CASME2/                                    <- the dataset folder (--data casme2=PATH)
      CASME2-coding-20140508.xlsx              <- the owners' coding sheet
      Cropped/sub<NN>/<Filename>/reg_img<N>.jpg  <- the cropped faces (read by default)
      CASME2_RAW_selected/sub<NN>/<Filename>/img<N>.jpg  <- the full 640x480 frames
                                    (cropped=False, or --set release=raw; read by default only
                                    when Cropped/ is absent)

The sheet (``Sheet1``, header on row 1) has the columns Subject, Filename, (blank), OnsetFrame,
ApexFrame, OffsetFrame, (blank), Action Units, Estimated Emotion. ``Subject`` is zero-padded
text; a clip's key is (Subject, Filename), never the filename alone. Frame numbers are absolute
and not zero-padded. Quirks handled with a warning: the ``/`` apex (sub04 ``EP12_01f``), image
folders without a row (``sub09/EP02_02f``, ``sub24/EP02_07``), an Office lock file
``~$CASME2-coding-20140508.xlsx``, the 2019 revision sheet next to the 2014 one.

fps: 200, as the owners' page and the CASME II paper state (the Décalcomanie paper says 250).
Protocols: ``5class`` (happiness, surprise, disgust, repression, others; fear and sadness left
out, 246 clips on the real data) and ``all`` (the seven estimated emotions).

Real size (shared/DATASETS.md, counted on ``CASME2-coding-20140508.xlsx``): 255 clips of 26
subjects: others 99, disgust 63, happiness 32, repression 27, surprise 25, sadness 7, fear 2;
MEGC2019's three classes (``emotion3``): disgust and repression negative, happiness positive,
surprise surprise, the rest left out.
"""

from __future__ import annotations

from mer_fast.data.datasets.class_sets import ClassData, Counts
from mer_fast.data.datasets.sheet_adapter import SheetAdapter
from mer_fast.data.datasets.sheet_schema import (
    Column,
    Releases,
    SheetFiles,
    SheetSchema,
    SubjectRule,
    Vocabulary,
)

EMOTIONS = ("happiness", "surprise", "disgust", "repression", "others", "sadness", "fear")
PROTOCOLS: dict[str, tuple[str, ...]] = {
    "5class": ("happiness", "surprise", "disgust", "repression", "others"),
    "all": EMOTIONS,
}
# MEGC2019 (See et al. 2019; shared/DATASETS.md)
EMOTION3: dict[str, str | None] = {
    "disgust": "negative",
    "repression": "negative",
    "happiness": "positive",
    "surprise": "surprise",
    "others": None,
    "sadness": None,
    "fear": None,
}
RAW, CROPPED = "CASME2_RAW_selected", "Cropped"
SHEET_2014 = "CASME2-coding-20140508.xlsx"
SHEET_2019 = "CASME2-coding-20190701.xlsx"
SOURCE = "shared/DATASETS.md, counted on CASME2-coding-20140508.xlsx"


class CASME2(SheetAdapter):
    name = "casme2"
    title = "CASME II"
    folders = ("CASME2", "CASME II", "CASME_II", "CASMEII")
    fps = 200.0
    layout = (
        f"{SHEET_2014} and {CROPPED}/sub<NN>/<Filename>/reg_img<N>.jpg and/or "
        f"{RAW}/sub<NN>/<Filename>/img<N>.jpg"
    )
    options = {"protocol": "5class", "cropped": None, "coding": None, "allow_gaps": False}
    option_help = {
        "protocol": "5class (happiness, surprise, disgust, repression, others) or all",
        "cropped": f"True: read {CROPPED}/ (the cropped faces), False: {RAW}/; None: "
        f"{CROPPED}/ if present, else {RAW}/",
        "coding": "which coding sheet: 2014 (default when present), 2019, or a path",
        "allow_gaps": "use clips with gaps in their frame numbering (warn)",
    }

    releases = Releases(raw=RAW, cropped=CROPPED)
    sheet_files = SheetFiles(
        names=(SHEET_2014, SHEET_2019),
        patterns=("CASME2*.xlsx",),
        option="coding",
        choices={
            "2014": SHEET_2014,
            "20140508": SHEET_2014,
            "2019": SHEET_2019,
            "20190701": SHEET_2019,
        },
        notes={
            SHEET_2019: f"using the 2019 revision {SHEET_2019} (it relabels three sadness "
            "clips as surprise); the 2014 sheet is not here"
        },
    )
    schema = SheetSchema(
        columns=(
            Column("subject", ("Subject",)),
            Column("filename", ("Filename",)),
            Column("onset", ("OnsetFrame",), unknown=("/",)),
            Column("apex", ("ApexFrame",), unknown=("/",)),
            Column("offset", ("OffsetFrame",), unknown=("/",)),
            Column("action_units", ("Action Units",), required=False),
            Column("emotion", ("Estimated Emotion",)),
            Column("objective_class", ("Objective Classes",), required=False),
        ),
        sheets=("Sheet1",),
        header_row=1,
    )
    emotions = Vocabulary(EMOTIONS)
    subject_rule = SubjectRule(
        pattern=r"(?:sub)?0*(\d+)",
        folder="sub{:02d}",
        text_in_sheet=True,
        fix="subjects are '01'..'26' (text) as in the owners' sheet",
    )
    class_data = ClassData(
        native=PROTOCOLS,
        emotion3=EMOTION3,
        real=(
            Counts(
                clips=255,
                subjects=26,
                classes={
                    "others": 99,
                    "disgust": 63,
                    "happiness": 32,
                    "repression": 27,
                    "surprise": 25,
                    "sadness": 7,
                    "fear": 2,
                },
                source=SOURCE,
            ),
            Counts(
                clips=246,
                subjects=None,
                classes={
                    "happiness": 32,
                    "surprise": 25,
                    "disgust": 63,
                    "repression": 27,
                    "others": 99,
                },
                source=SOURCE,
                class_set="5class",
            ),
        ),
    )
    frame_pattern = r"(?:reg_)?img(\d+)\.jpg"
    clip_folder = "{subject}/{filename}"
    subject_folders = r"sub(\d+)"
    subject_folders_shown = "sub<NN>"
    clip_id = "{subject}/{filename}"
    key_fields = ("subject", "filename")
    unlisted_note = " (the real release has two such folders)"
