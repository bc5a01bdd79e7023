"""SMIC-VIS and SMIC-NIR (Li et al., 2013): the micro-expressions of SMIC's later subjects filmed
by two normal-speed cameras, visual (VIS) and near-infrared (NIR), at 25 fps, next to SMIC-HS.

Layout: SMIC-HS's tree with the camera folder ``VIS`` or ``NIR`` in place of ``HS``
(shared/DATASETS-MORE.md, public loaders); no spreadsheet, the label is the folder::

    SMIC/                                   <- the same dataset folder as SMIC-HS
      SMIC_all_cropped/{VIS,NIR}/s<k>/micro/{negative,positive,surprise}/<clip>/  <- faces
      SMIC_all_raw/{VIS,NIR}/...            <- the full frames (cropped=False)

Frame names are not confirmed: one public loader reads VIS frames as ``<5 digits>.bmp`` and NIR
frames as ``image<digits>.bmp``, the cropped NIR frames as ``reg_image<digits>.bmp``; every one
of these (and HS's spelling) is read, by the digits of the name.

Counts: 71 clips each, 25 fps (the owners' SMIC page, https://www.oulu.fi/cmvs/node/41319: VIS
and NIR cameras "were added in the recording of the latter 10 subjects"; SMIC-E-VIS/NIR hold 71
long clips each). Which of those 10 subjects show micro-expressions is inferred, not confirmed:
HS subjects s11-s15 and s18-s20 hold 7+9+10+10+4+7+2+22 = 71 HS clips, the same number
(shared/DATASETS-MORE.md), so VIS/NIR are likely those 8 subjects' clips. Per-class counts (often
quoted as positive 28, negative 23, surprise 20) are not confirmed by a stored source, so they are
not stated as real counts here. Confirmed: the camera folders' place in the tree and the 25 fps
(the owners' page); not confirmed: frame names, subjects, per-class counts.
"""

from __future__ import annotations

from mer_fast.data.datasets.class_sets import ClassData, Counts
from mer_fast.data.datasets.smic import CLASSES, CROPPED, EMOTION3, RAW, SMIC

# the loaders' spellings (VIS "00012.bmp", NIR "image000123.bmp", cropped "reg_image...") and HS's
CAMERA_FRAMES = r"(?:reg_)?(?:image|img)?(\d+)\.(?:bmp|jpg|jpeg|png)"
SOURCE = (
    "the owners' SMIC page https://www.oulu.fi/cmvs/node/41319 (VIS/NIR filmed for the later "
    "10 of 20 subjects; SMIC-E-VIS/NIR 71 clips); subjects and per-class counts not published"
)


def _class_data() -> ClassData:
    return ClassData(
        native={"all": CLASSES},
        emotion3=EMOTION3,  # already MEGC2019's three classes
        real=(Counts(clips=71, subjects=None, source=SOURCE),),
    )


class SMICVIS(SMIC):
    name = "smic-vis"
    title = "SMIC-VIS"
    aliases = ("smic_vis", "smicvis")
    modality = "VIS"
    frame_pattern = CAMERA_FRAMES
    folders = ("SMIC", "SMIC-VIS")
    fps = 25.0
    layout = (
        f"{CROPPED}/VIS/s<k>/micro/{{negative,positive,surprise}}/<clip>/<frames>.bmp and/or "
        f"{RAW}/VIS/... (frames named by their digits)"
    )
    class_data = _class_data()


class SMICNIR(SMIC):
    name = "smic-nir"
    title = "SMIC-NIR"
    aliases = ("smic_nir", "smicnir")
    modality = "NIR"
    frame_pattern = CAMERA_FRAMES
    folders = ("SMIC", "SMIC-NIR")
    fps = 25.0
    layout = (
        f"{CROPPED}/NIR/s<k>/micro/{{negative,positive,surprise}}/<clip>/<frames>.bmp and/or "
        f"{RAW}/NIR/... (frames named by their digits)"
    )
    class_data = _class_data()
