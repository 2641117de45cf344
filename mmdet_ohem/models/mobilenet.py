"""MobileNetV2 cut after its last output, for Fast R-CNN's RoI features."""
from mmdet.models.backbones import MobileNetV2
from mmdet.registry import MODELS


@MODELS.register_module()
class MobileNetV2Trunk(MobileNetV2):
    """mmdet's ``MobileNetV2`` without the layers past its last output.

    Fast R-CNN pools its RoIs from one feature map; ``out_indices=(4, )``
    gives ``layer5``'s (96 channels, stride 16), and ``layer6``,
    ``layer7`` and ``conv2`` are then neither built nor run (mmdet's
    backbone runs all eight layers whatever ``out_indices`` says). A whole
    ImageNet checkpoint still loads: the keys of the layers left out are
    ignored.

    Args:
        **kwargs: Those of mmdet's ``MobileNetV2``.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        last = max(self.out_indices)
        self._left_out = tuple(self.layers[last + 1:])
        for name in self._left_out:
            delattr(self, name)
        self.layers = self.layers[:last + 1]
        self._register_load_state_dict_pre_hook(self._drop_left_out_keys)

    def _drop_left_out_keys(self, state_dict, prefix, *args) -> None:
        for key in list(state_dict):
            if key.startswith(prefix) and \
                    key[len(prefix):].split('.')[0] in self._left_out:
                del state_dict[key]

    def train(self, mode: bool = True) -> 'MobileNetV2Trunk':
        # mmdet's returns None; nn.Module.train returns the module
        super().train(mode)
        return self
