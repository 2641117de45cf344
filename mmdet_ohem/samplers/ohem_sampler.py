"""Online hard example mining as a drop-in ``train_cfg.rcnn.sampler``."""
import contextlib
import inspect
from typing import Callable, List, Optional, Sequence, Tuple

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

from ..selection import LOSS_TERMS, per_roi_loss, select_hard_examples
from .roi_align import readonly_roi_pooler

READONLY_MODES = ('train', 'eval')
READONLY_DTYPES = {
    None: None,
    'float32': None,
    'bfloat16': torch.bfloat16,
    'float16': torch.float16,
}


class NonFiniteRoILossError(FloatingPointError):
    """A per-RoI loss of the read-only pass is NaN or infinite.

    Args:
        bad (dict[int, tuple[int, int]]): Batch index of each offending
            image -> (number of non-finite losses, number of RoIs).
        img_names (Sequence[str], optional): Names of the batch's images.
        iteration (int, optional): 0-based training iteration; by default
            the message hub's ``iter``, if there is one.
    """

    def __init__(self,
                 bad: dict,
                 img_names: Optional[Sequence] = None,
                 iteration: Optional[int] = None):
        if iteration is None:
            iteration = MessageHub.get_current_instance().get_info('iter')
        self.bad = bad
        self.img_names = img_names
        self.iteration = iteration
        # 1-based, as in the training log
        when = '' if iteration is None else f' at iteration {iteration + 1}'
        where = []
        for idx, (num_bad, num_rois) in bad.items():
            name = (f'image {img_names[idx]!r}'
                    if img_names else f'image {idx} of the batch')
            where.append(f'{name}: {num_bad} of {num_rois} RoIs')
        super().__init__(
            f'OHEM read-only pass produced non-finite RoI losses{when}, so '
            'no hard example can be chosen (' + '; '.join(where) + '). '
            'Check the learning rate, the input images and the proposals.')

    def with_names(self, img_names: Sequence) -> 'NonFiniteRoILossError':
        """The same error, naming the images instead of batch indices."""
        return NonFiniteRoILossError(self.bad, img_names, self.iteration)


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


def roi_forward(
    roi_head: StandardRoIHead,
    x: Tuple[Tensor],
    rois: Tensor,
    pool: Optional[Callable[[Tensor],
                            Tensor]] = None) -> Tuple[Tensor, Tensor]:
    """Forward RoIs through the box branch of a RoI head.

    Args:
        roi_head (StandardRoIHead): Head whose extractor, optional shared
            head and box head are used.
        x (tuple[Tensor]): Multi-level features, each (N, C, H, W).
        rois (Tensor): (n, 5) RoIs (batch index, x1, y1, x2, y2).
        pool (callable, optional): Pools ``rois`` from ``x`` in place of
            the extractor (the read-only pass's
            :func:`~mmdet_ohem.samplers.roi_align.readonly_roi_pooler`).

    Returns:
        tuple[Tensor, Tensor]: ``cls_score`` and ``bbox_pred``.
    """
    if pool is not None:
        feats = pool(rois)
    else:
        extractor = roi_head.bbox_roi_extractor
        feats = extractor(x[:extractor.num_inputs], rois)
    if roi_head.with_shared_head:
        feats = roi_head.shared_head(feats)
    return roi_head.bbox_head(feats)


@contextlib.contextmanager
def _readonly_mode(roi_head: StandardRoIHead, mode: str):
    """Run the read-only copy in ``mode``; restore the head afterwards."""
    was_training = roi_head.training
    roi_head.train(mode == 'train')
    try:
        yield
    finally:
        roi_head.train(was_training)


@TASK_UTILS.register_module()
class OnlineHardExampleSampler:
    """Online hard example mining (Shrivastava et al., CVPR 2016).

    Every RoI of an image (proposals, plus GT boxes when
    ``add_gt_as_proposals``) goes through a read-only copy of the RoI network
    that keeps no autograd graph. RoIs are ranked by their own loss
    (:func:`~mmdet_ohem.selection.per_roi_loss`), de-duplicated by NMS on
    that loss, and the ``num`` hardest per image are returned; only they are
    trained. There is no foreground:background ratio unless the optional
    caps ask for one. The background range is the assigner's: the paper's
    OHEM uses ``MaxIoUAssigner(neg_iou_thr=0.5)``, i.e. bg_lo = 0.

    As a ``train_cfg.rcnn.sampler`` of mmdet's ``StandardRoIHead`` it mines
    each image on its own, through the head it gets as ``context``.
    :class:`~mmdet_ohem.roi_heads.OHEMRoIHead` reads the same settings but
    mines the whole batch in one read-only pass: it sets
    ``defer_selection``, so that :meth:`sample` returns every candidate and
    the head calls :meth:`mine`.

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
        readonly_mode (str): ``'train'`` runs the read-only copy with
            dropout active, as the authors' Caffe net did; ``'eval'``
            without. Note that in ``'train'`` mode batch-norm layers of a
            shared head that are not frozen update their statistics in the
            read-only pass too.
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
        defer_selection (bool): Set by ``OHEMRoIHead``; see above.
        context (StandardRoIHead, optional): The RoI head, passed by mmdet
            when it builds the sampler.

    Attributes:
        record_mined (bool): While True, :meth:`mine` appends what it saw
            to ``mined``. Off by default (it costs nothing then);
            :class:`~mmdet_ohem.visualization.HardExampleHook` turns it on
            for the steps it draws.
        mined (list[dict]): One entry per :meth:`mine` call while
            ``record_mined`` (one per step in ``OHEMRoIHead``, one per
            image in the drop-in sampler): ``rois`` (n, 5) every candidate
            RoI (batch index, x1, y1, x2, y2), ``losses`` (n, ) their
            ranking losses, ``labels`` (n, ) their targets (background =
            ``num_classes``), ``hard`` (k, ) the indices of the picked RoIs
            and ``num_imgs``. Whoever turns recording on empties it.
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
                 defer_selection: bool = False,
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
        _check(readonly_mode in READONLY_MODES, 'readonly_mode', readonly_mode,
               f'one of {READONLY_MODES}')
        _check(readonly_dtype in READONLY_DTYPES, 'readonly_dtype',
               readonly_dtype, f'one of {list(READONLY_DTYPES)}')
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
        self.loss_terms = tuple(loss_terms)
        self.smooth_l1_beta = smooth_l1_beta
        self.readonly_mode = readonly_mode
        self.readonly_dtype = READONLY_DTYPES[readonly_dtype]
        self.readonly_chunk_size = readonly_chunk_size
        self.max_pos_fraction = max_pos_fraction
        self.min_pos_fraction = min_pos_fraction
        self.add_gt_as_proposals = add_gt_as_proposals
        self.defer_selection = defer_selection
        self.context = context
        self.record_mined = False
        self.mined: List[dict] = []

    def sample(self,
               assign_result: AssignResult,
               pred_instances: InstanceData,
               gt_instances: InstanceData,
               feats: Optional[List[Tensor]] = None,
               **kwargs) -> SamplingResult:
        """Pick the hard RoIs of one image.

        Args:
            assign_result (AssignResult): Assignment of ``priors``.
            pred_instances (InstanceData): ``priors`` (n, 4) proposals.
            gt_instances (InstanceData): ``bboxes`` (k, 4), ``labels`` (k, ).
            feats (list[Tensor]): The image's features, each (1, C, H, W);
                mmdet's ``StandardRoIHead`` passes them.

        Returns:
            SamplingResult: The hard RoIs, or every candidate RoI when
            ``defer_selection`` (:class:`CandidateRoIs`).
        """
        candidates = self.candidates(assign_result, pred_instances,
                                     gt_instances)
        if self.defer_selection:
            return candidates
        if feats is None or self.context is None:
            raise ValueError(
                'OnlineHardExampleSampler scores RoIs with the RoI head: it '
                'needs `context` (the head) and `feats` (the features)')
        return self.mine(self.context, feats, [candidates])[0]

    def candidates(self, assign_result: AssignResult,
                   pred_instances: InstanceData,
                   gt_instances: InstanceData) -> CandidateRoIs:
        """Every RoI of an image that may be mined, GT boxes first.

        Degenerate boxes (zero or negative width or height, non-finite
        coordinates) are left out and counted in ``num_invalid``; the
        training log shows them as ``ohem_invalid_rois``. A non-finite GT
        box raises ``ValueError``: it has already made the assignment wrong.
        """
        priors = pred_instances.priors
        gt_bboxes = gt_instances.bboxes
        num_bad_gt = int(
            (~torch.isfinite(get_box_tensor(gt_bboxes))).any(dim=1).sum())
        if num_bad_gt:
            raise ValueError(
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

    def mine(self, roi_head: StandardRoIHead, x: Sequence[Tensor],
             candidates: List[CandidateRoIs]) -> List[SamplingResult]:
        """Score all candidates of a batch in one read-only pass; pick.

        Args:
            roi_head (StandardRoIHead): Head whose box branch scores RoIs.
            x (Sequence[Tensor]): Features of the images of ``candidates``,
                each (N, C, H, W).
            candidates (list[CandidateRoIs]): One per image.

        Returns:
            list[SamplingResult]: The hard RoIs of each image.
        """
        bbox_head = roi_head.bbox_head
        rois = bbox2roi([c.priors for c in candidates])
        labels, _, bbox_targets, _ = bbox_head.get_targets(
            candidates, roi_head.train_cfg, concat=True)
        losses = self.readonly_losses(roi_head, x, rois, labels, bbox_targets)
        img_ids = rois[:, 0].long()
        num_rois = [len(c.pos_inds) + len(c.neg_inds) for c in candidates]
        _check_finite(losses, img_ids, num_rois)
        is_pos = labels < bbox_head.num_classes
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
        if self.record_mined:
            self.mined.append(
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

    def readonly_losses(self, roi_head: StandardRoIHead, x: Sequence[Tensor],
                        rois: Tensor, labels: Tensor,
                        bbox_targets: Tensor) -> Tensor:
        """The per-RoI loss of every RoI, without an autograd graph.

        Args:
            roi_head (StandardRoIHead): Head whose box branch scores RoIs.
            x (Sequence[Tensor]): Multi-level features, each (N, C, H, W).
            rois (Tensor): (n, 5) RoIs.
            labels (Tensor): (n, ) targets, background = num_classes.
            bbox_targets (Tensor): (n, 4) encoded regression targets.

        Returns:
            Tensor: (n, ) fp32 losses.
        """
        bbox_head = roi_head.bbox_head
        if 'bbox' in self.loss_terms and bbox_head.reg_decoded_bbox:
            raise ValueError(
                'OHEM ranks RoIs by smooth-L1 on encoded deltas, but the box '
                'head regresses decoded boxes (reg_decoded_bbox=True); use '
                "loss_terms=('cls', )")
        autocast = contextlib.nullcontext()
        if self.readonly_dtype is not None:
            autocast = torch.autocast(
                device_type=rois.device.type, dtype=self.readonly_dtype)
        losses = []
        # One autocast region for all chunks: its cache casts each weight
        # once per pass, not once per chunk.
        with torch.no_grad(), _readonly_mode(roi_head, self.readonly_mode), \
                autocast:
            pool = readonly_roi_pooler(roi_head.bbox_roi_extractor, x)
            for chunk in range(0, len(rois), self.readonly_chunk_size):
                part = slice(chunk, chunk + self.readonly_chunk_size)
                cls_score, bbox_pred = roi_forward(roi_head, x, rois[part],
                                                   pool)
                with torch.autocast(rois.device.type, enabled=False):
                    losses.append(
                        per_roi_loss(cls_score, bbox_pred, labels[part],
                                     bbox_targets[part], bbox_head.num_classes,
                                     bbox_head.reg_class_agnostic,
                                     self.loss_terms, self.smooth_l1_beta))
        if not losses:
            return rois.new_zeros(0)
        return torch.cat(losses)

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


def _check_finite(losses: Tensor, img_ids: Tensor,
                  num_rois: List[int]) -> None:
    """Raise :class:`NonFiniteRoILossError` if any loss is NaN or inf."""
    bad = ~torch.isfinite(losses)
    if not bad.any():
        return
    counts = torch.bincount(img_ids[bad], minlength=len(num_rois)).tolist()
    raise NonFiniteRoILossError({
        i: (count, num_rois[i])
        for i, count in enumerate(counts) if count
    })
