"""The MEGC2019 ground truth ``combined_3class_gt.csv`` over the synthetic SMIC-HS, CASME II and
SAMM, as the organisers distribute it."""

from __future__ import annotations

from pathlib import Path

from mer_fast.data.synthetic.micro_common import Truth

CASME2_TO_3 = {"disgust": 0, "repression": 0, "happiness": 1, "surprise": 2}
SAMM_TO_3 = {
    "anger": 0,
    "contempt": 0,
    "disgust": 0,
    "fear": 0,
    "sadness": 0,
    "happiness": 1,
    "surprise": 2,
}
SMIC_TO_3 = {"negative": 0, "positive": 1, "surprise": 2}


def write_megc2019_csv(path: Path, smic: Truth, casme2: Truth, samm: Truth) -> int:
    """``combined_3class_gt.csv`` as the organisers distribute it: no header, CRLF, CASME II
    rows first, SMIC spelled ``s01``/``s01_ne_01``, SAMM subjects as numbers."""
    lines = []
    for c in casme2.clips:
        apex_ok = c["apex"] != "/" and c["apex"] != c["onset"]
        if c["label"] in CASME2_TO_3 and apex_ok:
            lines.append(f"casme2,{c['subject']},{c['clip']},{CASME2_TO_3[c['label']]}")
    for c in smic.clips:
        sub = f"s{int(c['subject'][1:]):02d}"
        clip = sub + c["clip"][len(c["subject"]) :]
        lines.append(f"smic,{sub},{clip},{SMIC_TO_3[c['label']]}")
    lines.extend(
        f"samm,{int(c['subject'])},{c['clip']},{SAMM_TO_3[c['label']]}"
        for c in sorted(samm.clips, key=lambda c: c["clip"])
        if c["label"] in SAMM_TO_3
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return len(lines)
