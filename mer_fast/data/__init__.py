"""Datasets in their owners' layouts -> clip records -> decoded uint8 clips -> packed batches."""

from mer_fast.data.index import ClipIndex, ClipRecord

__all__ = ["ClipIndex", "ClipRecord"]
