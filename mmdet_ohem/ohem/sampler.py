"""Online hard example mining as a drop-in ``train_cfg.rcnn.sampler``."""
import inspect
from typing import List, Optional, Sequence

import torch
from mmdet.models.roi_heads import BaseRoIHead
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox2roi
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData
from torch import Tensor

from ..errors import NonFiniteRoILossError
from .branch import BoxBranch
from .candidates import CandidateRoIs
from .instruments import MiningInstruments, log_mining_stats
from .readonly import DTYPES, MODES, ReadOnlyPass
from .selection import LOSS_TERMS, select_hard_examples


@TASK_UTILS.register_module()
class OnlineHardExampleSampler(MiningInstruments):
    """Online hard example mining (Shrivastava et al., CVPR 2016).

    Every RoI of an image (proposals, plus GT boxes when
    ``add_gt_as_proposals``) goes through the box branch of the head that
    built the sampler (``context``), run as a read-only copy that keeps no
    autograd graph (:class:`~.readonly.ReadOnlyPass`). RoIs are ranked by
    their own loss, de-duplicated by NMS on that loss, and the ``num``
    hardest per image are trained (:func:`~.selection.select_hard_examples`),
    with no foreground:background ratio unless the optional caps ask for
    one. The background range is the assigner's: the paper's OHEM uses
    ``MaxIoUAssigner(neg_iou_thr=0.5)``, i.e. bg_lo = 0. In mmdet's
    ``StandardRoIHead``, :meth:`sample` mines each image on its own;
    :class:`~.roi_head.OHEMRoIHead` calls :meth:`mine` once per batch.

    Args:
        num (int): Hard RoIs per image (paper: B / N = 128 / 2 = 64).
        nms_thr (float, optional): IoU of the loss-NMS that removes
            near-duplicate RoIs (paper: 0.7). None turns it off.
        nms_class_aware (bool): Run that NMS among RoIs of the same assigned
            label only, as the authors' code does. False: among all RoIs of
            an image.
        loss_terms (Sequence[str]): Terms of the ranking loss, the box
            head's own loss taken per RoI: any of ``'cls'`` (the
            classification loss; the paper's softmax cross-entropy) and
            ``'bbox'`` (the regression loss of foreground RoIs; the paper's
            smooth-L1). A head whose loss cannot be taken per RoI stops the
            build with an error that names it.
        readonly_mode (str): ``'train'`` (dropout active, as in the
            authors' Caffe net) or ``'eval'``; see :class:`ReadOnlyPass`.
        readonly_dtype (str, optional): ``'bfloat16'`` or ``'float16'`` run
            the read-only forward under autocast (the ranking loss stays
            fp32); None or ``'float32'`` do not.
        readonly_chunk_size (int): RoIs per read-only forward, which bounds
            its memory whatever the number of proposals.
        max_pos_fraction (float, optional): Cap on the foreground share of
            the hard RoIs of an image. None: no cap (paper).
        min_pos_fraction (float, optional): Floor on it, as far as the image
            has foreground RoIs. None: no floor (paper).
        add_gt_as_proposals (bool): Add the GT boxes to the candidates
            (paper: yes).
        context (BaseRoIHead, optional): The RoI head, passed by mmdet
            when it builds the sampler: a ``StandardRoIHead`` (or subclass)
            or a ``CascadeRoIHead``, whose stage being built it serves.
    """

    def __init__(self,
                 num: int = 64,
                 nms_thr: Optional[float] = 0.7,
                 nms_class_aware: bool = True,
                 loss_terms: Sequence[str] = LOSS_TERMS,
                 readonly_mode: str = 'train',
                 readonly_dtype: Optional[str] = None,
                 readonly_chunk_size: int = 1024,
                 max_pos_fraction: Optional[float] = None,
                 min_pos_fraction: Optional[float] = None,
                 add_gt_as_proposals: bool = True,
                 context: Optional[BaseRoIHead] = None,
                 **kwargs) -> None:
        if kwargs:
            valid = list(inspect.signature(type(self)).parameters)[:-1]
            raise TypeError(
                f'{type(self).__name__} got unknown keys {sorted(kwargs)}; '
                f'valid keys are {valid}')
        _check(isinstance(num, int) and num > 0, 'num', num, 'a positive int')
        _check(nms_thr is None or 0 < nms_thr <= 1, 'nms_thr', nms_thr,
               'None or in (0, 1]')
        _check(
            len(loss_terms) > 0 and set(loss_terms) <= set(LOSS_TERMS),
            'loss_terms', loss_terms, f'a non-empty subset of {LOSS_TERMS}')
        _check(readonly_mode in MODES, 'readonly_mode', readonly_mode,
               f'one of {MODES}')
        _check(readonly_dtype in DTYPES, 'readonly_dtype', readonly_dtype,
               f'one of {list(DTYPES)}')
        _check(readonly_chunk_size > 0, 'readonly_chunk_size',
               readonly_chunk_size, 'positive')
        for name, frac in (('max_pos_fraction', max_pos_fraction),
                           ('min_pos_fraction', min_pos_fraction)):
            _check(frac is None or 0 <= frac <= 1, name, frac,
                   'None or in [0, 1]')
        if max_pos_fraction is not None and min_pos_fraction is not None:
            _check(min_pos_fraction <= max_pos_fraction, 'min_pos_fraction',
                   min_pos_fraction, '<= max_pos_fraction')
        self.num = num
        self.nms_thr = nms_thr
        self.nms_class_aware = nms_class_aware
        self.max_pos_fraction = max_pos_fraction
        self.min_pos_fraction = min_pos_fraction
        self.add_gt_as_proposals = add_gt_as_proposals
        self.branch = None if context is None else BoxBranch.of(context)
        if self.branch is not None and self.branch.bbox_head is not None:
            self.branch.check_rankable(loss_terms)
        self.readonly = ReadOnlyPass(readonly_mode, DTYPES[readonly_dtype],
                                     readonly_chunk_size, tuple(loss_terms))

    def sample(self,
               assign_result: AssignResult,
               pred_instances: InstanceData,
               gt_instances: InstanceData,
               feats: Optional[List[Tensor]] = None,
               **kwargs) -> SamplingResult:
        """Pick the hard RoIs of one image (the drop-in sampler).

        Args:
            assign_result (AssignResult): Assignment of ``priors``.
            pred_instances (InstanceData): ``priors`` (n, 4) proposals.
            gt_instances (InstanceData): ``bboxes`` (k, 4), ``labels`` (k, ).
            feats (list[Tensor]): The image's features, each (1, C, H, W);
                mmdet's ``StandardRoIHead`` passes them.

        Returns:
            SamplingResult: The hard RoIs.
        """
        if feats is None or self.branch is None:
            raise ValueError(
                'OnlineHardExampleSampler scores RoIs with the RoI head: it '
                'needs `context` (the head) and `feats` (the features)')
        candidates = CandidateRoIs(assign_result, pred_instances, gt_instances,
                                   self.add_gt_as_proposals)
        return self.mine(feats, [candidates])[0]

    def mine(self,
             x: Sequence[Tensor],
             candidates: List[CandidateRoIs],
             img_names: Optional[Sequence[str]] = None,
             return_scored: bool = False):
        """Score all candidates of a batch in one read-only pass; pick.

        Args:
            x (Sequence[Tensor]): Features of the images of ``candidates``,
                each (N, C, H, W).
            candidates (list[CandidateRoIs]): One per image.
            img_names (Sequence[str], optional): The images' names, for the
                message of a non-finite loss.
            return_scored (bool): Also return the read-only pass's results
                for every candidate: ``rois``, ``cls_score``, ``bbox_pred``
                and ``bbox_targets``, as the box head's ``refine_bboxes``
                takes them.

        Returns:
            list[SamplingResult]: The hard RoIs of each image (and the
            scored candidates' dict, with ``return_scored``).

        Raises:
            NonFiniteRoILossError: A candidate's loss is NaN or infinite.
        """
        branch = self.branch
        bbox_head = branch.bbox_head
        rois = bbox2roi([c.priors for c in candidates])
        targets = bbox_head.get_targets(
            candidates, branch.train_cfg, concat=True)
        labels = targets[0]
        with self._stage('readonly'):
            losses, outputs = self.readonly(branch, x, rois, targets,
                                            return_scored)
        img_ids = rois[:, 0].long()
        num_rois = [len(c.pos_inds) + len(c.neg_inds) for c in candidates]
        _check_finite(losses, img_ids, num_rois, img_names)
        is_pos = labels < bbox_head.num_classes
        with self._stage('selection'):
            keep = select_hard_examples(
                losses,
                rois[:, 1:],
                img_ids,
                num_imgs=len(candidates),
                num_per_img=self.num,
                nms_thr=self.nms_thr,
                nms_groups=labels if self.nms_class_aware else None,
                is_pos=is_pos,
                max_pos_fraction=self.max_pos_fraction,
                min_pos_fraction=self.min_pos_fraction)
        stage = branch.stage
        log_mining_stats(losses, is_pos, keep, candidates,
                         '' if stage is None else f's{stage}.')
        self._record(
            rois=rois,
            losses=losses,
            labels=labels,
            hard=keep,
            num_imgs=len(candidates))
        # `rois` hold each image's positives, then its negatives
        starts = torch.tensor([0] + num_rois, device=keep.device).cumsum(0)
        hard = [
            cand.subset(keep[img_ids[keep] == i] - starts[i])
            for i, cand in enumerate(candidates)
        ]
        if not return_scored:
            return hard
        return hard, dict(outputs, rois=rois, bbox_targets=targets)


def _check(ok: bool, key: str, value, expected: str) -> None:
    if not ok:
        raise ValueError(f'OnlineHardExampleSampler: {key}={value!r}, '
                         f'expected {expected}')


def _check_finite(losses: Tensor, img_ids: Tensor, num_rois: List[int],
                  img_names: Optional[Sequence[str]]) -> None:
    """Raise :class:`NonFiniteRoILossError` if any loss is NaN or inf."""
    bad = ~torch.isfinite(losses)
    if bad.any():
        counts = torch.bincount(img_ids[bad], minlength=len(num_rois)).tolist()
        per_img = {i: (n, num_rois[i]) for i, n in enumerate(counts) if n}
        iteration = MessageHub.get_current_instance().get_info('iter')
        raise NonFiniteRoILossError(per_img, img_names, iteration)
