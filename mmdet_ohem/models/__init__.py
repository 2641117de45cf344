from .convert import convert_vgg_state_dict
from .dropout_fc_bbox_head import DropoutFCBBoxHead
from .fast_dropout import FastDropout
from .tiny_vgg import TinyVGG
from .vgg import VGGCNNM1024, FastRCNNVGG

__all__ = [
    'convert_vgg_state_dict', 'DropoutFCBBoxHead', 'FastDropout',
    'FastRCNNVGG', 'TinyVGG', 'VGGCNNM1024'
]
