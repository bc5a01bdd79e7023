#!/usr/bin/env python3
"""Record what tests/test_meb_metrics.py compares with, from a checkout of tvaranka/meb.

mer-fast ships no code of meb. This script runs meb's own metric code on small seeded inputs and
writes the inputs and meb's outputs to ``tests/fixtures/meb_metrics/metrics.json``:

- multi-label (AU detection): ``MultiLabelF1Score()`` (per-AU binary F1 of logits > 0) and
  ``MultiLabelF1Score(average="macro")`` (per-AU mean of both classes' F1), from
  ``meb/utils/metrics.py``, on label matrices and logits of several seeds, sizes and AU counts,
  and on edge cases: all correct, all wrong, AUs never present (predicted or not), every AU
  present, one AU, logits of exactly 0;
- multi-class (emotions, objective classes): ``MultiClassF1Score()`` (sklearn macro F1, meb's
  UF1), the ``UAR`` metric of meb's notebook "Table 10. Hold-out database" (cell 10,
  ``unweighted_average_recall``), both on predictions pooled over folds as meb's validators
  pool them, and the mean of per-fold ``MultiClassF1Score`` as notebook "Figure 2. Different
  F1-metrics" (cell 5) computes its "F1 macro folds".

The files are read from the checkout's git objects (``git show REF:path``), so a clone or a bare
mirror works, whatever is checked out, and meb's package (whose imports need packages that are
not on PyPI) is never imported: ``meb/utils/metrics.py`` is imported by path (it needs only
numpy, torch and scikit-learn, which mer-fast's environment has) and the notebook cell is
executed on its own. One adaptation: the cell calls ``OneHotEncoder(sparse=False)``, an argument
scikit-learn renamed ``sparse_output`` in 1.2 and removed in 1.4; the recorder passes it on under
the new name. Nothing else of meb's code is changed.

    git clone https://github.com/tvaranka/meb /tmp/meb
    python tools/record_meb_metrics.py --repo /tmp/meb

Inputs are drawn with numpy's PCG64 from the seeds listed in the fixture and stored in it
(logits rounded to 2 decimals, so some are exactly 0), so the tests do not depend on numpy's
random streams. The fixture is about 31 KiB.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path

from checkout import Failure, check_checkout, git, import_from_git, require, resolve

ROOT = Path(__file__).resolve().parents[1]
METRICS = "meb/utils/metrics.py"
UAR_NOTEBOOK = "experiments/paper_experiments/Table 10. Hold-out database.ipynb"
UAR_FUNCTION = "def unweighted_average_recall"


def load_meb(repo: Path, commit: str, tmp: Path) -> dict:
    """meb's metric classes and the notebook's UAR, from the checkout at ``commit``."""
    module = import_from_git(repo, commit, METRICS, tmp, "meb_metrics")
    notebook = json.loads(git(repo, "show", f"{commit}:{UAR_NOTEBOOK}"))
    cells = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    found = [c for c in cells if UAR_FUNCTION in c]
    if len(found) != 1:
        raise Failure(
            f"{UAR_NOTEBOOK} at {commit[:10]}: {len(found)} code cells define "
            f"unweighted_average_recall, expected one\n  fix: use the commit this script "
            f"was written for (--ref f731b0a)"
        )
    import numpy as np
    import torch
    from torch import nn

    namespace = {"np": np, "torch": torch, "nn": nn, "__name__": "meb_table10"}
    # the notebook cell is meb's code, run as its notebook runs it
    exec(compile(found[0], f"{UAR_NOTEBOOK} (cell)", "exec"), namespace)
    encoder = namespace["OneHotEncoder"]

    def one_hot_encoder(*args, sparse=None, **kwargs):  # sklearn >= 1.4 names it sparse_output
        if sparse is not None:
            kwargs["sparse_output"] = sparse
        return encoder(*args, **kwargs)

    namespace["OneHotEncoder"] = one_hot_encoder
    return {"metrics": module, "UAR": namespace["UAR"]}


def multilabel_cases():
    """(name, seed, labels [N, A] 0/1, logits [N, A]) for the multi-label metrics."""
    import numpy as np

    def draw(seed, n, a, empty=0):
        rng = np.random.default_rng(seed)
        rate = rng.uniform(0.05, 0.6, a)
        rate[:empty] = 0  # AUs without a positive label
        labels = (rng.random((n, a)) < rate).astype(np.int64)
        skill = rng.uniform(0, 2.5, a)
        logits = np.round(rng.normal(size=(n, a)) + skill * (2 * labels - 1), 2)
        logits[rng.random((n, a)) < 0.03] = 0.0  # exactly at the threshold
        return labels, logits

    cases = []
    for seed, n, a, empty in [
        (0, 40, 12, 0),
        (1, 120, 12, 2),
        (2, 7, 5, 1),
        (3, 60, 3, 0),
        (4, 25, 8, 3),
        (5, 2, 4, 0),
        (6, 90, 6, 1),
    ]:
        cases.append((f"random_{seed}", seed, *draw(seed, n, a, empty)))
    labels, _ = draw(10, 30, 5, 1)
    sure = np.where(labels == 1, 1.0, -1.0)
    cases.append(("all_correct", 10, labels, sure))
    cases.append(("all_wrong", 10, labels, -sure))
    zeros = np.zeros((12, 4), dtype=np.int64)
    cases.append(("never_present_never_predicted", 11, zeros, np.full((12, 4), -1.5)))
    predicted = np.full((12, 4), -1.5)
    predicted[[0, 3, 5], [1, 1, 2]] = 0.7
    cases.append(("never_present_some_predicted", 12, zeros, predicted))
    ones = np.ones((9, 3), dtype=np.int64)
    cases.append(("always_present", 13, ones, np.full((9, 3), 2.0)))
    cases.append(("logits_exactly_zero", 14, draw(14, 20, 4)[0], np.zeros((20, 4))))
    lab1, log1 = draw(15, 30, 1)
    cases.append(("one_au", 15, lab1, log1))
    return cases


def multiclass_cases():
    """(name, seed, classes, labels [N], predictions [N], subjects [N])."""
    import numpy as np

    cases = []
    for seed, n, c, subjects, absent in [
        (20, 60, 3, 6, False),
        (21, 150, 5, 12, False),
        (22, 30, 5, 4, True),
        (23, 90, 3, 9, False),
        (24, 45, 5, 7, True),
        (25, 12, 3, 3, False),
    ]:
        rng = np.random.default_rng(seed)
        present = c - 1 if absent else c  # with absent: the last class never in the labels
        labels = rng.integers(0, present, n)
        labels[:present] = np.arange(present)  # every other class occurs
        preds = np.where(rng.random(n) < 0.55, labels, rng.integers(0, c, n))
        subject = np.sort(rng.integers(0, subjects, n))
        cases.append((f"random_{seed}", seed, c, labels, preds, subject))
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 1])
    cases.append(("all_correct", 26, 3, labels, labels.copy(), np.array([0, 0, 0, 1, 1, 1, 2, 2])))
    cases.append(("all_wrong", 27, 3, labels, (labels + 1) % 3, np.array([0, 0, 0, 1, 1, 1, 2, 2])))
    return cases


def record(repo: Path, out: Path, ref: str) -> Path:
    require("numpy", "sklearn", "torch")
    import numpy as np
    import sklearn
    import torch

    commit = resolve(repo, ref, "--ref")
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's UndefinedMetricWarning on 0/0 F1
        meb = load_meb(repo, commit, Path(tmp))
        m = meb["metrics"]
        binary, macro = m.MultiLabelF1Score(), m.MultiLabelF1Score(average="macro")
        multilabel = []
        for name, seed, labels, logits in multilabel_cases():
            outputs = torch.tensor(logits, dtype=torch.float64)
            multilabel.append(
                {
                    "name": name,
                    "seed": seed,
                    "labels": ["".join(map(str, row)) for row in labels.tolist()],
                    "logits": logits.tolist(),
                    "meb_binary": [float(v) for v in binary(labels, outputs)],
                    "meb_macro": [float(v) for v in macro(labels, outputs)],
                }
            )
        f1, uar = m.MultiClassF1Score(), meb["UAR"]()
        multiclass = []
        for name, seed, c, labels, preds, subject in multiclass_cases():
            outputs = torch.nn.functional.one_hot(torch.tensor(preds), c).double()
            try:
                meb_uar: float | str = float(uar(labels, outputs))
            except ValueError as exc:  # a predicted class the labels lack
                meb_uar = f"error: {str(exc).splitlines()[0]}"
            folds = [
                float(f1(labels[subject == s], outputs[torch.tensor(subject == s)]))
                for s in np.unique(subject)
            ]
            multiclass.append(
                {
                    "name": name,
                    "seed": seed,
                    "classes": c,
                    "labels": labels.tolist(),
                    "predictions": preds.tolist(),
                    "subjects": subject.tolist(),
                    "meb_f1_macro": float(f1(labels, outputs)),
                    "meb_uar": meb_uar,
                    "meb_fold_f1": folds,
                    "meb_fold_f1_mean": float(np.mean(folds)),
                }
            )
    data = {
        "source": {
            "repository": "tvaranka/meb",
            "ref": ref,
            "commit": commit,
            "files": [METRICS, f"{UAR_NOTEBOOK} (the cell defining unweighted_average_recall)"],
            "numpy": np.__version__,
            "scikit_learn": sklearn.__version__,
            "torch": torch.__version__,
            "written_by": "tools/record_meb_metrics.py",
        },
        "multilabel": multilabel,
        "multiclass": multiclass,
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / "metrics.json"
    tmp_path = path.with_name(path.name + ".tmp")
    tmp_path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    tmp_path.replace(path)  # atomic
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repo", type=Path, required=True, help="a git clone of tvaranka/meb")
    ap.add_argument(
        "--out",
        type=Path,
        default=ROOT / "tests" / "fixtures" / "meb_metrics",
        help="folder for metrics.json (default: %(default)s)",
    )
    ap.add_argument("--ref", default="HEAD", help="branch/commit to read (default: %(default)s)")
    args = ap.parse_args(argv)
    repo = args.repo.expanduser()
    try:
        check_checkout(repo, "https://github.com/tvaranka/meb")
        path = record(repo, args.out, args.ref)
    except Failure as exc:
        print(f"record_meb_metrics: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
