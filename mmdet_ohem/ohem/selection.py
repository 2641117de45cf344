"""The OHEM decision: per-RoI losses and hard-RoI selection.

``per_roi_loss`` takes every RoI's loss from the box head's own loss;
``select_hard_examples`` is a pure function of tensors. Everything else in
the package (the drop-in sampler and the two-copy RoI heads) calls them, so
the algorithm of Shrivastava et al. (CVPR 2016, Sec. 3) lives here and
nowhere else.
"""
import math
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

from ..ops.nms import nms_in_order

LOSS_TERMS = ('cls', 'bbox')


def per_roi_loss(bbox_head,
                 cls_score: Tensor,
                 bbox_pred: Optional[Tensor],
                 rois: Tensor,
                 targets: Tuple[Tensor, Tensor, Tensor, Tensor],
                 terms: Sequence[str] = LOSS_TERMS) -> Tensor:
    """The loss of every RoI on its own: the score OHEM ranks RoIs by.

    The box head's own loss (``bbox_head.loss`` with
    ``reduction_override='none'``): for mmdet's usual heads, softmax
    cross-entropy plus, for foreground RoIs only, smooth-L1 or L1 summed
    over the encoded deltas of the assigned class (GIoU on decoded boxes
    where the head regresses those), with the head's loss weights. Any
    element-wise loss (a sigmoid classifier's per class, seesaw's terms) is
    summed per RoI. Unnormalised, computed in fp32 whatever the dtype of
    the inputs, so a half-precision forward cannot overflow the ranking.

    Args:
        bbox_head (BBoxHead): The box head whose ``loss`` ranks.
        cls_score (Tensor): (n, C) classification scores.
        bbox_pred (Tensor, optional): (n, 4) or (n, 4 * num_classes)
            deltas. Needed when ``'bbox' in terms``.
        rois (Tensor): (n, 5) RoIs (decoded regression needs them).
        targets (tuple[Tensor]): ``bbox_head.get_targets(..., concat=True)``:
            labels (n, ) with background ``num_classes``, label weights,
            box targets (n, 4) and box weights (n, 4).
        terms (Sequence[str]): ``'cls'`` (every loss of the head but
            ``loss_bbox``) and ``'bbox'`` (``loss_bbox``).

    Returns:
        Tensor: (n, ) fp32 loss per RoI.

    Raises:
        ValueError: A loss of the head is not one value (or row) per RoI.
    """
    labels = targets[0]
    num_rois = labels.numel()
    is_fg = (labels >= 0) & (labels < bbox_head.num_classes)
    losses = bbox_head.loss(
        cls_score.float(),
        None if bbox_pred is None else bbox_pred.float(),
        rois,
        *targets,
        reduction_override='none')
    total = torch.zeros(num_rois, device=labels.device)
    for key, value in losses.items():
        term = 'bbox' if key == 'loss_bbox' else 'cls'
        if not key.startswith('loss') or term not in terms:
            continue  # 'acc', or a term we do not rank by
        rows = int(is_fg.sum()) if term == 'bbox' else num_rois
        if term == 'bbox' and rows == 0:
            continue  # mmdet's zero-dimensional 0 when no RoI is foreground
        if value.dim() == 0 or value.size(0) != rows:
            raise ValueError(
                f'{type(bbox_head).__name__}.loss(reduction_override='
                f"'none') gave {key} of shape {tuple(value.shape)}, not one "
                f'row per RoI ({rows})')
        value = value.float().reshape(rows, -1).sum(dim=1)
        if term == 'bbox':
            total[is_fg] += value
        else:
            total += value
    return total


def rank_within_groups(groups: Tensor, num_groups: int) -> Tensor:
    """Position of every element among the earlier elements of its group.

    Args:
        groups (Tensor): (n, ) long group ids in [0, num_groups).
        num_groups (int): Number of groups.

    Returns:
        Tensor: (n, ) long; ``r[i]`` counts the ``j < i`` with
        ``groups[j] == groups[i]``.
    """
    order = torch.sort(groups, stable=True).indices
    counts = torch.bincount(groups, minlength=num_groups)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(groups)
    rank[order] = torch.arange(
        groups.numel(), device=groups.device) - starts[groups[order]]
    return rank


def select_hard_examples(losses: Tensor,
                         boxes: Tensor,
                         img_ids: Tensor,
                         num_imgs: int,
                         num_per_img: int,
                         nms_thr: Optional[float] = 0.7,
                         nms_groups: Optional[Tensor] = None,
                         is_pos: Optional[Tensor] = None,
                         max_pos_fraction: Optional[float] = None,
                         min_pos_fraction: Optional[float] = None) -> Tensor:
    """Pick the hard RoIs of a batch: NMS by loss, then top-k per image.

    RoIs are ranked by loss, hardest first; equal losses keep their input
    order, so the result is a deterministic function of the inputs. NMS with
    the rank as score removes every RoI that overlaps a harder one of the same
    image (and of the same ``nms_groups`` value, e.g. the assigned label, as
    in the authors' code) by IoU > ``nms_thr``. Of the survivors, each image
    keeps its ``num_per_img`` hardest, with no foreground:background ratio
    unless the optional caps ask for one.

    Args:
        losses (Tensor): (n, ) finite per-RoI losses; larger is harder.
        boxes (Tensor): (n, 4) RoI boxes (x1, y1, x2, y2), used by NMS.
        img_ids (Tensor): (n, ) long image index of each RoI.
        num_imgs (int): Number of images; ``img_ids`` lie in
            [0, num_imgs).
        num_per_img (int): Budget of hard RoIs per image.
        nms_thr (float, optional): IoU threshold of the de-duplication;
            None turns it off.
        nms_groups (Tensor, optional): (n, ) long ids >= 0; NMS compares
            only RoIs with equal ids (class-aware NMS when these are the
            labels). None compares all RoIs of an image.
        is_pos (Tensor, optional): (n, ) bool foreground flags; needed by
            the fraction caps.
        max_pos_fraction (float, optional): At most
            ``floor(num_per_img * max_pos_fraction)`` foreground RoIs per
            image.
        min_pos_fraction (float, optional): At least
            ``ceil(num_per_img * min_pos_fraction)`` foreground RoIs per
            image, as far as the image has them.

    Returns:
        Tensor: (k, ) long indices into the inputs, grouped by image in
        ascending order, hardest first within an image.
    """
    device = losses.device
    if losses.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=device)
    order = torch.sort(losses, descending=True, stable=True).indices
    capped = max_pos_fraction is not None or min_pos_fraction is not None
    if nms_thr is None:
        keep = order
    else:
        groups = img_ids
        if nms_groups is not None:
            groups = img_ids * (int(nms_groups.max()) + 1) + nms_groups
        # the caps need every survivor of each side; else the first
        # num_per_img survivors of each image are all that is kept
        keep = nms_in_order(
            boxes,
            order,
            groups,
            nms_thr,
            img_ids,
            None if capped else num_per_img,
            num_imgs=num_imgs)
    # A stable sort by image keeps the hardest-first order inside images.
    keep = keep[torch.sort(img_ids[keep], stable=True).indices]
    keep_imgs = img_ids[keep]
    rank = rank_within_groups(keep_imgs, num_imgs)
    if not capped:
        return keep[rank < num_per_img]

    pos = is_pos[keep]
    # fewer candidates than the budget: the budget shrinks to all of them
    budget = torch.bincount(
        keep_imgs, minlength=num_imgs).clamp(max=num_per_img)
    num_pos_avail = torch.bincount(keep_imgs[pos], minlength=num_imgs)
    num_neg_avail = torch.bincount(keep_imgs[~pos], minlength=num_imgs)
    num_pos = torch.bincount(
        keep_imgs[pos & (rank < num_per_img)], minlength=num_imgs)
    if min_pos_fraction is not None:
        num_pos = num_pos.clamp(min=math.ceil(num_per_img * min_pos_fraction))
    if max_pos_fraction is not None:
        num_pos = num_pos.clamp(max=math.floor(num_per_img * max_pos_fraction))
    num_pos = torch.minimum(num_pos, num_pos_avail)
    num_neg = torch.minimum(budget - num_pos, num_neg_avail)
    # rank among the RoIs of the same image and the same fg/bg side
    side_rank = rank_within_groups(keep_imgs * 2 + pos.long(), num_imgs * 2)
    quota = torch.where(pos, num_pos[keep_imgs], num_neg[keep_imgs])
    return keep[side_rank < quota]
