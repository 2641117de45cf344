"""What mining shows of itself: log statistics, records and timings."""
import contextlib
from typing import Callable, ContextManager, List, Optional

import torch
from mmengine.dist import all_reduce
from mmengine.logging import MessageHub
from torch import Tensor

from .candidates import CandidateRoIs

STAT_KEYS = ('ohem_num_hard', 'ohem_hard_fg_frac', 'ohem_all_fg_frac',
             'ohem_hard_loss', 'ohem_all_loss')


class MiningInstruments:
    """Records and timings of the sampler's ``mine()``, off by default."""

    _records: Optional[List[dict]] = None
    # nullcontext(name) times nothing
    _stage: Callable[[str], ContextManager] = contextlib.nullcontext

    @contextlib.contextmanager
    def recording(self):
        """Keep what ``mine()`` sees while the block runs.

        Yields:
            list[dict]: Filled with one record per ``mine()`` call (one
            per step in ``OHEMRoIHead``, one per image in the drop-in
            sampler): ``rois`` (n, 5) every candidate RoI (batch index, x1,
            y1, x2, y2), ``losses`` (n, ) their ranking losses, ``labels``
            (n, ) their targets (background = ``num_classes``), ``hard``
            (k, ) the indices of the picked RoIs and ``num_imgs``.
        """
        self._records = records = []
        try:
            yield records
        finally:
            self._records = None

    @contextlib.contextmanager
    def timing(self, stage: Callable[[str], ContextManager]):
        """Time the read-only pass and the selection while the block runs.

        Args:
            stage (callable): ``stage(name)`` returns a context manager
                that times the code it wraps; names are ``'readonly'`` and
                ``'selection'``.
        """
        self._stage = stage
        try:
            yield
        finally:
            self._stage = contextlib.nullcontext

    def _record(self, **record) -> None:
        if self._records is not None:
            self._records.append(record)


def log_mining_stats(losses: Tensor,
                     is_pos: Tensor,
                     keep: Tensor,
                     candidates: List[CandidateRoIs],
                     prefix: str = '') -> None:
    """Log the hard set against all RoIs, over all processes.

    Sums are all-reduced in one small collective per call (one per step
    in ``OHEMRoIHead``, one per image in the drop-in sampler), which
    every process makes even when it has no RoIs.

    Args:
        losses (Tensor): (n, ) ranking losses of all candidates.
        is_pos (Tensor): (n, ) bool, whether each is foreground.
        keep (Tensor): (k, ) indices of the hard ones.
        candidates (list[CandidateRoIs]): One per image.
        prefix (str): Before each key: a cascade stage's ``'s1.'``, as
            mmdet names that stage's losses.
    """
    invalid = sum(c.num_invalid for c in candidates)
    counts = [len(candidates), len(keep), len(losses), invalid]
    sums = [is_pos[keep], is_pos, losses[keep], losses]
    totals = torch.cat([
        losses.new_tensor(counts, dtype=torch.float64),
        torch.stack([x.double().sum() for x in sums])
    ])
    all_reduce(totals)
    (num_imgs, num_hard, num_all, num_invalid, hard_pos, all_pos, hard_loss,
     all_loss) = totals.tolist()
    if num_all == 0:
        return
    stats = (num_hard / num_imgs, hard_pos / max(num_hard, 1),
             all_pos / num_all, hard_loss / max(num_hard, 1),
             all_loss / num_all)
    message_hub = MessageHub.get_current_instance()
    for key, value in zip(STAT_KEYS, stats):
        message_hub.update_scalar(f'train/{prefix}{key}', value)
    message_hub.update_scalar(f'train/{prefix}ohem_invalid_rois',
                              int(num_invalid))
