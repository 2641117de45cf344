# Faster R-CNN with an ImageNet MobileNetV2 trunk on BCCD: a learned RPN,
# trained jointly with the RoI head, and mmdet's default RoI sampling
# (RandomSampler: 64 RoIs per image, 25 % fg, fg IoU >= 0.5, bg IoU in
# [0, 0.5), GT boxes added): the baseline of
# faster_rcnn_mobilenetv2_{mmdet_ohem,ohem}_bccd.py.
# Data, trunk, RoI head, batch (N=2), schedule (800 iterations) and test
# pipeline as fast_rcnn_mobilenetv2_bccd.py, without Selective Search: the
# RPN (one level, stride 16, anchors 32-512 px at ratios 0.5/1/2) proposes
# 1000 boxes per image in training (NMS 0.7 over its 6000 best), 300 at
# test. 64 RoIs of 1000 per image (6 %) keeps OHEM about as selective as
# the paper's 64 of ~2000. Init: mmdet-ohem convert_weights --arch
# mobilenet_v2 checkpoints/mobilenet_v2_fast_rcnn_init.pth
_base_ = ['./fast_rcnn_mobilenetv2_bccd.py']

num_rois = 64
model = dict(
    type='FasterRCNN',
    rpn_head=dict(
        type='RPNHead',
        in_channels=96,
        feat_channels=256,
        anchor_generator=dict(
            type='AnchorGenerator',
            scales=[2, 4, 8, 16, 32],
            ratios=[0.5, 1.0, 2.0],
            strides=[16]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.7,
                neg_iou_thr=0.3,
                min_pos_iou=0.3,
                match_low_quality=True,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=256,
                pos_fraction=0.5,
                neg_pos_ub=-1,
                add_gt_as_proposals=False),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        rpn_proposal=dict(
            nms_pre=6000,
            max_per_img=1000,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(assigner=dict(neg_iou_thr=0.5), sampler=dict(num=num_rois))),
    test_cfg=dict(
        rpn=dict(
            nms_pre=6000,
            max_per_img=300,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=_base_.img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=_base_.img_scale, keep_ratio=True),
    # last, so that the metric gets the ground truth in the original
    # image's frame, where the detections are (as in mmdet's configs)
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(
    dataset=dict(proposal_file=None, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(proposal_file=None, pipeline=test_pipeline))
test_dataloader = val_dataloader
