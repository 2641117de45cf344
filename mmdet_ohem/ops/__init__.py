"""Ops that mmcv lacks or runs slowly where this package needs them."""
from .roi_align import ChannelsLastRoIAlign, readonly_roi_pooler

__all__ = ['ChannelsLastRoIAlign', 'readonly_roi_pooler']
