# Fast R-CNN VGG16, heuristic sampling (bg_lo 0.1, fg:bg 1:3), FRCN baseline.
# Data: COCO train2017 -> val2017 (box AP, pycocotools), Selective Search.
# N=2 x B=128; 320k iterations, lr 1e-3, x0.1 at 240k (Fast R-CNN's COCO
# schedule as we read it; check the paper before citing); 600/1000, flip.
# Paper (test-dev, secondary source): 19.7 AP, 35.9 AP50 (Table 5).
_base_ = [
    './_base_/models/fast_rcnn_vgg16.py', './_base_/datasets/coco_ss.py',
    './_base_/schedules/fast_rcnn_sgd.py'
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=80)))
train_cfg = dict(max_iters=320000, val_interval=320000)
param_scheduler = _base_.param_scheduler_320k
