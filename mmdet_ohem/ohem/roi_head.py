"""The two-copy RoI head of OHEM (Shrivastava et al., CVPR 2016, Fig. 2)."""
import inspect
from typing import List, Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from torch import Tensor

from .candidates import CandidateRoIs, assign_candidates
from .sampler import OnlineHardExampleSampler


class TwoCopyHead:
    """Build-time checks of a two-copy OHEM head (a mixin before the mmdet
    RoI head it extends): known keys, no mask head, and OHEM's sampler for
    the box head (of every stage)."""

    def __init__(self, **kwargs) -> None:
        name = type(self).__name__
        valid = list(inspect.signature(super().__init__).parameters)
        unknown = sorted(set(kwargs) - set(valid))
        if unknown:
            raise TypeError(f'{name} got unknown keys {unknown}; valid keys '
                            f'are {valid}')
        super().__init__(**kwargs)
        if self.with_mask:
            raise ValueError(f'{name} mines RoIs for the box head only; a '
                             'mask head is not supported')

    def init_assigner_sampler(self) -> None:
        """Build the assigners and check that the samplers are OHEM's."""
        super().init_assigner_sampler()
        samplers = self.bbox_sampler
        if not isinstance(samplers, list):  # a cascade has one per stage
            samplers = [] if samplers is None else [samplers]
        for stage, sampler in enumerate(samplers):
            if not isinstance(sampler, OnlineHardExampleSampler):
                where = '' if len(samplers) == 1 else f'[{stage}]'
                raise TypeError(
                    f'{type(self).__name__} needs train_cfg.rcnn{where}.'
                    "sampler of type 'OnlineHardExampleSampler', got "
                    f"'{type(sampler).__name__}'")


@MODELS.register_module()
class OHEMRoIHead(TwoCopyHead, StandardRoIHead):
    """``StandardRoIHead`` that trains only on the hard RoIs of a batch.

    A training step, :meth:`loss`, reads as the paper's figure 2: gather
    every candidate RoI of every image; a read-only copy of the RoI network
    (the same weights, no autograd graph) scores them all in one batched,
    chunked pass and picks the hard ones by loss with NMS de-duplication
    (:meth:`OnlineHardExampleSampler.mine`); only they go through the
    trainable copy's forward and backward. All settings live in
    ``train_cfg.rcnn.sampler``, which must be an ``OnlineHardExampleSampler``;
    the result equals that sampler's in a plain ``StandardRoIHead``, at one
    read-only pass per batch instead of one per image.

    Mask heads are not supported: the paper mines RoIs for the box head.
    """

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: SampleList) -> dict:
        """Losses of the hard RoIs of a batch.

        Args:
            x (tuple[Tensor]): Multi-level features, each (N, C, H, W).
            rpn_results_list (list[InstanceData]): Proposals of each image,
                ``bboxes`` (n, 4).
            batch_data_samples (list[DetDataSample]): With ``gt_instances``
                and, optionally, ``ignored_instances``.

        Returns:
            dict: ``loss_cls``, ``loss_bbox`` and ``acc`` of the hard RoIs.
        """
        candidates = self.gather_candidates(rpn_results_list,
                                            batch_data_samples)
        names = [s.metainfo.get('img_path') for s in batch_data_samples]
        # the read-only copy: score every candidate, keep the hard ones
        hard = self.bbox_sampler.mine(x, candidates, img_names=names)
        # the trainable copy: forward and backward of the hard RoIs only
        return self.bbox_loss(x, hard)['loss_bbox']

    def gather_candidates(
            self, rpn_results_list: InstanceList,
            batch_data_samples: SampleList) -> List[CandidateRoIs]:
        """Every proposal of each image, assigned: the candidates."""
        gts, gts_ignore, _ = unpack_gt_instances(batch_data_samples)
        return assign_candidates(rpn_results_list, gts, gts_ignore,
                                 self.bbox_assigner,
                                 self.bbox_sampler.add_gt_as_proposals)
