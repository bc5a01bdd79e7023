"""The evaluation layer: which clips a run evaluates, under which labels, in which folds.

A run's *protocol* is its target (one dataset, a ``+``-joined composite such as
``casme2+samm``, or a named one: ``megc2019``, ``cd6me``), its class set (``native``,
``emotion3``, ``objective``, ``5class``), its split (``subject``: leave one subject out;
``dataset``: leave one dataset out) and, for a hold-out database, the datasets it trains on
(``train_on``). The modules:

- :mod:`~mer_fast.protocols.targets`: :class:`~mer_fast.protocols.targets.Protocol` and
  :func:`~mer_fast.protocols.targets.resolve` (every check of the options, before any work);
- :mod:`~mer_fast.protocols.class_sets`: a dataset's clips under a class set, with the clips it
  drops and the objective classes' sources;
- :mod:`~mer_fast.protocols.evaluation`: the evaluation index of a protocol, built from the
  datasets' indexes in a data hub, and its clip length;
- :mod:`~mer_fast.protocols.folds`: the folds of an evaluation index (one mechanism for every
  split, used by the LOSO runner, ``--folds``, Ray and the outputs).

This package imports nothing at import time, so that the training code can import its modules
without an import circle.
"""
