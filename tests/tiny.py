"""A tiny Fast R-CNN and generated batches for CPU tests."""
import copy

import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

NUM_CLASSES = 3

SAMPLER = dict(type='OnlineHardExampleSampler', num=8, nms_thr=0.7)


def tiny_fast_rcnn(roi_head='OHEMRoIHead',
                   sampler=SAMPLER,
                   bbox_head=None,
                   assigner=None):
    """Config of a Fast R-CNN with an 8-px-stride, 16-channel backbone."""
    if bbox_head is None:
        bbox_head = dict(
            type='Shared2FCBBoxHead',
            in_channels=16,
            fc_out_channels=32,
            roi_feat_size=7,
            num_classes=NUM_CLASSES,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
    if assigner is None:
        assigner = dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.5,
            min_pos_iou=0.5,
            match_low_quality=False,
            ignore_iof_thr=-1)
    return dict(
        type='FastRCNN',
        data_preprocessor=dict(
            type='DetDataPreprocessor',
            mean=[0., 0., 0.],
            std=[255., 255., 255.],
            bgr_to_rgb=False,
            pad_size_divisor=8),
        backbone=dict(
            type='ResNet',
            depth=18,
            num_stages=2,
            strides=(1, 2),
            dilations=(1, 1),
            out_indices=(1, ),
            stem_channels=8,
            base_channels=8,
            frozen_stages=-1,
            norm_cfg=dict(type='BN', requires_grad=False),
            norm_eval=True,
            init_cfg=None),
        roi_head=dict(
            type=roi_head,
            bbox_roi_extractor=dict(
                type='SingleRoIExtractor',
                roi_layer=dict(
                    type='RoIAlign', output_size=7, sampling_ratio=2),
                out_channels=16,
                featmap_strides=[8]),
            bbox_head=bbox_head),
        train_cfg=dict(
            rcnn=dict(
                assigner=assigner, sampler=sampler, pos_weight=-1,
                debug=False)),
        test_cfg=dict(
            rcnn=dict(
                score_thr=0.05,
                nms=dict(type='nms', iou_threshold=0.3),
                max_per_img=100)))


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
