"""The two-copy OHEMRoIHead and the drop-in sampler on a tiny Fast R-CNN.

That an OHEM step equals the paper's slow design (loss over all RoIs, easy
ones zeroed), per box head and per cascade stage: test_box_heads.py.
"""
import copy

import pytest
import torch
from mmengine.logging import MessageHub
from tiny import SAMPLER, build, tiny_batch, tiny_fast_rcnn

import mmdet_ohem  # noqa: F401  (registers the head and the sampler)
from mmdet_ohem.errors import NonFiniteRoILossError


def train_step(model, batch):
    """Loss and parameter gradients of one step."""
    imgs, samples = copy.deepcopy(batch)
    model.zero_grad()
    losses = model.loss(imgs / 255, samples)
    loss, _ = model.parse_losses(losses)
    loss.backward()
    grads = {
        name: p.grad.clone()
        for name, p in model.named_parameters() if p.grad is not None
    }
    return loss.detach(), grads


def record(obj, method):
    """Wrap ``obj.method`` to record what it returns."""
    calls = []
    original = getattr(obj, method)

    def wrapper(*args, **kwargs):
        out = original(*args, **kwargs)
        calls.append(out)
        return out

    setattr(obj, method, wrapper)
    return calls


def hard_boxes(sampling_results):
    """The (image, box) pairs of hard RoIs, as a sorted list."""
    return sorted((i, tuple(box.tolist()))
                  for i, res in enumerate(sampling_results)
                  for box in res.priors)


def test_drop_in_sampler_picks_the_same_rois_as_the_head():
    head_model = build(tiny_fast_rcnn('OHEMRoIHead'))
    plain_model = build(tiny_fast_rcnn('StandardRoIHead'))
    plain_model.load_state_dict(head_model.state_dict())
    batch = tiny_batch()
    mined = record(head_model.roi_head.bbox_sampler, 'mine')
    sampled = record(plain_model.roi_head.bbox_sampler, 'sample')
    head_loss, head_grads = train_step(head_model, batch)
    plain_loss, plain_grads = train_step(plain_model, batch)

    assert hard_boxes(mined[0]) == hard_boxes(sampled)
    assert len(hard_boxes(sampled)) > 0
    torch.testing.assert_close(head_loss, plain_loss, rtol=1e-5, atol=0)
    for name, grad in head_grads.items():
        torch.testing.assert_close(
            grad, plain_grads[name], rtol=1e-4, atol=1e-7)


def test_readonly_pass_keeps_no_graph_and_backward_sees_hard_rois_only():
    cfg = tiny_fast_rcnn(sampler=dict(SAMPLER, readonly_chunk_size=16))
    model = build(cfg)
    calls = []

    def spy(module, inputs, outputs):
        calls.append((len(inputs[0]), torch.is_grad_enabled(),
                      outputs[0].requires_grad, outputs[0].grad_fn))

    model.roi_head.bbox_head.register_forward_hook(spy)
    mined = record(model.roi_head.bbox_sampler, 'mine')
    train_step(model, tiny_batch())

    *readonly, trainable = calls
    num_candidates = sum(n for n, *_ in readonly)
    # 2 images: (40 + 3) and (50 + 2) RoIs, in chunks of 16
    assert num_candidates == 95
    assert len(readonly) == 6
    assert all(not grad and not req and fn is None
               for _, grad, req, fn in readonly)
    num_hard = sum(len(r.pos_inds) + len(r.neg_inds) for r in mined[0])
    assert trainable[0] == num_hard <= 2 * SAMPLER['num']
    assert trainable[1] and trainable[2]


def test_training_log_gets_hard_set_statistics():
    model = build(tiny_fast_rcnn())
    hub = MessageHub.get_instance('test_ohem_stats')
    train_step(model, tiny_batch())
    scalars = hub.log_scalars
    for key in ('ohem_num_hard', 'ohem_hard_fg_frac', 'ohem_all_fg_frac',
                'ohem_hard_loss', 'ohem_all_loss', 'ohem_invalid_rois'):
        assert f'train/{key}' in scalars, key
    assert scalars['train/ohem_num_hard'].current() == SAMPLER['num']
    # the hard set is harder than the average RoI
    assert (scalars['train/ohem_hard_loss'].current()
            > scalars['train/ohem_all_loss'].current())


def test_readonly_eval_mode_is_restored_and_dropout_matters():
    bbox_head = dict(
        type='Shared2FCBBoxHead',
        in_channels=16,
        fc_out_channels=32,
        roi_feat_size=7,
        num_classes=3)
    for mode in ('train', 'eval'):
        model = build(
            tiny_fast_rcnn(
                bbox_head=bbox_head, sampler=dict(SAMPLER,
                                                  readonly_mode=mode)))
        seen = []
        model.roi_head.bbox_head.register_forward_pre_hook(
            lambda m, i: seen.append(m.training))
        train_step(model, tiny_batch())
        assert seen[:-1] == [mode == 'train'] * (len(seen) - 1)
        assert seen[-1] is True and model.roi_head.training


def test_empty_images_no_gt_and_no_proposals():
    model = build(tiny_fast_rcnn())
    batch = tiny_batch(num_gts=(0, 2), num_proposals=(30, 0))
    mined = record(model.roi_head.bbox_sampler, 'mine')
    loss, _ = train_step(model, batch)
    assert torch.isfinite(loss)
    no_gt, no_props = mined[0]
    assert len(no_gt.pos_inds) == 0 and len(no_gt.neg_inds) == 8
    # only the 2 GT boxes are candidates: fewer than the budget, all kept
    assert len(no_props.pos_inds) == 2 and len(no_props.neg_inds) == 0


def test_degenerate_proposals_are_dropped_and_counted():
    model = build(tiny_fast_rcnn())
    imgs, samples = tiny_batch()
    boxes = samples[0].proposals.bboxes
    boxes[:3] = boxes[:3, [2, 3, 0, 1]]  # inverted
    boxes[3, 2] = boxes[3, 0]  # zero width
    hub = MessageHub.get_instance('test_ohem_invalid')
    mined = record(model.roi_head.bbox_sampler, 'mine')
    train_step(model, (imgs, samples))
    assert hub.get_scalar('train/ohem_invalid_rois').current() == 4
    for res in mined[0]:
        pri = res.priors
        assert ((pri[:, 2] > pri[:, 0]) & (pri[:, 3] > pri[:, 1])).all()


def test_ignore_boxes_are_never_background():
    assigner = dict(
        type='MaxIoUAssigner',
        pos_iou_thr=0.5,
        neg_iou_thr=0.5,
        min_pos_iou=0.5,
        ignore_iof_thr=0.5)
    model = build(
        tiny_fast_rcnn(
            assigner=assigner, sampler=dict(SAMPLER, num=1000, nms_thr=None)))
    imgs, samples = tiny_batch()
    ignore = torch.tensor([[40., 0., 96., 64.]])
    for s in samples:
        s.ignored_instances = s.ignored_instances.new(
            bboxes=ignore, labels=torch.zeros(1).long())
    mined = record(model.roi_head.bbox_sampler, 'mine')
    train_step(model, (imgs, samples))
    from mmdet.structures.bbox import bbox_overlaps
    for res in mined[0]:
        iof = bbox_overlaps(res.neg_priors, ignore, mode='iof')
        assert len(res.neg_priors) > 0
        assert (iof <= 0.5).all()


def test_non_finite_loss_names_the_image():
    model = build(tiny_fast_rcnn())
    with torch.no_grad():
        model.roi_head.bbox_head.fc_cls.bias[0] = float('nan')
    with pytest.raises(
            NonFiniteRoILossError, match="image 'img_0.jpg': 43 of 43 RoIs"):
        train_step(model, tiny_batch())


def test_head_needs_our_sampler_and_sampler_rejects_unknown_keys():
    with pytest.raises(TypeError, match='OnlineHardExampleSampler'):
        build(
            tiny_fast_rcnn(
                sampler=dict(type='RandomSampler', num=8, pos_fraction=0.25)))
    with pytest.raises(
            TypeError, match="unknown keys \\['nms_thresh'\\]"
            ".*'nms_thr'"):
        build(tiny_fast_rcnn(sampler=dict(SAMPLER, nms_thresh=0.7)))
    with pytest.raises(ValueError, match='readonly_mode'):
        build(tiny_fast_rcnn(sampler=dict(SAMPLER, readonly_mode='test')))


def test_class_agnostic_regression_and_bf16_readonly_pass():
    bbox_head = tiny_fast_rcnn()['roi_head']['bbox_head']
    cfg = tiny_fast_rcnn(
        bbox_head=dict(bbox_head, reg_class_agnostic=True),
        sampler=dict(SAMPLER, readonly_dtype='bfloat16'))
    model = build(cfg)
    mined = record(model.roi_head.bbox_sampler, 'mine')
    loss, grads = train_step(model, tiny_batch())
    assert torch.isfinite(loss)
    assert model.roi_head.bbox_head.fc_reg.out_features == 4
    assert sum(len(r.priors) for r in mined[0]) == 2 * SAMPLER['num']


def test_bf16_pass_warns_once_on_a_cpu_without_bf16(monkeypatch):
    from mmdet_ohem.ohem import readonly
    logged = []
    monkeypatch.setattr(readonly, 'cpu_has_bf16', lambda: False)
    monkeypatch.setattr(readonly, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    readonly._warn_if_no_cpu_bf16.cache_clear()
    model = build(
        tiny_fast_rcnn(sampler=dict(SAMPLER, readonly_dtype='bfloat16')))
    train_step(model, tiny_batch())
    train_step(model, tiny_batch())
    readonly._warn_if_no_cpu_bf16.cache_clear()
    assert len(logged) == 1
    assert 'no bf16 matrix units' in logged[0]
    assert 'readonly_dtype=None' in logged[0]
