"""The selection rule and the per-RoI loss, on hand-built inputs."""
import math

import pytest
import torch
from mmcv.ops import batched_nms

from mmdet_ohem.ohem.selection import (per_roi_loss, rank_within_groups,
                                       select_hard_examples)
from mmdet_ohem.ops.nms import nms_in_order


def boxes_apart(n):
    """n boxes of 10x10 px that do not overlap."""
    x = torch.arange(n, dtype=torch.float32) * 20
    return torch.stack([x, torch.zeros(n), x + 10,
                        torch.full((n, ), 10.)],
                       dim=1)


def select(losses, boxes=None, img_ids=None, num_imgs=1, **kwargs):
    losses = torch.tensor(losses)
    if boxes is None:
        boxes = boxes_apart(len(losses))
    if img_ids is None:
        img_ids = torch.zeros(len(losses), dtype=torch.long)
    return select_hard_examples(losses,
                                torch.as_tensor(boxes).float(),
                                torch.as_tensor(img_ids), num_imgs,
                                **kwargs).tolist()


def test_top_k_per_image_hardest_first_no_nms():
    #          img 0 ------------  img 1 -----
    losses = [0.1, 0.9, 0.5, 0.7, 0.3, 0.8, 0.2]
    img_ids = [0, 0, 0, 0, 1, 1, 1]
    keep = select(
        losses, img_ids=img_ids, num_imgs=2, num_per_img=2, nms_thr=None)
    assert keep == [1, 3, 5, 4]


def test_budget_larger_than_candidates_keeps_all():
    keep = select([0.2, 0.4, 0.1], num_per_img=64, nms_thr=None)
    assert keep == [1, 0, 2]


def test_empty_input():
    keep = select_hard_examples(
        torch.zeros(0),
        torch.zeros(0, 4),
        torch.zeros(0, dtype=torch.long),
        num_imgs=2,
        num_per_img=4)
    assert keep.tolist() == []


# A and B overlap with IoU 0.9; C is apart.
A, B, C = [0, 0, 10, 10], [0, 0, 10, 9], [20, 20, 30, 30]


def test_nms_class_agnostic_removes_overlapping_easier_roi():
    keep = select([0.9, 0.8, 0.5], boxes=[A, B, C], num_per_img=3, nms_thr=0.7)
    assert keep == [0, 2]


def test_nms_keeps_the_harder_of_two_whatever_the_order():
    keep = select([0.8, 0.9, 0.5], boxes=[A, B, C], num_per_img=3, nms_thr=0.7)
    assert keep == [1, 2]


def test_nms_below_threshold_keeps_both():
    keep = select([0.9, 0.8, 0.5],
                  boxes=[A, B, C],
                  num_per_img=3,
                  nms_thr=0.95)
    assert keep == [0, 1, 2]


def test_nms_class_aware_compares_only_equal_labels():
    labels = torch.tensor([1, 2, 1])
    keep = select([0.9, 0.8, 0.5],
                  boxes=[A, B, C],
                  num_per_img=3,
                  nms_thr=0.7,
                  nms_groups=labels)
    assert keep == [0, 1, 2]
    labels = torch.tensor([1, 1, 2])
    keep = select([0.9, 0.8, 0.5],
                  boxes=[A, B, C],
                  num_per_img=3,
                  nms_thr=0.7,
                  nms_groups=labels)
    assert keep == [0, 2]


def test_nms_never_crosses_images():
    keep = select([0.9, 0.8],
                  boxes=[A, A],
                  img_ids=[0, 1],
                  num_imgs=2,
                  num_per_img=1,
                  nms_thr=0.7)
    assert keep == [0, 1]


def test_nms_runs_before_top_k():
    # Without NMS the budget of 2 would go to A and B.
    keep = select([0.9, 0.8, 0.5], boxes=[A, B, C], num_per_img=2, nms_thr=0.7)
    assert keep == [0, 2]


def test_ties_go_to_the_lower_index():
    keep = select([0.5, 0.5, 0.5, 0.5], num_per_img=2, nms_thr=None)
    assert keep == [0, 1]
    # identical boxes, equal losses: the first suppresses the second
    keep = select([0.5, 0.5, 0.5], boxes=[C, A, A], num_per_img=3, nms_thr=0.7)
    assert keep == [0, 1]


def test_max_pos_fraction_caps_foreground():
    #        fg   fg   fg   bg   bg   bg   bg
    losses = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]
    is_pos = torch.tensor([1, 1, 1, 0, 0, 0, 0]).bool()
    keep = select(
        losses,
        num_per_img=4,
        nms_thr=None,
        is_pos=is_pos,
        max_pos_fraction=0.25)
    assert keep == [0, 3, 4, 5]


def test_min_pos_fraction_brings_in_easier_foreground():
    #        bg   bg   bg   bg   fg   fg   fg
    losses = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]
    is_pos = torch.tensor([0, 0, 0, 0, 1, 1, 1]).bool()
    keep = select(
        losses,
        num_per_img=4,
        nms_thr=None,
        is_pos=is_pos,
        min_pos_fraction=0.5)
    assert keep == [0, 1, 4, 5]


def test_min_pos_fraction_limited_by_available_foreground():
    losses = [0.9, 0.8, 0.7, 0.6, 0.5]
    is_pos = torch.tensor([0, 0, 0, 0, 1]).bool()
    keep = select(
        losses,
        num_per_img=4,
        nms_thr=None,
        is_pos=is_pos,
        min_pos_fraction=0.75)
    assert keep == [0, 1, 2, 4]


def test_caps_are_per_image():
    losses = [0.9, 0.8, 0.7, 0.6, 0.95, 0.1, 0.2]
    is_pos = torch.tensor([1, 1, 0, 0, 1, 0, 0]).bool()
    img_ids = [0, 0, 0, 0, 1, 1, 1]
    keep = select(
        losses,
        img_ids=img_ids,
        num_imgs=2,
        num_per_img=2,
        nms_thr=None,
        is_pos=is_pos,
        max_pos_fraction=0.5)
    assert keep == [0, 2, 4, 6]


def crowded_rois(n=3000, num_imgs=2, seed=0):
    """Many near-duplicate boxes with quantised (tied) losses."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.rand(40, 2, generator=gen) * 400
    xy = centres[torch.randint(40, (n, ), generator=gen)] + torch.randn(
        n, 2, generator=gen) * 6
    wh = 30 + torch.rand(n, 2, generator=gen) * 20
    boxes = torch.cat([xy, xy + wh], dim=1)
    losses = (torch.rand(n, generator=gen) * 30).round() / 10
    img_ids = torch.randint(num_imgs, (n, ), generator=gen)
    labels = torch.randint(4, (n, ), generator=gen)
    return losses, boxes, img_ids, labels


def reference_selection(losses, boxes, img_ids, labels, num_per_img, thr):
    """The rule written plainly: mmcv's batched_nms over every RoI with
    the rank as score, then each image's first num_per_img survivors."""
    order = torch.sort(losses, descending=True, stable=True).indices
    score = torch.empty_like(losses)
    score[order] = torch.arange(len(order), 0, -1).float()
    groups = img_ids * (int(labels.max()) + 1) + labels
    _, keep = batched_nms(boxes, score, groups,
                          dict(type='nms', iou_threshold=thr))
    keep = keep[torch.sort(img_ids[keep], stable=True).indices]
    rank = rank_within_groups(img_ids[keep], int(img_ids.max()) + 1)
    return keep[rank < num_per_img]


@pytest.mark.parametrize('num_per_img', [1, 16, 64, 1000])
def test_early_stopping_nms_picks_what_full_nms_picks(num_per_img):
    losses, boxes, img_ids, labels = crowded_rois()
    expected = reference_selection(losses, boxes, img_ids, labels, num_per_img,
                                   0.7)
    got = select_hard_examples(
        losses,
        boxes,
        img_ids,
        num_imgs=2,
        num_per_img=num_per_img,
        nms_thr=0.7,
        nms_groups=labels)
    assert got.tolist() == expected.tolist()


@pytest.mark.parametrize('block_size', [1, 7, 100, 5000])
def test_nms_in_order_blocks_give_the_survivors_of_one_pass(block_size):
    losses, boxes, img_ids, labels = crowded_rois(n=600)
    order = torch.sort(losses, descending=True, stable=True).indices
    groups = img_ids * 4 + labels
    everything = nms_in_order(boxes, order, groups, 0.5, img_ids)
    first = nms_in_order(
        boxes,
        order,
        groups,
        0.5,
        img_ids,
        num_per_img=5,
        block_size=block_size)
    # the survivors of each image up to its 5th are the same, in order
    for img in (0, 1):
        assert (first[img_ids[first] == img][:5].tolist() == everything[
            img_ids[everything] == img][:5].tolist())
    assert (torch.bincount(img_ids[first]) >= 5).all()


def test_rank_within_groups():
    groups = torch.tensor([2, 0, 2, 1, 0, 2])
    assert rank_within_groups(groups, 3).tolist() == [0, 0, 1, 0, 1, 2]


def box_head(num_classes=3, **kwargs):
    """An mmdet BBoxHead, by default with the paper's loss: softmax CE +
    smooth-L1 (beta 1) on deltas."""
    from mmdet.models.roi_heads.bbox_heads import BBoxHead
    cfg = dict(
        with_avg_pool=False,
        in_channels=4,
        roi_feat_size=1,
        num_classes=num_classes,
        loss_cls=dict(type='CrossEntropyLoss', loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
    return BBoxHead(**dict(cfg, **kwargs))


def roi_targets(labels, num_classes, bbox_targets=None):
    """``get_targets(concat=True)``: weights 1, box weights on fg only."""
    n = len(labels)
    fg = (labels < num_classes).float()[:, None].expand(n, 4)
    if bbox_targets is None:
        bbox_targets = torch.zeros(n, 4)
    return labels, torch.ones(n), bbox_targets, fg


ROIS = torch.tensor([[0., 0, 0, 10, 10]] * 3)


def test_per_roi_loss_by_hand():
    num_classes = 3
    cls_score = torch.zeros(3, num_classes + 1)  # uniform: CE = log 4
    bbox_pred = torch.zeros(3, 4 * num_classes)
    bbox_pred[0, 4:8] = torch.tensor([1., 0., 0., 0.])  # class 1, |d| = 1
    bbox_pred[1, 8:12] = torch.tensor([0., 3., 0., 0.])  # class 2, |d| = 3
    bbox_pred[2] = 5.  # background: regression does not count
    targets = roi_targets(torch.tensor([1, 2, 3]), num_classes)
    head = box_head(num_classes)
    loss = per_roi_loss(head, cls_score, bbox_pred, ROIS, targets)
    ce = math.log(4)
    assert loss.tolist() == pytest.approx([ce + 0.5, ce + 2.5, ce])
    loss = per_roi_loss(
        head, cls_score, bbox_pred, ROIS, targets, terms=('bbox', ))
    assert loss.tolist() == pytest.approx([0.5, 2.5, 0.])
    loss = per_roi_loss(
        head, cls_score, bbox_pred, ROIS, targets, terms=('cls', ))
    assert loss.tolist() == pytest.approx([ce, ce, ce])
    # the head's own loss: L1 weighted by 2, sigmoid cross-entropy (summed
    # over the 4 channels, log 2 each at logit 0)
    head = box_head(
        num_classes,
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True),
        loss_bbox=dict(type='L1Loss', loss_weight=2.0))
    loss = per_roi_loss(head, cls_score, bbox_pred, ROIS, targets)
    bce = 4 * math.log(2)
    assert loss.tolist() == pytest.approx([bce + 2, bce + 6, bce])


def test_per_roi_loss_class_agnostic_and_fp32():
    cls_score = torch.zeros(2, 3, dtype=torch.bfloat16)
    bbox_pred = torch.tensor([[2., 0, 0, 0], [9., 9, 9, 9]],
                             dtype=torch.bfloat16)
    head = box_head(2, reg_class_agnostic=True)
    loss = per_roi_loss(head, cls_score, bbox_pred, ROIS[:2],
                        roi_targets(torch.tensor([0, 2]), 2))
    assert loss.dtype == torch.float32
    assert loss.tolist() == pytest.approx([math.log(3) + 1.5, math.log(3)])


def test_per_roi_loss_needs_one_value_per_roi():

    class MeanOnly(torch.nn.Module):
        """A loss that ignores reduction_override."""

        def forward(self, pred, target, weight=None, **kwargs):
            return pred.mean()

    head = box_head(3)
    head.loss_cls = MeanOnly()
    args = (head, torch.zeros(3, 4), torch.zeros(3, 12), ROIS,
            roi_targets(torch.tensor([0, 3, 3]), 3))
    with pytest.raises(
            ValueError,
            match="loss_cls of shape \\(\\), not one "
            'row per RoI \\(3\\)'):
        per_roi_loss(*args)
    # the regression term alone still ranks
    assert per_roi_loss(*args, terms=('bbox', )).tolist() == [0., 0., 0.]


@pytest.mark.cuda
@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs mmcv CUDA ops and a GPU')
def test_cuda_selection_equals_cpu():
    gen = torch.Generator().manual_seed(0)
    n = 4000
    xy = torch.rand(n, 2, generator=gen) * 500
    boxes = torch.cat([xy, xy + 20 + torch.rand(n, 2, generator=gen) * 200],
                      dim=1)
    # quantised losses produce many ties: the tie-break must hold on CUDA
    losses = (torch.rand(n, generator=gen) * 50).round() / 10
    img_ids = (torch.arange(n) >= n // 2).long()
    labels = torch.randint(21, (n, ), generator=gen)
    args = dict(num_imgs=2, num_per_img=64, nms_thr=0.7)
    cpu = select_hard_examples(
        losses, boxes, img_ids, nms_groups=labels, **args)
    cuda = select_hard_examples(
        losses.cuda(),
        boxes.cuda(),
        img_ids.cuda(),
        nms_groups=labels.cuda(),
        **args)
    assert cuda.cpu().tolist() == cpu.tolist()
