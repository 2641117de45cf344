"""bfloat16 where mmcv's kernels or the CPU fall short of it."""
from typing import Optional, Tuple

import torch
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class FP32PoolRoIExtractor(SingleRoIExtractor):
    """mmdet's ``SingleRoIExtractor``, pooling bfloat16 features in fp32.

    mmcv's RoIAlign and RoIPool kernels (CPU and CUDA) have no bfloat16
    version, so under bf16 autocast (``--amp`` with
    ``optim_wrapper.dtype='bfloat16'``) pooling the backbone's bf16 features
    fails. This extractor pools an fp32 copy of them; the box head after it
    still runs in bf16. Any other features go through unchanged, so any RoI
    head may use it in place of ``SingleRoIExtractor``::

        bbox_roi_extractor=dict(type='FP32PoolRoIExtractor', ...)
    """

    def forward(self,
                feats: Tuple[Tensor],
                rois: Tensor,
                roi_scale_factor: Optional[float] = None) -> Tensor:
        """Pool ``rois`` from ``feats``.

        Args:
            feats (tuple[Tensor]): Multi-level features, each (N, C, H, W).
            rois (Tensor): (n, 5) RoIs (batch index, x1, y1, x2, y2).
            roi_scale_factor (float, optional): Scale of the RoIs about
                their centres.

        Returns:
            Tensor: (n, C, out_h, out_w) pooled features, fp32 where
            ``feats`` are bf16.
        """
        if any(f.dtype == torch.bfloat16 for f in feats):
            feats = tuple(f.float() for f in feats)
        return super().forward(feats, rois, roi_scale_factor)


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16, AMX)."""
    return torch.ops.mkldnn._is_mkldnn_bf16_supported()
