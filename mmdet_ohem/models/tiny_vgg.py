"""A VGG-style trunk small enough to train on CPU in minutes (the demo)."""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor


@MODELS.register_module()
class TinyVGG(BaseModule):
    """VGG_CNN_M_1024's layout (the small trunk of the OHEM paper) with a
    few channels, so that ``make demo`` trains it from scratch on 2 CPU
    cores: a 7x7 stride-2 conv1 and a 2x2 max-pool, then stages of 3x3 conv
    + ReLU with a 2x2 max-pool between stages and none after the last. Like
    Fast R-CNN's trunks it returns the last stage only.

    With the defaults the stride is 8 and the output has 64 channels.

    Args:
        stem_channels (int): Width of conv1.
        channels (Sequence[int]): Width of each later stage.
        num_convs (Sequence[int]): 3x3 convolutions of each later stage.
        norm_cfg (dict, optional): Norm after each convolution (as in
            torchvision's ``vgg*_bn``); None for none.
        init_cfg (dict, optional): Initialisation; None gives Kaiming
            convolutions.
    """

    def __init__(self,
                 stem_channels: int = 16,
                 channels: Sequence[int] = (32, 64),
                 num_convs: Sequence[int] = (1, 2),
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if len(channels) != len(num_convs) or not channels:
            raise ValueError('TinyVGG needs one conv count per stage, got '
                             f'channels={channels}, num_convs={num_convs}')
        if init_cfg is None:
            init_cfg = dict(type='Kaiming', layer='Conv2d')
        super().__init__(init_cfg)
        layers = [
            ConvModule(
                3, stem_channels, 7, stride=2, padding=3, norm_cfg=norm_cfg)
        ]
        in_channels = stem_channels
        for width, convs in zip(channels, num_convs):
            layers.append(nn.MaxPool2d(2, stride=2))
            for _ in range(convs):
                layers.append(
                    ConvModule(
                        in_channels, width, 3, padding=1, norm_cfg=norm_cfg))
                in_channels = width
        self.features = nn.Sequential(*layers)
        self.out_channels = in_channels

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        return (self.features(x), )
