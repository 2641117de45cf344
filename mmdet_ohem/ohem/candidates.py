"""The candidates of OHEM: every RoI of an image that may be mined."""
from typing import List

import torch
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.structures.bbox import cat_boxes, get_box_tensor
from mmdet.utils import InstanceList
from mmengine.structures import InstanceData
from torch import Tensor

from ..errors import NonFiniteInputError


class CandidateRoIs(SamplingResult):
    """All RoIs of an image that OHEM may pick, GT boxes first, as a
    ``SamplingResult`` that remembers what it was built from.

    Positives are every valid RoI assigned to a GT box, negatives every valid
    RoI assigned to background; RoIs the assigner ignored (-1) are in
    neither, nor are degenerate boxes (zero or negative width or height,
    non-finite coordinates), counted in ``num_invalid`` (logged as
    ``ohem_invalid_rois``). A non-finite GT box raises
    ``NonFiniteInputError``: it has already made the assignment wrong.

    Args:
        assign_result (AssignResult): Assignment of ``priors``; the GT boxes
            are added to it when they are added to the candidates.
        pred_instances (InstanceData): ``priors`` (n, 4) proposals.
        gt_instances (InstanceData): ``bboxes`` (k, 4), ``labels`` (k, ).
        add_gt_as_proposals (bool): Add the GT boxes to the candidates.
    """

    def __init__(self,
                 assign_result: AssignResult,
                 pred_instances: InstanceData,
                 gt_instances: InstanceData,
                 add_gt_as_proposals: bool = True) -> None:
        priors = pred_instances.priors
        gt_bboxes = gt_instances.bboxes
        num_bad_gt = int(
            (~torch.isfinite(get_box_tensor(gt_bboxes))).any(dim=1).sum())
        if num_bad_gt:
            raise NonFiniteInputError(
                f'OnlineHardExampleSampler: {num_bad_gt} of {len(gt_bboxes)} '
                'GT boxes of an image have non-finite coordinates, so the '
                'IoUs of its RoIs with them are NaN. Fix the annotations; '
                'NonFiniteLossHook names the image.')
        gt_flags = priors.new_zeros((priors.shape[0], ), dtype=torch.uint8)
        if add_gt_as_proposals and len(gt_bboxes) > 0:
            priors = cat_boxes([gt_bboxes, priors], dim=0)
            assign_result.add_gt_(gt_instances.labels)
            gt_flags = torch.cat([gt_flags.new_ones(len(gt_bboxes)), gt_flags])
        boxes = get_box_tensor(priors)
        valid = (
            torch.isfinite(boxes).all(dim=1)
            & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]))
        gt_inds = assign_result.gt_inds
        pos_inds = torch.nonzero((gt_inds > 0) & valid).view(-1)
        neg_inds = torch.nonzero((gt_inds == 0) & valid).view(-1)
        self._build_args = (priors, gt_bboxes, assign_result, gt_flags)
        super().__init__(pos_inds, neg_inds, *self._build_args)
        self.num_invalid = int((~valid).sum())

    def subset(self, keep: Tensor) -> SamplingResult:
        """The sampling result of some candidates.

        Args:
            keep (Tensor): (k, ) indices into ``priors``, the positives
                followed by the negatives.
        """
        num_pos = len(self.pos_inds)
        return SamplingResult(self.pos_inds[keep[keep < num_pos]],
                              self.neg_inds[keep[keep >= num_pos] - num_pos],
                              *self._build_args)


def assign_candidates(results_list: InstanceList, gts: InstanceList,
                      gts_ignore: InstanceList, assigner,
                      add_gt_as_proposals: bool) -> List[CandidateRoIs]:
    """Assign every proposal of each image; all are candidates.

    Renames each ``results_list`` entry's ``bboxes`` to ``priors``, as
    mmdet's RoI heads do before they assign.

    Args:
        results_list (list[InstanceData]): Proposals of each image.
        gts, gts_ignore (list[InstanceData]): GT and ignored boxes.
        assigner: The RoI head's (or stage's) assigner.
        add_gt_as_proposals (bool): Add the GT boxes to the candidates.
    """
    candidates = []
    for results, gt, gt_ignore in zip(results_list, gts, gts_ignore):
        results.priors = results.pop('bboxes')
        assign = assigner.assign(results, gt, gt_ignore)
        candidates.append(
            CandidateRoIs(assign, results, gt, add_gt_as_proposals))
    return candidates
