"""A tiny Fast R-CNN, generated batches and the repository root, for
the tests in every folder."""
import copy
import os.path as osp

import torch
from mmdet.registry import MODELS
from mmengine.config import Config, ConfigDict

from mmdet_ohem.workbench.batch import synthetic_batch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(REPO, 'configs/demo/fast_rcnn_tiny_ohem_synthvoc.py')
NUM_CLASSES = 3

SAMPLER = dict(type='OnlineHardExampleSampler', num=8, nms_thr=0.7)


def tiny_fast_rcnn(roi_head='OHEMRoIHead',
                   sampler=SAMPLER,
                   bbox_head=None,
                   assigner=None):
    """The demo's OHEM Fast R-CNN, shrunk: 16-channel backbone of stride 8,
    32-unit fcs, frozen batch norm, 3 classes."""
    model = Config.fromfile(DEMO_CONFIG).model
    model.backbone.update(
        stem_channels=8,
        base_channels=8,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True)
    model.roi_head.type = roi_head
    model.roi_head.bbox_roi_extractor.out_channels = 16
    if bbox_head is None:
        bbox_head = model.roi_head.bbox_head
        bbox_head.update(
            in_channels=16, fc_out_channels=32, num_classes=NUM_CLASSES)
    model.roi_head.bbox_head = bbox_head
    model.data_preprocessor.update(
        mean=[0., 0., 0.], std=[255., 255., 255.], bgr_to_rgb=False)
    rcnn = model.train_cfg.rcnn
    rcnn.sampler = sampler
    if assigner is not None:
        rcnn.assigner = assigner
    return model.to_dict()


def build(cfg, seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(ConfigDict(copy.deepcopy(cfg)))
    model.init_weights()
    return model


def tiny_batch(num_imgs=2,
               size=(64, 96),
               num_gts=(3, 2),
               num_proposals=(40, 50),
               seed=0):
    """Images with GT boxes and proposals, half of them jittered around the
    GT boxes (:func:`mmdet_ohem.workbench.batch.synthetic_batch`).

    Returns:
        tuple[Tensor, list[DetDataSample]]: (N, 3, H, W) float images and
        their samples with ``gt_instances``, ``ignored_instances`` and
        ``proposals``.
    """
    return synthetic_batch(
        num_imgs,
        size,
        num_gts,
        num_proposals,
        num_classes=NUM_CLASSES,
        seed=seed)
