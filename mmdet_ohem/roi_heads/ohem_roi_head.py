"""The two-copy RoI head of OHEM (Shrivastava et al., CVPR 2016, Fig. 2)."""
import inspect
from typing import List, Tuple

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from torch import Tensor

from ..samplers import NonFiniteRoILossError, OnlineHardExampleSampler


@MODELS.register_module()
class OHEMRoIHead(StandardRoIHead):
    """``StandardRoIHead`` that trains only on the hard RoIs of a batch.

    Per training step, a read-only copy of the RoI network (the same
    weights, no autograd graph) scores every candidate RoI of every image in
    one batched, chunked pass; the hard RoIs are picked by loss with NMS
    de-duplication, and only they go through the trainable copy's forward
    and backward. All settings live in ``train_cfg.rcnn.sampler``, which must
    be an :class:`~mmdet_ohem.samplers.OnlineHardExampleSampler`; the
    result equals that sampler's in a plain ``StandardRoIHead``, at one
    read-only pass per batch instead of one per image.

    Mask heads are not supported: the paper mines RoIs for the box head.
    """

    def __init__(self, **kwargs) -> None:
        valid = list(inspect.signature(super().__init__).parameters)
        unknown = sorted(set(kwargs) - set(valid))
        if unknown:
            raise TypeError(f'OHEMRoIHead got unknown keys {unknown}; valid '
                            f'keys are {valid}')
        super().__init__(**kwargs)
        if self.with_mask:
            raise ValueError('OHEMRoIHead mines RoIs for the box head only; '
                             'a mask head is not supported')
        if self.with_bbox:
            self.bbox_roi_extractor.register_forward_pre_hook(
                _pool_bfloat16_in_fp32)

    def init_assigner_sampler(self) -> None:
        """Build the assigner and the sampler, deferring its selection."""
        super().init_assigner_sampler()
        if self.bbox_sampler is None:
            return  # built for testing only
        if not isinstance(self.bbox_sampler, OnlineHardExampleSampler):
            raise TypeError('OHEMRoIHead needs train_cfg.rcnn.sampler of type '
                            "'OnlineHardExampleSampler', got "
                            f"'{type(self.bbox_sampler).__name__}'")
        # Per-image sampling only gathers candidates; bbox_loss mines them.
        self.bbox_sampler.defer_selection = True

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: SampleList) -> dict:
        """Losses of the hard RoIs; see ``StandardRoIHead.loss``."""
        try:
            return super().loss(x, rpn_results_list, batch_data_samples)
        except NonFiniteRoILossError as err:
            names = [s.metainfo.get('img_path') for s in batch_data_samples]
            raise err.with_names(names) from None

    def bbox_loss(self, x: Tuple[Tensor],
                  sampling_results: List[SamplingResult]) -> dict:
        """Mine the hard RoIs among all candidates, then train on them.

        Args:
            x (tuple[Tensor]): Multi-level features, each (N, C, H, W).
            sampling_results (list[CandidateRoIs]): Every candidate RoI of
                each image, from the deferred sampler.

        Returns:
            dict: As ``StandardRoIHead.bbox_loss``, for the hard RoIs.
        """
        hard_results = self.bbox_sampler.mine(self, x, sampling_results)
        return super().bbox_loss(x, hard_results)


def _pool_bfloat16_in_fp32(extractor, args: tuple) -> tuple:
    """Give the RoI extractor fp32 features where they are bfloat16.

    mmcv's RoIAlign and RoIPool kernels (CPU and CUDA) have no bfloat16
    version, so bf16 autocast (``--amp`` with ``dtype='bfloat16'``) would
    fail there; the box head after them still runs in bf16.
    """
    feats, *rest = args
    if any(f.dtype == torch.bfloat16 for f in feats):
        feats = tuple(f.float() for f in feats)
    return (feats, *rest)
