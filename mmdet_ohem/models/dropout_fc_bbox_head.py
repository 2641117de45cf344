"""The fully connected box head of Fast R-CNN, with dropout."""
from typing import Sequence, Tuple

import torch.nn as nn
from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead
from mmdet.registry import MODELS
from torch import Tensor

from .fast_dropout import FastDropout


@MODELS.register_module()
class DropoutFCBBoxHead(ConvFCBBoxHead):
    """fc6 -> ReLU -> dropout -> fc7 -> ReLU -> dropout -> cls / deltas.

    mmdet's ``Shared2FCBBoxHead`` has neither dropout nor fcs of different
    widths, both of which Fast R-CNN's VGG16 (4096, 4096) and VGG_CNN_M_1024
    (4096, 1024) heads need. Keys stay mmdet's (``shared_fcs.0`` is fc6).

    Args:
        fc_channels (Sequence[int]): Width of each shared fc layer.
        dropout_ratio (float): Dropout after each of them (0 disables);
            :class:`~mmdet_ohem.models.FastDropout`, whose CPU masks cost
            a fifth of ``nn.Dropout``'s.
        **kwargs: Passed to :class:`BBoxHead` (``in_channels``,
            ``roi_feat_size``, ``num_classes``, coder, losses, ...).
    """

    def __init__(self,
                 fc_channels: Sequence[int] = (4096, 4096),
                 dropout_ratio: float = 0.5,
                 **kwargs) -> None:
        if not fc_channels:
            raise ValueError('DropoutFCBBoxHead needs at least one fc layer')
        if kwargs.get('with_avg_pool', False):
            raise ValueError('DropoutFCBBoxHead flattens the pooled RoI '
                             'features; with_avg_pool is not supported')
        self.fc_channels = tuple(fc_channels)
        super().__init__(
            num_shared_fcs=len(self.fc_channels),
            fc_out_channels=self.fc_channels[-1],
            **kwargs)
        self.dropout = FastDropout(dropout_ratio)

    def _add_conv_fc_branch(self,
                            num_branch_convs: int,
                            num_branch_fcs: int,
                            in_channels: int,
                            is_shared: bool = False) -> tuple:
        """The shared fcs with their own widths; no separate branches."""
        if not is_shared:
            return nn.ModuleList(), nn.ModuleList(), in_channels
        fcs = nn.ModuleList()
        last_dim = in_channels * self.roi_feat_area
        for channels in self.fc_channels:
            fcs.append(nn.Linear(last_dim, channels))
            last_dim = channels
        return nn.ModuleList(), fcs, last_dim

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        x = x.flatten(1)
        for fc in self.shared_fcs:
            x = self.dropout(self.relu(fc(x)))
        cls_score = self.fc_cls(x) if self.with_cls else None
        bbox_pred = self.fc_reg(x) if self.with_reg else None
        return cls_score, bbox_pred
