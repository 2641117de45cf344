"""The read-only copy of the RoI network: every RoI's loss, no graph.

It *is* the RoI head (the trainable copy's weights) under ``torch.no_grad``,
run in chunks of RoIs that bound its memory whatever the number of
proposals; its forward may run in bf16/fp16, the ranking loss stays fp32.
"""
import contextlib
import functools
import logging
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmengine.logging import print_log
from torch import Tensor

from ..ops.bf16 import cpu_has_bf16
from ..ops.roi_align import readonly_roi_pooler
from .selection import LOSS_TERMS, per_roi_loss

MODES = ('train', 'eval')
DTYPES = {
    None: None,
    'float32': None,
    'bfloat16': torch.bfloat16,
    'float16': torch.float16,
}


@contextlib.contextmanager
def _train_mode(roi_head: StandardRoIHead, train: bool):
    """Run the head in train or eval mode; restore its mode afterwards."""
    was_training = roi_head.training
    roi_head.train(train)
    try:
        yield
    finally:
        roi_head.train(was_training)


@dataclass(frozen=True)
class ReadOnlyPass:
    """Per-RoI losses of all RoIs through a RoI head, without autograd.

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
        beta (float): Smooth-L1 transition point of the ranking loss.
    """
    mode: str = 'train'
    dtype: Optional[torch.dtype] = None
    chunk_size: int = 1024
    loss_terms: Tuple[str, ...] = LOSS_TERMS
    beta: float = 1.0

    def __call__(self, roi_head: StandardRoIHead, x: Sequence[Tensor],
                 rois: Tensor, labels: Tensor, bbox_targets: Tensor) -> Tensor:
        """The loss of every RoI.

        Args:
            roi_head (StandardRoIHead): Head whose box branch scores RoIs.
            x (Sequence[Tensor]): Multi-level features, each (N, C, H, W).
            rois (Tensor): (n, 5) RoIs.
            labels (Tensor): (n, ) targets, background = num_classes.
            bbox_targets (Tensor): (n, 4) encoded regression targets.

        Returns:
            Tensor: (n, ) fp32 losses.
        """
        bbox_head = roi_head.bbox_head
        if 'bbox' in self.loss_terms and bbox_head.reg_decoded_bbox:
            raise ValueError(
                'OHEM ranks RoIs by smooth-L1 on encoded deltas, but the box '
                'head regresses decoded boxes (reg_decoded_bbox=True); use '
                "loss_terms=('cls', )")
        device = rois.device.type
        if device == 'cpu' and self.dtype == torch.bfloat16:
            _warn_if_no_cpu_bf16()
        autocast = contextlib.nullcontext()
        if self.dtype is not None:
            autocast = torch.autocast(device_type=device, dtype=self.dtype)
        losses = []
        # One autocast region for all chunks: its cache casts each weight
        # once per pass, not once per chunk.
        with torch.no_grad(), _train_mode(roi_head, self.mode == 'train'), \
                autocast:
            extractor = roi_head.bbox_roi_extractor
            pool = readonly_roi_pooler(extractor, x)
            if pool is None:
                pool = functools.partial(extractor, x[:extractor.num_inputs])
            for start in range(0, len(rois), self.chunk_size):
                part = slice(start, start + self.chunk_size)
                feats = pool(rois[part])
                if roi_head.with_shared_head:
                    feats = roi_head.shared_head(feats)
                cls_score, bbox_pred = bbox_head(feats)
                with torch.autocast(device, enabled=False):
                    losses.append(
                        per_roi_loss(cls_score, bbox_pred, labels[part],
                                     bbox_targets[part], bbox_head.num_classes,
                                     bbox_head.reg_class_agnostic,
                                     self.loss_terms, self.beta))
        if not losses:
            return rois.new_zeros(0)
        return torch.cat(losses)


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
