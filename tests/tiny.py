"""A tiny Fast R-CNN and generated batches for CPU tests."""
import copy
import os.path as osp

import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config, ConfigDict
from mmengine.structures import InstanceData

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
    """Images with GT boxes and proposals jittered around them.

    Returns:
        tuple[Tensor, list[DetDataSample]]: (N, 3, H, W) float images and
        their samples with ``gt_instances``, ``ignored_instances`` and
        ``proposals``.
    """
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    imgs = torch.rand(num_imgs, 3, h, w, generator=gen) * 255
    samples = []
    for i in range(num_imgs):
        n_gt, n_prop = num_gts[i], num_proposals[i]
        xy = torch.rand(n_gt, 2, generator=gen) * torch.tensor([w / 2, h / 2])
        wh = 12 + torch.rand(n_gt, 2, generator=gen) * 20
        gt = torch.cat([xy, xy + wh], dim=1)
        # half the proposals around GT boxes, half anywhere
        near = gt[torch.randint(
            max(n_gt, 1),
            (n_prop // 2, ), generator=gen)] if n_gt else gt.new_zeros(0, 4)
        near = near + torch.randn(len(near), 4, generator=gen) * 4
        xy = torch.rand(
            n_prop - len(near), 2, generator=gen) * torch.tensor(
                [w - 16, h - 16])
        wh = 8 + torch.rand(len(xy), 2, generator=gen) * 40
        anywhere = torch.cat([xy, xy + wh], dim=1)
        props = torch.cat([near, anywhere])
        props[:, 0::2] = props[:, 0::2].clamp(0, w - 1)
        props[:, 1::2] = props[:, 1::2].clamp(0, h - 1)
        props[:, 2:] = torch.maximum(props[:, 2:], props[:, :2] + 2)
        sample = DetDataSample(
            metainfo=dict(
                img_path=f'img_{i}.jpg',
                img_shape=(h, w),
                ori_shape=(h, w),
                pad_shape=(h, w),
                batch_input_shape=(h, w),
                scale_factor=(1., 1.)))
        sample.gt_instances = InstanceData(
            bboxes=gt,
            labels=torch.randint(NUM_CLASSES, (n_gt, ), generator=gen))
        sample.ignored_instances = InstanceData(
            bboxes=torch.zeros(0, 4), labels=torch.zeros(0).long())
        sample.proposals = InstanceData(
            bboxes=props, scores=torch.rand(len(props), generator=gen))
        samples.append(sample)
    return imgs, samples
