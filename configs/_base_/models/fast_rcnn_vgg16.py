# Fast R-CNN VGG16 (Girshick, ICCV 2015), the detector of the OHEM paper:
# conv5_3 + ReLU (stride 16, no pool5; conv1_1..conv2_2 frozen) -> RoIPool
# 7x7 -> fc6 4096 -> ReLU -> dropout 0.5 -> fc7 4096 -> ReLU -> dropout 0.5
# -> cls (num_classes + 1) + class-specific deltas (stds 0.1, 0.1, 0.2, 0.2).
# Heuristic sampling (the FRCN baseline): fg IoU >= 0.5, bg IoU in
# [bg_lo=0.1, 0.5), 64 RoIs per image, 25% fg.
#
# RoIPool is an mmcv CUDA op without a CPU kernel: to run on CPU override
#   model.roi_head.bbox_roi_extractor.roi_layer =
#       dict(type='RoIAlign', output_size=7, sampling_ratio=2)
# (the tests do; results then differ from the paper's RoIPool).
#
# Init: torchvision's ImageNet VGG16 (RGB, mean/std normalised), converted
# with `python tools/convert_weights.py vgg16-397923af.pth
# checkpoints/vgg16_fast_rcnn_init.pth` (backbone + fc6/fc7).
model = dict(
    type='FastRCNN',
    init_cfg=dict(
        type='Pretrained', checkpoint='checkpoints/vgg16_fast_rcnn_init.pth'),
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=16),
    backbone=dict(type='FastRCNNVGG', depth=16, frozen_stages=2),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(
            type='FP32PoolRoIExtractor',  # mmcv's RoI ops have no bf16
            roi_layer=dict(type='RoIPool', output_size=7),
            out_channels=512,
            featmap_strides=[16]),
        bbox_head=dict(
            type='DropoutFCBBoxHead',
            fc_channels=(4096, 4096),
            dropout_ratio=0.5,
            in_channels=512,
            roi_feat_size=7,
            num_classes=20,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))),
    train_cfg=dict(
        rcnn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=(0.1, 0.5),
                min_pos_iou=0.5,
                match_low_quality=False,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=64,
                pos_fraction=0.25,
                neg_pos_ub=-1,
                add_gt_as_proposals=True),
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        rcnn=dict(
            score_thr=0.05,
            nms=dict(type='nms', iou_threshold=0.3),
            max_per_img=100)))
