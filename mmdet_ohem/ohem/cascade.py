"""OHEM at every stage of Cascade R-CNN (Cai and Vasconcelos, CVPR 2018)."""
from typing import Tuple

import torch
from mmdet.models.roi_heads import CascadeRoIHead
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from torch import Tensor

from .candidates import assign_candidates
from .roi_head import TwoCopyHead


@MODELS.register_module()
class OHEMCascadeRoIHead(TwoCopyHead, CascadeRoIHead):
    """``CascadeRoIHead`` whose every stage trains on its own hard RoIs.

    Stage ``t`` of a training step gathers its candidates (every proposal of
    every image, plus the GT boxes), assigned with stage ``t``'s IoU
    threshold; its read-only copy scores them all in one pass and picks the
    hard ones by the stage's own loss with NMS de-duplication (stage ``t``'s
    ``OnlineHardExampleSampler``); only they go through the stage's forward
    and backward, weighted by ``stage_loss_weights[t]``. Stage ``t + 1``'s
    proposals are all of stage ``t``'s candidates (GT boxes aside), refined
    by stage ``t``'s regression from the read-only pass: as at test time,
    every box goes through every stage, not only the hard ones (mmdet's
    ``CascadeRoIHead`` with a sampler in ``train_cfg.rcnn`` refines the
    sampled RoIs only, which OHEM would make the hardest ones).

    Every ``train_cfg.rcnn[t].sampler`` must be an
    ``OnlineHardExampleSampler``; mask heads are not supported.
    """

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: SampleList) -> dict:
        """Losses of the hard RoIs of every stage, ``s{t}.loss_cls`` etc.

        Args:
            x (tuple[Tensor]): Multi-level features, each (N, C, H, W).
            rpn_results_list (list[InstanceData]): Proposals of each image,
                ``bboxes`` (n, 4).
            batch_data_samples (list[DetDataSample]): With ``gt_instances``
                and, optionally, ``ignored_instances``.
        """
        gts, gts_ignore, img_metas = unpack_gt_instances(batch_data_samples)
        names = [s.metainfo.get('img_path') for s in batch_data_samples]
        losses = dict()
        results_list = rpn_results_list
        for stage in range(self.num_stages):
            self.current_stage = stage
            sampler = self.bbox_sampler[stage]
            candidates = assign_candidates(results_list, gts, gts_ignore,
                                           self.bbox_assigner[stage],
                                           sampler.add_gt_as_proposals)
            hard, scored = sampler.mine(
                x, candidates, img_names=names, return_scored=True)
            stage_losses = self.bbox_loss(stage, x, hard)['loss_bbox']
            weight = self.stage_loss_weights[stage]
            for name, value in stage_losses.items():
                losses[f's{stage}.{name}'] = (
                    value * weight if 'loss' in name else value)
            if stage < self.num_stages - 1:
                with torch.no_grad():
                    results_list = self.bbox_head[stage].refine_bboxes(
                        candidates, scored, img_metas)
                if results_list is None:  # no candidate at all
                    break
        return losses
