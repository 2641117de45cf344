"""Ops that mmcv lacks or runs slowly where this package needs them."""
from .bf16 import FP32PoolRoIExtractor  # registers it in MODELS
from .nms import nms_in_order
from .roi_align import (ChannelsLastRoIAlign, readonly_roi_layer,
                        readonly_roi_pooler)

__all__ = [
    'ChannelsLastRoIAlign', 'FP32PoolRoIExtractor', 'nms_in_order',
    'readonly_roi_layer', 'readonly_roi_pooler'
]
