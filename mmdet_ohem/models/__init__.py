from .convert import convert_state_dict
from .dropout_fc_bbox_head import DropoutFCBBoxHead
from .fast_dropout import FastDropout
from .mobilenet import MobileNetV2Trunk
from .tiny_vgg import TinyVGG
from .vgg import VGGCNNM1024, FastRCNNVGG

__all__ = [
    'convert_state_dict', 'DropoutFCBBoxHead', 'FastDropout', 'FastRCNNVGG',
    'MobileNetV2Trunk', 'TinyVGG', 'VGGCNNM1024'
]
