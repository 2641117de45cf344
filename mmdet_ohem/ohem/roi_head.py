"""The two-copy RoI head of OHEM (Shrivastava et al., CVPR 2016, Fig. 2)."""
import inspect
from typing import List, Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from torch import Tensor

from .candidates import CandidateRoIs
from .sampler import OnlineHardExampleSampler


@MODELS.register_module()
class OHEMRoIHead(StandardRoIHead):
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

    def init_assigner_sampler(self) -> None:
        """Build the assigner and check that the sampler is OHEM's."""
        super().init_assigner_sampler()
        if self.bbox_sampler is None:
            return  # built for testing only
        if not isinstance(self.bbox_sampler, OnlineHardExampleSampler):
            raise TypeError('OHEMRoIHead needs train_cfg.rcnn.sampler of type '
                            "'OnlineHardExampleSampler', got "
                            f"'{type(self.bbox_sampler).__name__}'")

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
        """Assign every proposal of each image; all are candidates.

        Renames each ``rpn_results_list`` entry's ``bboxes`` to ``priors``,
        as ``StandardRoIHead.loss`` does.
        """
        gts, gts_ignore, _ = unpack_gt_instances(batch_data_samples)
        candidates = []
        for results, gt, gt_ignore in zip(rpn_results_list, gts, gts_ignore):
            results.priors = results.pop('bboxes')
            assign = self.bbox_assigner.assign(results, gt, gt_ignore)
            candidates.append(
                CandidateRoIs(assign, results, gt,
                              self.bbox_sampler.add_gt_as_proposals))
        return candidates
