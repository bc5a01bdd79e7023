"""The paper's constants and the allowed values of TrainConfig's text fields (read by the
fields' descriptions, the checks and the documentation)."""

from __future__ import annotations

# Clip lengths of the paper: each target's mean length (section 4.1.3). The paper has no
# MEGC2019 runs: its value is the clip-count-weighted mean of the three (164, 145 and 133 clips).
TARGET_FRAMES = {"smic": 34, "casme2": 66, "samm": 74, "megc2019": 57}
# CAS(ME)^2: 13.6, the mean of offset - onset + 1 over its 57 micro-expression rows, counted on
# the "(Updated)" sheet's CSV export (hitheyuhong/MEGC2024-CODE; shared/DATASETS-MORE.md)
TARGET_FRAMES["casme-sq"] = 14
# SBML loss weights of the paper (lambda_O, lambda_L, lambda_R as the views are listed).
PAPER_LAMBDAS = {
    "OLR": (0.4, 0.4, 0.2),
    "OL": (0.5, 0.5),
    "OR": (0.5, 0.5),
    "LR": (0.5, 0.5),
    "O": (1.0,),
    "L": (1.0,),
    "R": (1.0,),
}
EPOCH_SELECTION = ("final", "inner-val", "oracle")
HEADS = ("sbml", "fsb", "fsb-mlp")
ACTION_CROPS = ("random", "corner", "center", "none")
VIEW_BATCHES = ("per-view", "joint")
ROTATION_FILLS = ("zeros", "border")
SCALE_MODES = ("code", "paper")
VIEW_AUGMENTS = ("independent", "shared")
SAMPLERS = ("shuffle", "balanced")
DATA_PATHS = ("auto", "store", "stream")
FACE_MODES = ("off", "detect")
AMP_MODES = ("auto", "bf16", "off")
CHANNELS_LAST = ("auto", "on", "off")
TASKS = ("emotion", "au")
AU_POS_WEIGHTS = ("none", "balanced")
AU_VIEW_FUSIONS = ("max", "mean", "sum")

# The fields' groups, in the order the documentation lists them: key -> (title, what they share)
GROUPS: dict[str, tuple[str, str]] = {
    "model": ("Model", "The backbone and its options."),
    "optim": (
        "Optimisation",
        "The paper's: Adam, lr 1e-4, batch 30, x0.1 at epochs 13, 18, 22 of 30 (N-step runs).",
    ),
    "clips": ("Clips", "How many frames a clip has, at what size it is stored and fed."),
    "faces": (
        "Faces",
        (
            "Cropping to the face while decoding (mer_fast.faces; needs "
            "`pip install 'mer-fast[faces]'`)."
        ),
    ),
    "decalcomanie": ("Décalcomanie", "Views, loss weights and heads (section 3.3)."),
    "augment": (
        "Augmentation",
        (
            "Table 4: per-clip rotation (degrees), scale, horizontal flip; how they act: "
            "rotation_fill, scale_mode and view_augment (group 'Where the paper's code differs')."
        ),
    ),
    "smote": ("SMOTE", "Extended SMOTE (section 3.1.1)."),
    "eval": ("Evaluation", "Which epoch's model a fold reports."),
    "task": (
        "Task",
        (
            "What the target step learns: emotion classes (the paper's) or action-unit detection "
            "(multi-label, meb's CD6ME benchmark; docs: 'Action-unit detection')."
        ),
    ),
    "run": ("Run", "Seed, device, precision, speed settings, checkpoints."),
    "data": (
        "Data",
        (
            "The release read, how much memory a native-size store may take, and the pre-training "
            "protocol of the action steps (UCF101, Kinetics-400), which follows "
            "kenshohara/3D-ResNets-PyTorch (master, the code of its 2020 checkpoints)."
        ),
    ),
    "paper_code": (
        "Where the paper's code differs",
        (
            "Where the paper's public code trains otherwise than its text says (documentation: "
            "'Where mer-fast departs from the paper's code'): the defaults and the presets follow "
            "the code, but for the sampler."
        ),
    ),
}
