"""The read-only copy of the RoI network: every RoI's loss, no graph.

It *is* the RoI head (the trainable copy's weights, its own ``_bbox_forward``
and loss) under ``torch.no_grad``, run in chunks of RoIs that bound its
memory whatever the number of proposals; its forward may run in bf16/fp16,
the ranking loss stays fp32.
"""
import contextlib
import functools
import logging
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import torch
from mmdet.models.roi_heads import BaseRoIHead
from mmengine.logging import print_log
from torch import Tensor

from ..ops.bf16 import cpu_has_bf16
from ..ops.roi_align import readonly_roi_layer
from .branch import BoxBranch
from .selection import LOSS_TERMS, per_roi_loss

MODES = ('train', 'eval')
DTYPES = {
    None: None,
    'float32': None,
    'bfloat16': torch.bfloat16,
    'float16': torch.float16,
}


@contextlib.contextmanager
def _train_mode(roi_head: BaseRoIHead, train: bool):
    """Run the head in train or eval mode; restore its mode afterwards."""
    was_training = roi_head.training
    roi_head.train(train)
    try:
        yield
    finally:
        roi_head.train(was_training)


@dataclass(frozen=True)
class ReadOnlyPass:
    """Per-RoI losses of all RoIs through a box branch, without autograd.

    Args:
        mode (str): ``'train'`` runs the head with dropout active, as the
            authors' Caffe net did; ``'eval'`` without. In ``'train'``
            mode, batch-norm layers of a shared head that are not frozen
            update their statistics in this pass too.
        dtype (torch.dtype, optional): Autocast dtype of the forward
            (bf16 or fp16); None runs it in the features' dtype.
        chunk_size (int): RoIs per forward.
        loss_terms (tuple[str]): Terms of the ranking loss; see
            :func:`~mmdet_ohem.ohem.selection.per_roi_loss`.
    """
    mode: str = 'train'
    dtype: Optional[torch.dtype] = None
    chunk_size: int = 1024
    loss_terms: Tuple[str, ...] = LOSS_TERMS

    def __call__(self,
                 branch: BoxBranch,
                 x: Sequence[Tensor],
                 rois: Tensor,
                 targets: Tuple[Tensor, ...],
                 keep_outputs: bool = False) -> Tuple[Tensor, dict]:
        """The loss of every RoI, through the head's own forward and loss.

        Args:
            branch (BoxBranch): The box branch that scores RoIs.
            x (Sequence[Tensor]): Multi-level features, each (N, C, H, W).
            rois (Tensor): (n, 5) RoIs.
            targets (tuple[Tensor]): The box head's ``get_targets`` of the
                RoIs (``concat=True``).
            keep_outputs (bool): Also return the head's fp32 ``cls_score``
                and ``bbox_pred`` of every RoI (a cascade refines the boxes
                of the next stage with them).

        Returns:
            tuple[Tensor, dict]: (n, ) fp32 losses, and the outputs (empty
            unless ``keep_outputs``).
        """
        device = rois.device.type
        if device == 'cpu' and self.dtype == torch.bfloat16:
            _warn_if_no_cpu_bf16()
        autocast = contextlib.nullcontext()
        if self.dtype is not None:
            autocast = torch.autocast(device_type=device, dtype=self.dtype)
        losses, outputs = [], dict(cls_score=[], bbox_pred=[])
        # One autocast region for all chunks: its cache casts each weight
        # once per pass, not once per chunk. The RoI layer is swapped for
        # the CPU gather (where it applies) inside it.
        with torch.no_grad(), _train_mode(branch.roi_head,
                                          self.mode == 'train'), autocast, \
                readonly_roi_layer(branch.roi_extractor, x) as gather:
            for start in range(0, len(rois), self.chunk_size):
                part = slice(start, start + self.chunk_size)
                if gather is not None:  # pool into the last chunk's memory
                    gather.next_chunk()
                out = branch.forward(x, rois[part])
                chunk_targets = [t[part] for t in targets]
                with torch.autocast(device, enabled=False):
                    losses.append(
                        per_roi_loss(branch.bbox_head, out['cls_score'],
                                     out['bbox_pred'], rois[part],
                                     chunk_targets, self.loss_terms))
                if keep_outputs:
                    for key, value in outputs.items():
                        value.append(out[key].float())
        if not losses:  # no RoI at all
            empty = rois.new_zeros(0)
            return empty, {k: empty for k in outputs} if keep_outputs else {}
        outputs = {k: torch.cat(v) for k, v in outputs.items() if v}
        return torch.cat(losses), outputs


@functools.lru_cache(maxsize=None)
def _warn_if_no_cpu_bf16() -> None:
    """Once per process: say that bf16 is slow on this CPU."""
    if not cpu_has_bf16():
        print_log(
            "OHEM's read-only pass runs in bfloat16 (readonly_dtype="
            "'bfloat16'), but this CPU has no bf16 matrix units (AVX512-BF16 "
            'or AMX): bf16 products are emulated and the pass is several '
            'times slower than in fp32 (x8 with VGG16 on a 2-core AMD '
            "EPYC). Set readonly_dtype=None on this machine.",
            logger='current',
            level=logging.WARNING)
