"""The box branch of a RoI head, one stage of it: what OHEM scores with."""
from dataclasses import dataclass
from typing import Optional, Sequence

import torch
from mmdet.models.roi_heads import BaseRoIHead
from torch import Tensor

from .selection import LOSS_TERMS, per_roi_loss


@dataclass(frozen=True)
class BoxBranch:
    """The box branch of ``roi_head``, or of its ``stage`` in a cascade.

    OHEM scores RoIs through the head's own ``_bbox_forward`` (so a head
    that overrides it, as Double-Head does, is scored as it trains) and
    ranks them by the box head's own loss (:func:`~.selection.per_roi_loss`).

    Args:
        roi_head (BaseRoIHead): A ``StandardRoIHead`` or a subclass, or a
            ``CascadeRoIHead`` (it has ``num_stages``).
        stage (int, optional): The stage of a cascade; None otherwise.
    """
    roi_head: BaseRoIHead
    stage: Optional[int] = None

    @classmethod
    def of(cls, roi_head: BaseRoIHead) -> 'BoxBranch':
        """The branch a sampler built by ``roi_head`` serves: a cascade
        builds stage ``i``'s sampler with ``current_stage == i``."""
        if hasattr(roi_head, 'num_stages'):
            return cls(roi_head, roi_head.current_stage)
        return cls(roi_head)

    def _pick(self, module):
        return module if self.stage is None else module[self.stage]

    @property
    def bbox_head(self):
        return self._pick(self.roi_head.bbox_head)

    @property
    def roi_extractor(self):
        return self._pick(self.roi_head.bbox_roi_extractor)

    @property
    def train_cfg(self):
        return self._pick(self.roi_head.train_cfg)

    @property
    def name(self) -> str:
        where = '' if self.stage is None else f' (stage {self.stage})'
        return (f'{type(self.roi_head).__name__}{where} with '
                f'{type(self.bbox_head).__name__}')

    def forward(self, x: Sequence[Tensor], rois: Tensor) -> dict:
        """The head's own ``_bbox_forward``: ``cls_score``, ``bbox_pred``."""
        if self.stage is None:
            return self.roi_head._bbox_forward(x, rois)
        return self.roi_head._bbox_forward(self.stage, x, rois)

    def check_rankable(self, loss_terms: Sequence[str] = LOSS_TERMS) -> None:
        """Stop at build time if the box head's loss cannot rank RoIs.

        Runs :func:`~.selection.per_roi_loss` on three made-up RoIs (one
        foreground, two background) with the head's own loss modules.

        Raises:
            ValueError: Naming the head, its losses and the choices.
        """
        bbox_head = self.bbox_head
        num_classes = bbox_head.num_classes
        if getattr(bbox_head, 'custom_cls_channels', False):
            cls_channels = bbox_head.loss_cls.get_cls_channels(num_classes)
        else:
            cls_channels = num_classes + 1
        box_dim = bbox_head.bbox_coder.encode_size
        reg_dim = box_dim * (1
                             if bbox_head.reg_class_agnostic else num_classes)
        rois = torch.tensor([[0., 0., 0., 8., 8.], [0., 2., 2., 10., 12.],
                             [0., 4., 4., 12., 12.]])
        labels = torch.tensor([0, num_classes, num_classes])
        bbox_targets = torch.zeros(3, box_dim)  # deltas
        if bbox_head.reg_decoded_bbox:
            bbox_targets = rois[:, 1:]  # boxes
        bbox_weights = (labels == 0).float()[:, None].expand(3, box_dim)
        targets = (labels, torch.ones(3), bbox_targets, bbox_weights)
        try:
            # made-up scores that leave the global RNG alone (it seeds
            # the weights initialised after the build)
            scores = torch.linspace(-1., 1., 3 * cls_channels).view(3, -1)
            losses = per_roi_loss(bbox_head, scores, torch.zeros(3, reg_dim),
                                  rois, targets, loss_terms)
            ok = losses.shape == (3, ) and bool(torch.isfinite(losses).all())
            problem = f'gave {losses.tolist()}'
        except Exception as error:  # any failure of the head's own loss
            ok, problem = False, f'failed: {type(error).__name__}: {error}'
        if not ok:
            raise ValueError(
                f'OnlineHardExampleSampler ranks RoIs by the box head\'s own '
                f'loss taken per RoI (reduction_override=\'none\'), but for '
                f'{self.name} (loss_cls {type(bbox_head.loss_cls).__name__}, '
                f'loss_bbox {type(bbox_head.loss_bbox).__name__}) that '
                f'{problem}. Rank by fewer terms (loss_terms=(\'cls\', ) '
                f'skips loss_bbox), give the head a loss that can be left '
                f'unreduced, or use mmdet\'s OHEMSampler.')
