"""OHEM with any box head and at every stage of a cascade.

For each head, the read-only pass scores RoIs through the head's own
``_bbox_forward`` and ranks them by the head's own loss; the OHEM step's
loss and every parameter gradient equal the paper's slow design (every
candidate through the trainable network, the easy ones' loss zeroed).
"""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi, bbox_overlaps
from test_ohem_head import train_step
from tiny import NUM_CLASSES, SAMPLER, build, tiny_batch, tiny_fast_rcnn

from mmdet_ohem.ohem import BoxBranch

CODER = dict(
    type='DeltaXYWHBBoxCoder',
    target_means=[0.] * 4,
    target_stds=[0.1, 0.1, 0.2, 0.2])
LOSSES = dict(
    loss_cls=dict(type='CrossEntropyLoss', loss_weight=1.0),
    loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
FC_HEAD = dict(
    type='Shared2FCBBoxHead',
    in_channels=16,
    fc_out_channels=32,
    roi_feat_size=7,
    num_classes=NUM_CLASSES,
    bbox_coder=CODER,
    reg_class_agnostic=False,
    **LOSSES)


def c4_model():
    """mmdet's C4 layout: a ResNet stage as the shared head of 14x14 RoI
    features (batch norm frozen), then average pooling and the fcs."""
    cfg = tiny_fast_rcnn(
        bbox_head=dict(
            type='BBoxHead',
            with_avg_pool=True,
            in_channels=128,
            roi_feat_size=7,
            num_classes=NUM_CLASSES,
            bbox_coder=CODER,
            **LOSSES))
    cfg['backbone']['base_channels'] = 32  # 64 channels out
    cfg['roi_head']['bbox_roi_extractor'].update(
        roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=2),
        out_channels=64)
    cfg['roi_head']['shared_head'] = dict(
        type='ResLayer', depth=18, stage=1, stride=2, norm_eval=True)
    return cfg


def double_head_model():
    """mmdet's Double-Head: convs for regression, fcs for classification,
    regression RoIs enlarged x1.3; the drop-in sampler mines for it. Its
    conv branch has batch norm: in train mode, statistics over the hard
    RoIs differ from those over all RoIs, so the test runs it in eval
    mode (read-only pass too)."""
    cfg = tiny_fast_rcnn(
        roi_head='DoubleHeadRoIHead',
        sampler=dict(SAMPLER, readonly_mode='eval'),
        bbox_head=dict(
            type='DoubleConvFCBBoxHead',
            num_convs=1,
            num_fcs=1,
            in_channels=16,
            conv_out_channels=16,
            fc_out_channels=32,
            roi_feat_size=7,
            num_classes=NUM_CLASSES,
            bbox_coder=CODER,
            reg_class_agnostic=False,
            **LOSSES))
    cfg['roi_head']['reg_roi_scale_factor'] = 1.3
    return cfg


HEADS = {
    'Shared2FCBBoxHead':
    tiny_fast_rcnn(bbox_head=FC_HEAD),
    'Shared4Conv1FCBBoxHead':
    tiny_fast_rcnn(
        bbox_head=dict(
            FC_HEAD, type='Shared4Conv1FCBBoxHead', conv_out_channels=16)),
    'C4 shared head':
    c4_model(),
    'GIoU on decoded boxes':
    tiny_fast_rcnn(
        bbox_head=dict(
            FC_HEAD,
            reg_decoded_bbox=True,
            loss_bbox=dict(type='GIoULoss', loss_weight=10.0))),
    'class-agnostic regression':
    tiny_fast_rcnn(bbox_head=dict(FC_HEAD, reg_class_agnostic=True)),
    'Double-Head':
    double_head_model(),
}


def record_calls(obj, method):
    """Wrap ``obj.method`` to record its positional arguments and result."""
    calls = []
    original = getattr(obj, method)

    def wrapper(*args, **kwargs):
        out = original(*args, **kwargs)
        calls.append((args, out))
        return out

    setattr(obj, method, wrapper)
    return calls


def naive_masked_loss(branch, x, candidates, hard):
    """Every candidate through the trainable branch, the loss of the RoIs
    not in ``hard`` zeroed, normalised by the hard RoIs as OHEM does."""
    rois = bbox2roi([c.priors for c in candidates])
    out = branch.forward(x, rois)
    labels, label_w, targets, bbox_w = branch.bbox_head.get_targets(
        candidates, branch.train_cfg, concat=True)
    is_hard = torch.cat([
        torch.cat([
            torch.isin(c.pos_inds, h.pos_inds),
            torch.isin(c.neg_inds, h.neg_inds)
        ]) for c, h in zip(candidates, hard)
    ]).float()
    num_hard = int(is_hard.sum())
    assert 0 < num_hard < len(is_hard), 'the test needs easy RoIs to zero'
    ref = branch.bbox_head.loss(out['cls_score'], out['bbox_pred'], rois,
                                labels, label_w * is_hard, targets,
                                bbox_w * is_hard[:, None])
    # mmdet averages the box loss over all RoIs given; OHEM over the hard.
    return ref['loss_cls'] + ref['loss_bbox'] * len(is_hard) / num_hard


def assert_same_grads(grads, model):
    for name, p in model.named_parameters():
        if name in grads:
            torch.testing.assert_close(
                grads[name], p.grad, rtol=1e-4, atol=1e-6, msg=name)
    assert any('bbox_head' in name for name in grads)
    assert any('backbone' in name for name in grads)


@pytest.mark.parametrize('head', list(HEADS))
def test_each_head_mines_and_equals_the_masked_full_forward(head):
    model = build(HEADS[head])
    if head == 'Double-Head':
        model.eval()  # batch norm with running statistics; see above
    sampler = model.roi_head.bbox_sampler
    calls = record_calls(sampler, 'mine')
    batch = tiny_batch()
    loss, grads = train_step(model, batch)
    # the two-copy head mines the batch at once; the drop-in sampler
    # (Double-Head) each image on its own
    candidates = [c for (_, cands, *_), _ in calls for c in cands]
    hard = [h for _, out in calls for h in out]
    assert len(candidates) == len(hard) == 2
    assert 0 < sum(len(h.priors) for h in hard) <= 2 * SAMPLER['num']

    imgs, _ = copy.deepcopy(batch)
    model.zero_grad()
    x = model.extract_feat(imgs / 255)
    ref = naive_masked_loss(BoxBranch(model.roi_head), x, candidates, hard)
    ref.backward()
    torch.testing.assert_close(loss, ref.detach(), rtol=1e-4, atol=0)
    assert_same_grads(grads, model)


@MODELS.register_module(force=True)
class MeanOnlyLoss(torch.nn.Module):
    """A classification loss that is always reduced to its mean."""

    def forward(self, cls_score, labels, weight=None, **kwargs):
        return torch.nn.functional.cross_entropy(cls_score, labels)


def test_a_head_whose_loss_cannot_rank_stops_at_build():
    cfg = tiny_fast_rcnn(
        bbox_head=dict(FC_HEAD, loss_cls=dict(type='MeanOnlyLoss')))
    with pytest.raises(ValueError) as error:
        build(cfg)
    message = str(error.value)
    assert message.startswith('OnlineHardExampleSampler ranks RoIs by the '
                              "box head's own loss taken per RoI")
    for part in ('OHEMRoIHead with Shared2FCBBoxHead', 'MeanOnlyLoss',
                 'loss_cls of shape ()', "loss_terms=('cls', )",
                 "mmdet's OHEMSampler"):
        assert part in message
    # ranked by the box loss alone, the head builds and mines
    model = build(
        tiny_fast_rcnn(
            bbox_head=dict(FC_HEAD, loss_cls=dict(type='MeanOnlyLoss')),
            sampler=dict(SAMPLER, loss_terms=('bbox', ))))
    loss, _ = train_step(model, tiny_batch())
    assert torch.isfinite(loss)


STAGE_IOUS = (0.5, 0.6, 0.7)


def tiny_cascade(roi_head='OHEMCascadeRoIHead', sampler=SAMPLER):
    """The tiny detector with a three-stage cascade head: IoU 0.5, 0.6,
    0.7, class-agnostic regression with the stages' target stds."""
    cfg = tiny_fast_rcnn()
    stds = [
        [0.1, 0.1, 0.2, 0.2],
        [0.05, 0.05, 0.1, 0.1],
        [0.033, 0.033, 0.067, 0.067],
    ]
    cfg['roi_head'] = dict(
        type=roi_head,
        num_stages=3,
        stage_loss_weights=[1, 0.5, 0.25],
        bbox_roi_extractor=cfg['roi_head']['bbox_roi_extractor'],
        bbox_head=[
            dict(
                FC_HEAD,
                reg_class_agnostic=True,
                bbox_coder=dict(CODER, target_stds=std)) for std in stds
        ])
    rcnn = cfg['train_cfg']['rcnn']
    cfg['train_cfg']['rcnn'] = [
        dict(
            rcnn,
            assigner=dict(
                rcnn['assigner'],
                pos_iou_thr=iou,
                neg_iou_thr=iou,
                min_pos_iou=iou),
            sampler=sampler) for iou in STAGE_IOUS
    ]
    cfg['test_cfg']['rcnn'] = dict(
        score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5))
    return cfg


@pytest.mark.parametrize('stage', [0, 1, 2])
def test_cascade_stage_equals_the_masked_full_forward(stage):
    """Each stage mines its own candidates (its own IoU threshold, the
    previous stage's refined boxes); its loss and gradients equal the
    masked full forward of that stage, times the stage's weight."""
    model = build(tiny_cascade())
    head = model.roi_head
    calls = [record_calls(s, 'mine') for s in head.bbox_sampler]
    refined = [record_calls(h, 'refine_bboxes') for h in head.bbox_head]
    batch = tiny_batch()
    imgs, samples = copy.deepcopy(batch)
    model.zero_grad()
    losses = model.loss(imgs / 255, samples)
    loss = sum(v for k, v in losses.items() if k.startswith(f's{stage}.loss'))
    loss.backward()
    grads = {
        name: p.grad.clone()
        for name, p in model.named_parameters() if p.grad is not None
    }
    assert [len(c) for c in calls] == [1, 1, 1]  # once per stage
    (_, candidates, *_), (hard, _) = calls[stage][0]
    # a stage's assignment is its own: positives overlap by its IoU
    for cand in candidates:
        ious = bbox_overlaps(
            cand.pos_priors, cand.pos_gt_bboxes, is_aligned=True)
        assert len(ious) > 0 and (ious >= STAGE_IOUS[stage] - 1e-6).all()
    if stage > 0:
        # every candidate of the previous stage was refined and passed on,
        # not only its hard RoIs
        (_, prev, *_), (prev_hard, _) = calls[stage - 1][0]
        (_, out), = refined[stage - 1]
        for cand, cand_hard, boxes in zip(prev, prev_hard, out):
            assert len(boxes) == len(cand.priors) - int(cand.pos_is_gt.sum())
            assert len(boxes) > len(cand_hard.priors)

    model.zero_grad()
    x = model.extract_feat(imgs / 255)
    ref = naive_masked_loss(BoxBranch(head, stage), x, candidates,
                            hard) * head.stage_loss_weights[stage]
    ref.backward()
    torch.testing.assert_close(loss.detach(), ref.detach(), rtol=1e-4, atol=0)
    assert_same_grads(grads, model)
    # the other stages' heads get no gradient from this stage's loss
    assert not any(f'bbox_head.{s}.' in name for name in grads
                   for s in range(3) if s != stage)


def test_cascade_head_needs_ours_at_every_stage_drop_in_works():
    cfg = tiny_cascade()
    cfg['train_cfg']['rcnn'][1]['sampler'] = dict(
        type='RandomSampler', num=8, pos_fraction=0.25)
    with pytest.raises(
            TypeError,
            match=r"train_cfg.rcnn\[1\].sampler of type "
            "'OnlineHardExampleSampler', got 'RandomSampler'"):
        build(cfg)
    # mmdet's CascadeRoIHead with the drop-in sampler: each stage's sampler
    # scores with its own stage
    model = build(tiny_cascade('CascadeRoIHead'))
    assert [s.branch.stage for s in model.roi_head.bbox_sampler] == [0, 1, 2]
    losses = model.loss(*tiny_batch_scaled())
    assert {f's{s}.loss_cls' for s in range(3)} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())


def tiny_batch_scaled():
    imgs, samples = tiny_batch()
    return imgs / 255, samples


def test_cascade_with_an_image_without_gt_and_one_without_proposals():
    model = build(tiny_cascade())
    calls = [record_calls(s, 'mine') for s in model.roi_head.bbox_sampler]
    imgs, samples = tiny_batch(num_gts=(0, 2), num_proposals=(30, 0))
    losses = model.loss(imgs / 255, samples)
    assert all(torch.isfinite(v).all() for v in losses.values())
    for stage_calls in calls:
        (_, (no_gt, no_props), *_), _ = stage_calls[0]
        assert len(no_gt.pos_inds) == 0 and len(no_gt.neg_inds) > 0
        # the second image's only candidates are its 2 GT boxes, at every
        # stage (the refined GT boxes are not passed on)
        assert len(no_props.pos_inds) == 2 and len(no_props.neg_inds) == 0


def test_cascade_logs_each_stage_statistics_under_its_prefix():
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('test_cascade_stats')
    model = build(tiny_cascade())
    model.loss(*tiny_batch_scaled())
    for stage in range(3):
        num_hard = hub.get_scalar(f'train/s{stage}.ohem_num_hard').current()
        assert 0 < num_hard <= SAMPLER['num']
    assert 'train/ohem_num_hard' not in hub.log_scalars
