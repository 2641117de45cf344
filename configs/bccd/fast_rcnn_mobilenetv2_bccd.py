# Fast R-CNN with an ImageNet MobileNetV2 trunk on BCCD (blood cells: RBC,
# WBC, Platelets), heuristic sampling (fg IoU >= 0.5, bg IoU in [0.1, 0.5),
# fg:bg 1:3): the baseline of configs/bccd/*_ohem_bccd.py.
# Data: BCCD trainval (292 images of 640x480) -> test (72), VOC layout, its
# official splits; Selective Search proposals (fast mode, --min-box-size 10:
# platelets are about 30 px). Get it with
#   git clone https://github.com/Shenggan/BCCD_Dataset data/bccd
#   git -C data/bccd checkout d272fb14
# (data/bccd/BCCD/{Annotations,JPEGImages,ImageSets/Main}).
# Model: MobileNetV2 to layer5 (96 channels, stride 16; conv1 + layer1
# frozen, BN statistics frozen: 2 images per batch cannot estimate them)
# -> RoIAlign 7x7 (CPU and CUDA) -> fc 1024 -> ReLU -> dropout 0.5 -> fc
# 1024 -> ReLU -> dropout 0.5 -> cls + deltas, as our VGG configs' head at a
# quarter of its width. Init: python tools/convert_weights.py --arch
# mobilenet_v2 checkpoints/mobilenet_v2_fast_rcnn_init.pth
# N=2 images x B=64 RoIs (32 per image, so that OHEM's twin picks about
# 4 % of an image's ~900 proposals, near the paper's 64 of ~2000) at the
# images' own 640x480 (no resizing: the smallest cells then span two
# feature cells); SGD lr 0.01 with 50
# warm-up iterations, x0.1 at 3/4 of 800 iterations (5.5 epochs). Measured
# on 2 CPU cores (AMD EPYC, 2026-11-30, 3 seeds): 0.77 s/iter, 10 min of
# training a run; the OHEM twin 1.01 s/iter (docs/results.md, "BCCD").
# The data part is written as README, "Your own data", shows it.
_base_ = [
    '../_base_/models/fast_rcnn_vgg16.py', '../_base_/datasets/voc07_ss.py',
    '../_base_/schedules/fast_rcnn_sgd.py'
]

data_root = 'data/bccd/'
classes = ('RBC', 'WBC', 'Platelets')
train_split, test_split = 'trainval', 'test'
img_scale = (640, 480)
num_proposals = 2000
max_iters = 800

model = dict(
    init_cfg=dict(
        type='Pretrained',
        checkpoint='checkpoints/mobilenet_v2_fast_rcnn_init.pth'),
    backbone=dict(
        _delete_=True,
        type='MobileNetV2Trunk',
        out_indices=(4, ),
        frozen_stages=1,
        norm_eval=True),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(
                _delete_=True,
                type='RoIAlign',
                output_size=7,
                sampling_ratio=2),
            out_channels=96),
        bbox_head=dict(
            fc_channels=(1024, 1024), in_channels=96,
            num_classes=len(classes))),
    train_cfg=dict(rcnn=dict(sampler=dict(num=32))))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='LoadProposals', num_max_proposals=num_proposals),
    dict(
        type='ProposalBroadcaster',
        transforms=[
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadProposals', num_max_proposals=num_proposals),
    dict(
        type='ProposalBroadcaster',
        transforms=[dict(type='Resize', scale=img_scale, keep_ratio=True)]),
    # last, so that the metric gets the ground truth in the original
    # image's frame, where the detections are (as in mmdet's configs)
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
bccd = dict(
    type='ProposalVOCDataset',
    data_root=data_root,
    metainfo=dict(classes=classes),
    data_prefix=dict(sub_data_root='BCCD/'))
train_dataloader = dict(
    dataset=dict(
        bccd,
        _delete_=True,
        ann_file=f'BCCD/ImageSets/Main/{train_split}.txt',
        proposal_file=f'proposals/selective_search_bccd_{train_split}.npz',
        filter_cfg=dict(filter_empty_gt=True, min_size=1),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        bccd,
        _delete_=True,
        ann_file=f'BCCD/ImageSets/Main/{test_split}.txt',
        proposal_file=f'proposals/selective_search_bccd_{test_split}.npz',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[max_iters * 3 // 4],
        gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(interval=max_iters // 4))
