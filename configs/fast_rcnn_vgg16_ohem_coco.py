# Fast R-CNN VGG16 trained with OHEM (OHEMRoIHead, 64 hardest RoIs per image
# after NMS 0.7 on the loss, bg IoU in [0, 0.5)).
# Data: COCO train2017 -> val2017 (box AP, pycocotools), Selective Search.
# N=2 x B=128; 320k iterations, lr 1e-3, x0.1 at 240k (as
# fast_rcnn_vgg16_coco.py); 600/1000, flip.
# Paper (test-dev, secondary source): 22.6 AP, 42.5 AP50 (Table 5; FRCN
# 19.7 / 35.9).
_base_ = [
    './_base_/models/fast_rcnn_vgg16.py', './_base_/datasets/coco_ss.py',
    './_base_/schedules/fast_rcnn_sgd.py', './_base_/ohem.py'
]
model = dict(
    roi_head=dict(type='OHEMRoIHead', bbox_head=dict(num_classes=80)),
    train_cfg=dict(rcnn=_base_.ohem_rcnn))
train_cfg = dict(max_iters=320000, val_interval=320000)
param_scheduler = _base_.param_scheduler_320k
