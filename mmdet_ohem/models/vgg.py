"""The convolutional trunks of Fast R-CNN (Girshick, ICCV 2015).

Both end at conv5 + ReLU with stride 16 (no pool5): the RoI pooling layer
takes their place, and the fully connected layers live in the box head
(:class:`~mmdet_ohem.models.DropoutFCBBoxHead`).
"""
from typing import Tuple

import torch.nn as nn
from mmcv.cnn import VGG
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor


def _freeze(modules) -> None:
    for module in modules:
        module.eval()
        for param in module.parameters():
            param.requires_grad = False


@MODELS.register_module()
class FastRCNNVGG(VGG, BaseModule):
    """mmcv's VGG up to conv5_3 + ReLU, as the trunk of Fast R-CNN.

    The layers keep torchvision's numbering (``features.0`` is conv1_1,
    ``features.28`` conv5_3), so its ImageNet weights load after
    ``tools/convert_weights.py`` has prefixed them.

    Args:
        depth (int): 11, 13, 16 or 19. Defaults to 16.
        frozen_stages (int): How many stages keep their pretrained weights:
            Fast R-CNN freezes conv1_1 ... conv2_2, i.e. 2. -1 freezes none.
        ceil_mode (bool): Round pooled sizes up, as Caffe does. Defaults to
            False (torchvision's weights were trained flooring).
        init_cfg (dict, optional): Initialisation; None uses mmcv's VGG
            initialisation (Kaiming convolutions).
    """

    def __init__(self,
                 depth: int = 16,
                 frozen_stages: int = 2,
                 ceil_mode: bool = False,
                 init_cfg=None) -> None:
        super().__init__(
            depth,
            out_indices=(4, ),
            frozen_stages=frozen_stages,
            ceil_mode=ceil_mode,
            with_last_pool=False)
        self.init_cfg = init_cfg
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        layers = getattr(self, self.module_name)
        for stage in range(max(self.frozen_stages, 0)):
            _freeze(layers[j] for j in range(*self.range_sub_modules[stage]))

    def init_weights(self) -> None:
        if self.init_cfg is None:
            VGG.init_weights(self)
        else:
            BaseModule.init_weights(self)

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        return (VGG.forward(self, x), )

    def train(self, mode: bool = True) -> 'FastRCNNVGG':
        nn.Module.train(self, mode)
        if mode:
            self._freeze_stages()
        return self


@MODELS.register_module()
class VGGCNNM1024(BaseModule):
    """The VGG_CNN_M_1024 trunk (Chatfield et al., BMVC 2014) of Fast R-CNN.

    conv1 96x7x7/2 + ReLU + LRN + max-pool 3/2, conv2 256x5x5/2 + ReLU + LRN
    + max-pool 3/2, conv3-conv5 512x3x3 + ReLU; stride 16. Pools round up
    as in Caffe; LRN uses Caffe's settings (size 5, alpha 5e-4, beta 0.75,
    k 2). Layer names follow the Caffe model's (``conv1`` ... ``conv5``).
    Its fc6 (4096) and fc7 (1024) are in the box head.

    Args:
        frozen_stages (int): How many conv layers keep their pretrained
            weights; Fast R-CNN freezes conv1, i.e. 1. -1 freezes none.
        init_cfg (dict, optional): Initialisation; None gives Kaiming
            convolutions.
    """

    def __init__(self, frozen_stages: int = 1, init_cfg=None) -> None:
        if init_cfg is None:
            init_cfg = dict(type='Kaiming', layer='Conv2d')
        super().__init__(init_cfg)
        self.frozen_stages = frozen_stages

        def lrn():
            return nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.)

        def pool():
            return nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.conv1 = nn.Conv2d(3, 96, 7, stride=2)
        self.norm1, self.pool1 = lrn(), pool()
        self.conv2 = nn.Conv2d(96, 256, 5, stride=2, padding=1)
        self.norm2, self.pool2 = lrn(), pool()
        self.conv3 = nn.Conv2d(256, 512, 3, padding=1)
        self.conv4 = nn.Conv2d(512, 512, 3, padding=1)
        self.conv5 = nn.Conv2d(512, 512, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        convs = [self.conv1, self.conv2, self.conv3, self.conv4, self.conv5]
        _freeze(convs[:max(self.frozen_stages, 0)])

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        x = self.pool1(self.norm1(self.relu(self.conv1(x))))
        x = self.pool2(self.norm2(self.relu(self.conv2(x))))
        for conv in (self.conv3, self.conv4, self.conv5):
            x = self.relu(conv(x))
        return (x, )

    def train(self, mode: bool = True) -> 'VGGCNNM1024':
        super().train(mode)
        if mode:
            self._freeze_stages()
        return self
