"""Greedy NMS in a given order that stops once each image has enough
survivors: OHEM's de-duplication, where only the first few survivors of an
image are kept."""
from typing import Optional

import torch
from mmcv.ops import nms
from torch import Tensor


def nms_in_order(boxes: Tensor,
                 order: Tensor,
                 groups: Tensor,
                 nms_thr: float,
                 img_ids: Tensor,
                 num_per_img: Optional[int] = None,
                 block_size: int = 512,
                 num_imgs: Optional[int] = None) -> Tensor:
    """Greedy NMS that visits RoIs in ``order``: the survivors.

    A RoI survives unless an earlier survivor of the same group overlaps
    it by IoU > ``nms_thr``. Greedy NMS decides each RoI from the earlier
    ones alone, so the RoIs are taken in blocks of ``block_size``, each run
    through mmcv's ``nms`` together with the survivors so far; once an image
    has ``num_per_img`` survivors, its later RoIs cannot be among its first
    ``num_per_img`` and are not visited. With a budget of 64 of 2000 RoIs
    per image, one block usually decides it.

    Groups are kept apart as mmcv's ``batched_nms`` does, by an offset of
    ``group * (max coordinate + 1)``, computed once over all boxes so that
    every block sees the same coordinates.

    Args:
        boxes (Tensor): (n, 4) boxes.
        order (Tensor): (n, ) the visiting order (a permutation).
        groups (Tensor): (n, ) long ids; only equal ids suppress.
        nms_thr (float): IoU threshold.
        img_ids (Tensor): (n, ) long image of each RoI.
        num_per_img (int, optional): Stop visiting an image's RoIs once it
            has this many survivors. None: visit every RoI.
        block_size (int): RoIs per ``nms`` call.
        num_imgs (int, optional): Number of images, ``img_ids`` in
            [0, num_imgs); by default read off ``img_ids`` (a device sync).

    Returns:
        Tensor: (k, ) long indices of the survivors, in ``order``.
    """
    boxes = boxes.float()
    offsets = groups.to(boxes) * (boxes.max() + 1)
    shifted = boxes + offsets[:, None]
    # Distinct scores make nms visit RoIs exactly in `order`, so equal
    # losses cannot leave the result to the kernel's unstable sort.
    rank_score = torch.empty_like(boxes[:, 0])
    rank_score[order] = torch.arange(
        len(order), 0, -1, device=boxes.device, dtype=torch.float32)
    if num_per_img is None:
        block_size = len(order)
    if num_imgs is None:
        num_imgs = int(img_ids.max()) + 1
    keep = order[:0]
    todo = order
    while len(todo):
        # survivors so far outrank the block: nms keeps them all
        cand = torch.cat([keep, todo[:block_size]])
        _, inds = nms(shifted[cand], rank_score[cand], nms_thr)
        keep, todo = cand[inds], todo[block_size:]
        if num_per_img is not None:
            full = torch.bincount(
                img_ids[keep], minlength=num_imgs) >= num_per_img
            todo = todo[~full[img_ids[todo]]]
    return keep
