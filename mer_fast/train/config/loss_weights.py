"""The paper's rule for the SBML loss weights (lambda per training view): the paper's own
weights for ``views`` when ``lambdas`` is unset, else the given weights checked (one per view,
non-negative, summing to one, or rescaled with ``normalize_lambdas``). Read by the trainer and,
as a check, by ``TrainConfig.validate``."""

from __future__ import annotations

from mer_fast.errors import ConfigError
from mer_fast.train.config.constants import PAPER_LAMBDAS


def sbml_loss_weights(
    views: str,
    lambdas: tuple[float, ...] | None,
    normalize_lambdas: bool,
    source: str | None = None,
) -> tuple[float, ...]:
    """SBML weights, one per view of ``views``, summing to one; a ConfigError names ``lambdas``
    (``source``: the preset file or "command line") when the given weights break the rule."""
    if lambdas is None:
        if views in PAPER_LAMBDAS:
            return PAPER_LAMBDAS[views]
        return tuple(1.0 / len(views) for _ in views)
    lam = tuple(float(x) for x in lambdas)
    if len(lam) != len(views):
        raise ConfigError(
            f"{len(lam)} loss weights for the {len(views)} views {views!r}",
            file=source,
            field="lambdas",
            fix="give one weight per view, in the order of `views`",
        )
    if any(x < 0 for x in lam) or sum(lam) <= 0:
        raise ConfigError(
            f"weights must be non-negative with a positive sum, got {lam}",
            file=source,
            field="lambdas",
        )
    if abs(sum(lam) - 1.0) > 1e-6:
        if not normalize_lambdas:
            raise ConfigError(
                f"the weights {lam} sum to {sum(lam):.6g}, not 1 (the paper sets the sum of "
                f"each equation's lambdas to one)",
                file=source,
                field="lambdas",
                fix="give weights that sum to 1, or set normalize_lambdas: true to rescale",
            )
        lam = tuple(x / sum(lam) for x in lam)
    return lam
