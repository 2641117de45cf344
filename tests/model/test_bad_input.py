"""Bad input and NaN losses: a clear error or a counted skip, never silence.

Each case names what the run gets; the outcomes without NonFiniteLossHook
are in the comments.
"""
import copy
import hashlib
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging import MessageHub, MMLogger
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from tiny import SAMPLER, build, tiny_batch, tiny_fast_rcnn
from tiny_runs import demo_cfg

from mmdet_ohem.engine import NonFiniteLossHook
from mmdet_ohem.errors import (NonFiniteInputError, NonFiniteLossError,
                               NonFiniteRoILossError)

BASELINE_SAMPLER = dict(
    type='RandomSampler', num=8, pos_fraction=0.25, add_gt_as_proposals=True)


def hooked(model, action='raise', iteration=6):
    """Attach a NonFiniteLossHook to ``model`` as a Runner at 0-based
    ``iteration`` would."""
    runner = SimpleNamespace(
        model=model,
        iter=iteration,
        optim_wrapper=OptimWrapper(
            torch.optim.SGD(model.parameters(), lr=0.01)),
        message_hub=MessageHub.get_instance('test_bad_input'),
        logger=MMLogger.get_instance('test_bad_input'))
    hook = NonFiniteLossHook(action)
    hook.before_train(runner)
    return hook


def nan_pixel(imgs, samples):
    imgs[1, 0, 3, 4] = float('nan')


def inf_gt(imgs, samples):
    samples[1].gt_instances.bboxes[0, 2] = float('inf')


def inverted_gt(imgs, samples):
    samples[0].gt_instances.bboxes[1] = samples[0].gt_instances.bboxes[
        1, [2, 3, 0, 1]]


def nan_proposal(imgs, samples):
    samples[0].proposals.bboxes[5, 1] = float('nan')


# Without the hook: a NaN pixel makes OHEM raise NonFiniteRoILossError but
# it blames every image of the batch (batch-norm statistics mix them), and
# the baseline trains on a NaN loss; an inf GT box is silently lost for
# OHEM (now a ValueError from the sampler) and crashes mmcv's CPU RoIAlign
# in the baseline (INTERNAL ASSERT); an inverted GT box trains as a wrong
# target; NaN proposals are dropped by OHEM (counted) and ignored by the
# baseline's assigner.
@pytest.mark.parametrize('corrupt, message', [
    (nan_pixel, "'img_1.jpg': non-finite pixels"),
    (inf_gt, "'img_1.jpg': 1 gt_instances boxes with non-finite"),
    (inverted_gt, "'img_0.jpg': 1 gt_instances boxes with x2 < x1"),
    (nan_proposal, "'img_0.jpg': 1 proposals boxes with non-finite"),
])
@pytest.mark.parametrize('roi_head', ['OHEMRoIHead', 'StandardRoIHead'])
def test_bad_input_is_named_before_the_forward(corrupt, message, roi_head):
    sampler = SAMPLER if roi_head == 'OHEMRoIHead' else BASELINE_SAMPLER
    model = build(tiny_fast_rcnn(roi_head, sampler=sampler))
    hooked(model)
    imgs, samples = tiny_batch()
    corrupt(imgs, samples)
    with pytest.raises(NonFiniteInputError) as err:
        model(imgs / 255, samples, mode='loss')
    assert str(err.value).startswith('Bad training input at iteration 7: ')
    assert message in str(err.value)
    assert str(err.value).count('img_') == 1


def test_non_finite_gt_stops_ohem_sampler_even_without_hook():
    model = build(tiny_fast_rcnn())
    imgs, samples = tiny_batch()
    inf_gt(imgs, samples)
    with pytest.raises(ValueError, match='1 of 2 GT boxes .* non-finite'):
        model.loss(imgs / 255, samples)


@pytest.mark.parametrize('roi_head', ['OHEMRoIHead', 'StandardRoIHead'])
@pytest.mark.parametrize('num_gts', [(0, 0), (3, 2)])
def test_images_without_proposals_train(roi_head, num_gts):
    sampler = SAMPLER if roi_head == 'OHEMRoIHead' else BASELINE_SAMPLER
    model = build(tiny_fast_rcnn(roi_head, sampler=sampler))
    hooked(model)
    imgs, samples = tiny_batch(num_gts=num_gts, num_proposals=(0, 0))
    losses = model(imgs / 255, samples, mode='loss')
    loss, _ = model.parse_losses(losses)
    loss.backward()
    assert torch.isfinite(loss)


def test_unknown_config_keys_are_listed():
    with pytest.raises(
            TypeError,
            match="unknown keys \\['bbox_heads'\\]; "
            "valid keys are \\['bbox_roi_extractor', 'bbox_head'"):
        cfg = tiny_fast_rcnn()
        cfg['roi_head']['bbox_heads'] = cfg['roi_head'].pop('bbox_head')
        build(cfg)
    with pytest.raises(TypeError, match="unknown keys \\['num_rois'\\]"):
        build(tiny_fast_rcnn(sampler=dict(SAMPLER, num_rois=64)))
    with pytest.raises(ValueError, match="action='ignore'"):
        NonFiniteLossHook(action='ignore')


def test_roi_loss_error_formats_what_its_caller_gives():
    # a message hub at another iteration: the error must not read it
    MessageHub.get_instance('test_roi_loss_error').update_info('iter', 41)
    err = NonFiniteRoILossError({1: (3, 40)}, ['a.jpg', 'b.jpg'], 6)
    assert str(err).startswith(
        'OHEM read-only pass produced non-finite RoI losses at iteration 7, '
        "so no hard example can be chosen (image 'b.jpg': 3 of 40 RoIs). ")
    err = NonFiniteRoILossError({0: (1, 5), 2: (5, 5)})
    assert str(err).startswith(
        'OHEM read-only pass produced non-finite RoI losses, so no hard '
        'example can be chosen (image 0 of the batch: 1 of 5 RoIs; image 2 '
        'of the batch: 5 of 5 RoIs). ')


class PoisonHook(Hook):
    """Makes the classifier's bias NaN for iteration ``at`` (1-based) and
    remembers the weights, optimizer state and last checkpoint before it."""

    def __init__(self, at, heal=False):
        self.at = at
        self.heal = heal

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 != self.at:
            return
        model = runner.model
        self.weights = copy.deepcopy(model.state_dict())
        self.momenta = [
            s['momentum_buffer'].clone()
            for s in runner.optim_wrapper.optimizer.state.values()
        ]
        last = osp.join(runner.work_dir, f'iter_{self.at - 1}.pth')
        with open(last, 'rb') as f:
            self.last = (last, hashlib.sha256(f.read()).hexdigest())
        with torch.no_grad():
            model.roi_head.bbox_head.fc_cls.bias[0] = float('nan')

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at and self.heal:
            bias = 'roi_head.bbox_head.fc_cls.bias'
            with torch.no_grad():
                runner.model.roi_head.bbox_head.fc_cls.bias.copy_(
                    self.weights[bias])
            self.after = copy.deepcopy(runner.model.state_dict())
            self.momenta_after = [
                s['momentum_buffer'].clone()
                for s in runner.optim_wrapper.optimizer.state.values()
            ]


pytestmark = pytest.mark.usefixtures('fast_config_text')


@pytest.mark.parametrize('name, error, message', [
    ('baseline', NonFiniteLossError,
     'Non-finite loss at iteration 3 (loss_cls=nan'),
    ('ohem', NonFiniteRoILossError, 'non-finite RoI losses at iteration 3'),
])
def test_nan_loss_stops_the_run_and_keeps_the_last_checkpoint(
        name, error, message, data_root, tmp_path):
    cfg = demo_cfg(
        name,
        data_root,
        tmp_path,
        4,
        custom_hooks=[dict(type='NonFiniteLossHook')],
        **{'default_hooks.checkpoint.interval': 2})
    runner = Runner.from_cfg(cfg)
    poison = PoisonHook(at=3)
    runner.register_hook(poison)
    with pytest.raises(error) as err:
        runner.train()
    assert message in str(err.value)
    # the batch's images are named
    assert str(err.value).count('JPEGImages/') == 2, str(err.value)
    path, digest = poison.last
    with open(path, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == digest
    assert not osp.exists(osp.join(str(tmp_path), 'iter_3.pth'))
    state = torch.load(path, weights_only=True)['state_dict']
    for key, value in poison.weights.items():
        assert torch.equal(state[key], value), key


def test_skip_option_leaves_weights_and_optimizer_untouched(
        data_root, tmp_path):
    cfg = demo_cfg(
        'baseline',
        data_root,
        tmp_path,
        4,
        custom_hooks=[dict(type='NonFiniteLossHook', action='skip')],
        **{'default_hooks.checkpoint.interval': 2})
    runner = Runner.from_cfg(cfg)
    poison = PoisonHook(at=3, heal=True)
    runner.register_hook(poison)
    runner.train()
    assert runner.iter == 4
    assert runner.message_hub.get_info('nonfinite_skipped_steps') == 1
    for key, value in poison.weights.items():
        assert torch.equal(poison.after[key], value), key
    for before, after in zip(poison.momenta, poison.momenta_after):
        assert torch.equal(before, after)
    final = runner.model.state_dict()
    assert all(torch.isfinite(v).all() for v in final.values())
    assert not torch.equal(final['roi_head.bbox_head.fc_cls.weight'],
                           poison.weights['roi_head.bbox_head.fc_cls.weight'])
