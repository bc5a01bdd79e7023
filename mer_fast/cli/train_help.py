"""The help texts of ``mer-fast train`` that are built, not written once: its examples, the
list of fields where the paper's public code trains otherwise than its text (from the fields'
own descriptions, so that it cannot drift) and the help of ``--set`` (every field's name)."""

from __future__ import annotations

import dataclasses

EXAMPLES = """\
examples:
  # the paper's best chain on SMIC-HS, datasets under /data (see `mer-fast datasets check`)
  mer-fast train --chain kinetics,ucf,macro --target smic --data-root /data

  # start the chain from the published Kinetics weights of 3D-ResNets-PyTorch
  mer-fast train --chain kinetics,ucf,macro --target samm --data-root /data \\
      --init kinetics=r3d50_K_200ep.pth

  # a Décalcomanie run of Table 2 (a preset), from scratch, on CASME II
  mer-fast train --config configs/table2b_casme2_train-olr_test-o.yaml --data-root /data

  # everything on the built-in synthetic stand-in data (labelled synthetic in every output)
  mer-fast train --chain kinetics,ucf,macro --target smic --synthetic --arch r3d10 --epochs 2

Finished chain steps are stored once (--steps-dir) and reused by later runs with the same
prefix; finished folds are kept, and rerunning the same command resumes where it stopped.

"""


def paper_code_text() -> str:
    """The epilog's list of the fields where the paper's public code trains otherwise than its
    text (from their descriptions in TrainConfig, so that it cannot drift)."""
    import textwrap

    from mer_fast.train.config import TrainConfig, describe

    lines = [
        "Where the paper's public code trains otherwise than its text, --set chooses (the first",
        "value is the default, which the presets of Tables 1-5 use: the code's way, but for the",
        "sampler; docs: 'Where mer-fast departs from the paper's code'):",
    ]
    for f in dataclasses.fields(TrainConfig):
        if f.metadata.get("group") != "paper_code":
            continue
        d = describe(f.name)
        head = f"  {f.name}={'|'.join(d['choices'] or [str(d['default'])])}"
        body = textwrap.wrap(d["help"], 96 - 4)
        lines += [head] + ["    " + line for line in body]
    return "\n".join(lines) + "\n"


def set_help() -> str:
    """--set's help: every field it takes (their descriptions: the configuration reference)."""
    from mer_fast.train.config import TrainConfig

    names = ", ".join(f.name for f in dataclasses.fields(TrainConfig))
    return (
        "any field of the training config, e.g. --set views=OLR "
        "--set model_options='{\"widen_factor\": 0.5}'; the fields (each described in the "
        f"documentation's configuration reference): {names}"
    )
