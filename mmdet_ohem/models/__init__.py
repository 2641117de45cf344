from .dropout_fc_bbox_head import DropoutFCBBoxHead
from .fast_dropout import FastDropout
from .mobilenet import MobileNetV2Trunk
from .tiny_vgg import TinyVGG
from .vgg import VGGCNNM1024, FastRCNNVGG

__all__ = [
    'DropoutFCBBoxHead', 'FastDropout', 'FastRCNNVGG', 'MobileNetV2Trunk',
    'TinyVGG', 'VGGCNNM1024'
]
