# COCO train2017 -> val2017 with Selective Search proposals (the OHEM paper
# trained on 80k train2014 and reported test-dev; val2017 is what can be
# scored locally). Shorter side 600 (longer <= 1000), flip, up to 2000
# proposals, N=2 images per iteration; COCO box AP via pycocotools.
# Expects (mmdet's layout; README "Data"):
#   data/coco/{annotations/instances_{train,val}2017.json,train2017,val2017}
#   data/proposals/selective_search_coco_2017_{train,val}.npz
_base_ = './voc07_ss.py'

dataset_type = 'ProposalCocoDataset'
data_root = 'data/'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='coco/annotations/instances_train2017.json',
        data_prefix=dict(img='coco/train2017/'),
        proposal_file='proposals/selective_search_coco_2017_train.npz',
        filter_cfg=dict(filter_empty_gt=True, min_size=1),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='coco/annotations/instances_val2017.json',
        data_prefix=dict(img='coco/val2017/'),
        proposal_file='proposals/selective_search_coco_2017_val.npz',
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=data_root + 'coco/annotations/instances_val2017.json',
    metric='bbox',
    format_only=False)
test_evaluator = val_evaluator
