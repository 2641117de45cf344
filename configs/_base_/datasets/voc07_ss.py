# PASCAL VOC 2007 trainval -> VOC 2007 test with Selective Search proposals,
# as in Fast R-CNN: shorter side 600 (longer <= 1000), horizontal flip, up to
# 2000 proposals per image, N=2 images per iteration, 11-point mAP.
# Expects (mmdet's layout; README "Data"):
#   data/VOCdevkit/VOC2007/{Annotations,ImageSets,JPEGImages}
#   data/proposals/selective_search_voc_2007_{trainval,test}.npz
# (python tools/selective_search.py, or tools/convert_ss_mat.py for Fast
# R-CNN's legacy .mat files). A missing file stops the run with a message
# naming it and the tool that makes it.
dataset_type = 'ProposalVOCDataset'
data_root = 'data/'
num_proposals = 2000
classes = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
           'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike',
           'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')
metainfo = dict(classes=classes)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='LoadProposals', num_max_proposals=num_proposals),
    dict(
        type='ProposalBroadcaster',
        transforms=[
            dict(type='Resize', scale=(1000, 600), keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadProposals', num_max_proposals=num_proposals),
    dict(
        type='ProposalBroadcaster',
        transforms=[dict(type='Resize', scale=(1000, 600), keep_ratio=True)]),
    # last, so that the metric gets the ground truth in the original
    # image's frame, where the detections are (as in mmdet's configs)
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]

voc07_trainval = dict(
    type=dataset_type,
    data_root=data_root,
    metainfo=metainfo,
    ann_file='VOCdevkit/VOC2007/ImageSets/Main/trainval.txt',
    data_prefix=dict(sub_data_root='VOCdevkit/VOC2007/'),
    proposal_file='proposals/selective_search_voc_2007_trainval.npz',
    filter_cfg=dict(filter_empty_gt=True, min_size=1),
    pipeline=train_pipeline)
voc07_test = dict(
    type=dataset_type,
    data_root=data_root,
    metainfo=metainfo,
    ann_file='VOCdevkit/VOC2007/ImageSets/Main/test.txt',
    data_prefix=dict(sub_data_root='VOCdevkit/VOC2007/'),
    proposal_file='proposals/selective_search_voc_2007_test.npz',
    test_mode=True,
    pipeline=test_pipeline)
# The other VOC splits, for voc0712_ss.py and voc12_ss.py.
voc07_test_as_train = dict(
    voc07_trainval,
    ann_file='VOCdevkit/VOC2007/ImageSets/Main/test.txt',
    proposal_file='proposals/selective_search_voc_2007_test.npz')
voc12_trainval = dict(
    voc07_trainval,
    ann_file='VOCdevkit/VOC2012/ImageSets/Main/trainval.txt',
    data_prefix=dict(sub_data_root='VOCdevkit/VOC2012/'),
    proposal_file='proposals/selective_search_voc_2012_trainval.npz')
voc12_test = dict(
    voc07_test,
    ann_file='VOCdevkit/VOC2012/ImageSets/Main/test.txt',
    data_prefix=dict(sub_data_root='VOCdevkit/VOC2012/'),
    proposal_file='proposals/selective_search_voc_2012_test.npz')

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=voc07_trainval)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=voc07_test)
test_dataloader = val_dataloader
# VOCMetric that also reports each class's AP (pascal_voc/AP50_<class>)
val_evaluator = dict(
    type='PerClassVOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator
