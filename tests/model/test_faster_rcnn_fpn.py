"""OHEM on a multi-level (FPN) Faster R-CNN, built from mmdet's config."""
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.utils import get_installed_path
from tiny import REPO

pytestmark = pytest.mark.slow  # a few seconds per step of a big model


def build_and_step(cfg):
    """The config's model (seeded) and its losses on two random COCO-style
    images of 128x160."""
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    data = demo_mm_inputs(
        batch_size=2,
        image_shapes=[(3, 128, 160)] * 2,
        num_items=[3, 2],
        num_classes=80)
    data = model.data_preprocessor(data, training=True)
    return model, model.loss(data['inputs'], data['data_samples'])


@pytest.mark.parametrize('roi_head', ['OHEMRoIHead', 'StandardRoIHead'])
def test_faster_rcnn_r50_fpn_ohem_one_training_step(roi_head):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/faster_rcnn_r50_fpn_ohem_1x_coco.py'))
    assert cfg.model.train_cfg.rcnn.sampler.type == 'OnlineHardExampleSampler'
    cfg.model.backbone.init_cfg = None
    cfg.model.roi_head.type = roi_head
    model, losses = build_and_step(cfg)
    loss, log_vars = model.parse_losses(losses)
    assert torch.isfinite(loss)
    assert {'loss_rpn_cls', 'loss_cls', 'loss_bbox'} <= set(log_vars)
    # the RoI head's losses alone: the RPN's would reach every FPN conv
    (losses['loss_cls'] + losses['loss_bbox']).backward()
    assert all(p.grad is None for p in model.rpn_head.parameters())
    fc_cls = model.roi_head.bbox_head.fc_cls.weight.grad
    assert fc_cls is not None and fc_cls.abs().sum() > 0
    # every level's lateral conv feeds the finest level's RoIs top-down
    for conv in model.neck.lateral_convs:
        grad = conv.conv.weight.grad
        assert grad is not None and grad.abs().sum() > 0


@pytest.mark.parametrize('sampler',
                         ['OHEMSampler', 'OnlineHardExampleSampler'])
@pytest.mark.parametrize('config', [
    'double_heads/dh-faster-rcnn_r50_fpn_1x_coco.py',
    'cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
])
def test_mmdet_configs_with_either_ohem_sampler(config, sampler):
    """Where mmdet's OHEMSampler works, ours does: mmdet's Double-Head and
    Cascade R-CNN (an R18 trunk) with each sampler, one loss step."""
    cfg = Config.fromfile(
        osp.join(get_installed_path('mmdet'), '.mim', 'configs', config))
    cfg.model.backbone.update(depth=18, init_cfg=None)
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    rcnn = cfg.model.train_cfg.rcnn
    for stage in rcnn if isinstance(rcnn, list) else [rcnn]:
        stage.sampler = dict(type=sampler, num=64)
        if sampler == 'OHEMSampler':
            stage.sampler.pos_fraction = 0.25
    model, losses = build_and_step(cfg)
    loss, log_vars = model.parse_losses(losses)
    assert torch.isfinite(loss)
    assert any('loss_bbox' in key for key in log_vars)
