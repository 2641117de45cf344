"""Online hard example mining as a drop-in ``train_cfg.rcnn.sampler``."""
import contextlib
import inspect
from typing import Callable, ContextManager, List, Optional, Sequence

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox2roi, cat_boxes, get_box_tensor
from mmengine.dist import all_reduce
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData
from torch import Tensor

from ..errors import NonFiniteInputError, NonFiniteRoILossError
from .readonly import DTYPES, MODES, ReadOnlyPass
from .selection import LOSS_TERMS, select_hard_examples


class CandidateRoIs(SamplingResult):
    """All RoIs of an image that OHEM may pick, as a ``SamplingResult``.

    Positives are every valid RoI assigned to a GT box, negatives every valid
    RoI assigned to background; RoIs the assigner ignored (-1) and degenerate
    boxes (counted in ``num_invalid``) are in neither. It remembers what it
    was built from so that the hard subset can be cut out of it.
    """

    def __init__(self,
                 pos_inds: Tensor,
                 neg_inds: Tensor,
                 priors: Tensor,
                 gt_bboxes: Tensor,
                 assign_result: AssignResult,
                 gt_flags: Tensor,
                 num_invalid: int = 0) -> None:
        super().__init__(pos_inds, neg_inds, priors, gt_bboxes, assign_result,
                         gt_flags)
        self._build_args = (priors, gt_bboxes, assign_result, gt_flags)
        self.num_invalid = num_invalid

    def subset(self, pos_keep: Tensor, neg_keep: Tensor) -> SamplingResult:
        """The sampling result of some candidates.

        Args:
            pos_keep (Tensor): Indices into ``pos_inds``.
            neg_keep (Tensor): Indices into ``neg_inds``.
        """
        return SamplingResult(self.pos_inds[pos_keep], self.neg_inds[neg_keep],
                              *self._build_args)


@TASK_UTILS.register_module()
class OnlineHardExampleSampler:
    """Online hard example mining (Shrivastava et al., CVPR 2016).

    Every RoI of an image (proposals, plus GT boxes when
    ``add_gt_as_proposals``) goes through a read-only copy of the RoI network
    that keeps no autograd graph (:class:`~mmdet_ohem.ohem.readonly.
    ReadOnlyPass`). RoIs are ranked by their own loss, de-duplicated by NMS
    on that loss, and the ``num`` hardest per image are returned
    (:func:`~mmdet_ohem.ohem.selection.select_hard_examples`); only they are
    trained. There is no foreground:background ratio unless the optional
    caps ask for one. The background range is the assigner's: the paper's
    OHEM uses ``MaxIoUAssigner(neg_iou_thr=0.5)``, i.e. bg_lo = 0.

    As a ``train_cfg.rcnn.sampler`` of mmdet's ``StandardRoIHead``,
    :meth:`sample` mines each image on its own through the head it gets as
    ``context``. :class:`~mmdet_ohem.ohem.roi_head.OHEMRoIHead` reads the
    same settings but gathers the :meth:`candidates` of all images and
    calls :meth:`mine` once per batch.

    Args:
        num (int): Hard RoIs per image (paper: B / N = 128 / 2 = 64).
        nms_thr (float, optional): IoU of the loss-NMS that removes
            near-duplicate RoIs (paper: 0.7). None turns it off.
        nms_class_aware (bool): Run that NMS among RoIs of the same assigned
            label only, as the authors' code does. False: among all RoIs of
            an image.
        loss_terms (Sequence[str]): Terms of the ranking loss, any of
            ``'cls'`` (softmax cross-entropy) and ``'bbox'`` (smooth-L1 of
            foreground RoIs).
        smooth_l1_beta (float): Smooth-L1 transition point of the ranking
            loss (paper: sigma = 1, i.e. beta = 1).
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
        context (StandardRoIHead, optional): The RoI head, passed by mmdet
            when it builds the sampler.
    """

    def __init__(self,
                 num: int = 64,
                 nms_thr: Optional[float] = 0.7,
                 nms_class_aware: bool = True,
                 loss_terms: Sequence[str] = LOSS_TERMS,
                 smooth_l1_beta: float = 1.0,
                 readonly_mode: str = 'train',
                 readonly_dtype: Optional[str] = None,
                 readonly_chunk_size: int = 1024,
                 max_pos_fraction: Optional[float] = None,
                 min_pos_fraction: Optional[float] = None,
                 add_gt_as_proposals: bool = True,
                 context: Optional[StandardRoIHead] = None,
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
        self.context = context
        self.readonly = ReadOnlyPass(readonly_mode, DTYPES[readonly_dtype],
                                     readonly_chunk_size, tuple(loss_terms),
                                     smooth_l1_beta)
        self._records: Optional[List[dict]] = None
        self._stage: Callable[[str], ContextManager] = _no_timing

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
        if feats is None or self.context is None:
            raise ValueError(
                'OnlineHardExampleSampler scores RoIs with the RoI head: it '
                'needs `context` (the head) and `feats` (the features)')
        candidates = self.candidates(assign_result, pred_instances,
                                     gt_instances)
        return self.mine(self.context, feats, [candidates])[0]

    @contextlib.contextmanager
    def recording(self):
        """Keep what :meth:`mine` sees while the block runs.

        Yields:
            list[dict]: Filled with one record per :meth:`mine` call (one
            per step in ``OHEMRoIHead``, one per image in the drop-in
            sampler): ``rois`` (n, 5) every candidate RoI (batch index, x1,
            y1, x2, y2), ``losses`` (n, ) their ranking losses, ``labels``
            (n, ) their targets (background = ``num_classes``), ``hard``
            (k, ) the indices of the picked RoIs and ``num_imgs``.
        """
        self._records = records = []
        try:
            yield records
        finally:
            self._records = None

    @contextlib.contextmanager
    def timing(self, stage: Callable[[str], ContextManager]):
        """Time the read-only pass and the selection while the block runs.

        Args:
            stage (callable): ``stage(name)`` returns a context manager
                that times the code it wraps; names are ``'readonly'`` and
                ``'selection'``.
        """
        self._stage = stage
        try:
            yield
        finally:
            self._stage = _no_timing

    def candidates(self, assign_result: AssignResult,
                   pred_instances: InstanceData,
                   gt_instances: InstanceData) -> CandidateRoIs:
        """Every RoI of an image that may be mined, GT boxes first.

        Degenerate boxes (zero or negative width or height, non-finite
        coordinates) are left out and counted in ``num_invalid``; the
        training log shows them as ``ohem_invalid_rois``. A non-finite GT
        box raises ``NonFiniteInputError``: it has already made the assignment
        wrong.
        """
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
        if self.add_gt_as_proposals and len(gt_bboxes) > 0:
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
        return CandidateRoIs(pos_inds, neg_inds, priors, gt_bboxes,
                             assign_result, gt_flags, int((~valid).sum()))

    def mine(
            self,
            roi_head: StandardRoIHead,
            x: Sequence[Tensor],
            candidates: List[CandidateRoIs],
            img_names: Optional[Sequence[str]] = None) -> List[SamplingResult]:
        """Score all candidates of a batch in one read-only pass; pick.

        Args:
            roi_head (StandardRoIHead): Head whose box branch scores RoIs.
            x (Sequence[Tensor]): Features of the images of ``candidates``,
                each (N, C, H, W).
            candidates (list[CandidateRoIs]): One per image.
            img_names (Sequence[str], optional): The images' names, for the
                message of a non-finite loss.

        Returns:
            list[SamplingResult]: The hard RoIs of each image.

        Raises:
            NonFiniteRoILossError: A candidate's loss is NaN or infinite.
        """
        bbox_head = roi_head.bbox_head
        rois = bbox2roi([c.priors for c in candidates])
        labels, _, bbox_targets, _ = bbox_head.get_targets(
            candidates, roi_head.train_cfg, concat=True)
        with self._stage('readonly'):
            losses = self.readonly(roi_head, x, rois, labels, bbox_targets)
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
        self._log_stats(losses, is_pos, keep, candidates)
        if self._records is not None:
            self._records.append(
                dict(
                    rois=rois,
                    losses=losses,
                    labels=labels,
                    hard=keep,
                    num_imgs=len(candidates)))

        # `rois` hold each image's positives, then its negatives.
        keep_imgs = img_ids[keep]
        starts = torch.tensor([0] + num_rois, device=keep.device).cumsum(0)
        results = []
        for i, cand in enumerate(candidates):
            local = keep[keep_imgs == i] - starts[i]
            num_pos = len(cand.pos_inds)
            results.append(
                cand.subset(local[local < num_pos],
                            local[local >= num_pos] - num_pos))
        return results

    def _log_stats(self, losses: Tensor, is_pos: Tensor, keep: Tensor,
                   candidates: List[CandidateRoIs]) -> None:
        """Log the hard set against all RoIs, over all processes.

        Sums are all-reduced in one small collective per call (one per step
        in ``OHEMRoIHead``, one per image in the drop-in sampler), which
        every process makes even when it has no RoIs.
        """
        counts = [
            len(candidates),
            len(keep),
            len(losses),
            sum(c.num_invalid for c in candidates)
        ]
        sums = [is_pos[keep], is_pos, losses[keep], losses]
        totals = torch.cat([
            losses.new_tensor(counts, dtype=torch.float64),
            torch.stack([x.double().sum() for x in sums])
        ])
        all_reduce(totals)
        (num_imgs, num_hard, num_all, num_invalid, hard_pos, all_pos,
         hard_loss, all_loss) = totals.tolist()
        if num_all == 0:
            return
        stats = (num_hard / num_imgs, hard_pos / max(num_hard, 1),
                 all_pos / num_all, hard_loss / max(num_hard, 1),
                 all_loss / num_all)
        message_hub = MessageHub.get_current_instance()
        for key, value in zip(STAT_KEYS, stats):
            message_hub.update_scalar(f'train/{key}', value)
        message_hub.update_scalar('train/ohem_invalid_rois', int(num_invalid))


STAT_KEYS = ('ohem_num_hard', 'ohem_hard_fg_frac', 'ohem_all_fg_frac',
             'ohem_hard_loss', 'ohem_all_loss')


def _check(ok: bool, key: str, value, expected: str) -> None:
    if not ok:
        raise ValueError(f'OnlineHardExampleSampler: {key}={value!r}, '
                         f'expected {expected}')


def _no_timing(name: str) -> ContextManager:
    return contextlib.nullcontext()


def _check_finite(losses: Tensor, img_ids: Tensor, num_rois: List[int],
                  img_names: Optional[Sequence[str]]) -> None:
    """Raise :class:`NonFiniteRoILossError` if any loss is NaN or inf."""
    bad = ~torch.isfinite(losses)
    if not bad.any():
        return
    counts = torch.bincount(img_ids[bad], minlength=len(num_rois)).tolist()
    raise NonFiniteRoILossError(
        {
            i: (count, num_rois[i])
            for i, count in enumerate(counts) if count
        }, img_names)
