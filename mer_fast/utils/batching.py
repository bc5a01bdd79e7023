"""How a training epoch is cut into batches and a batch into micro-batches so that no training
forward pass sees a single clip.

BatchNorm cannot normalise one clip in training ("Expected more than 1 value per channel when
training"), and a run whose training set leaves one clip for the last batch used to stop there,
after its chain steps and earlier folds had run. The rules, shared by the trainer (resident
store and streaming) and the streaming loader so that both cut an epoch alike:

- :func:`batch_sizes`: full batches of ``batch_size``; a remainder of one clip joins the last
  full batch (which then holds ``batch_size + 1``). Every clip is trained on in every epoch, the
  batches depend only on the number of items and the batch size, so runs stay repeatable and
  resumable.
- :func:`micro_sizes`: a batch (or a process's share of it) split into pieces of at most
  ``micro`` clips; a trailing piece of one joins the piece before it.
- Under DDP, :func:`mer_fast.utils.dist.share_bounds` gives no process a share of exactly one
  clip (a batch smaller than twice the number of processes goes to fewer of them).

What remains is a training set of one clip, or ``micro_batch=1`` (which the user chose, and
which works where the network's last feature map of one clip still has several values per
channel): when BatchNorm refuses it, the trainer says which and what to change.
"""

from __future__ import annotations


def batch_sizes(n: int, batch_size: int) -> list[int]:
    """Sizes of the batches of an epoch of ``n`` items (see the module docstring)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    full, rest = divmod(n, batch_size)
    sizes = [batch_size] * full
    if rest == 1 and full > 0:
        sizes[-1] += 1
    elif rest:
        sizes.append(rest)
    return sizes


def micro_sizes(n: int, micro: int) -> list[int]:
    """Sizes of the micro-batches of ``n`` clips, at most ``micro`` each except that a trailing
    piece of one clip joins the one before (``micro + 1``)."""
    return batch_sizes(n, micro)
