from .convert import convert_vgg_state_dict
from .dropout_fc_bbox_head import DropoutFCBBoxHead
from .vgg import VGGCNNM1024, FastRCNNVGG

__all__ = [
    'convert_vgg_state_dict', 'DropoutFCBBoxHead', 'FastRCNNVGG', 'VGGCNNM1024'
]
