# Table 1 ablation, VGG16: Fast R-CNN on (nearly) all RoIs:
# B=2048 (1024 per image, fg:bg 1:3 where there are enough fg), bg_lo = 0,
# lr 3e-3 as in the paper.
# Data: VOC07 trainval -> VOC07 test (11-point).
# N=2; 80k iterations, x0.1 at 30k.
# Paper: no number in a source we have (about 1 point above FRCN and 1
# below OHEM, Section 5).
_base_ = [
    '../_base_/models/fast_rcnn_vgg16.py', '../_base_/datasets/voc07_ss.py',
    '../_base_/schedules/fast_rcnn_sgd.py'
]
model = dict(
    train_cfg=dict(
        rcnn=dict(assigner=dict(neg_iou_thr=0.5), sampler=dict(num=1024))))
optim_wrapper = dict(optimizer=dict(lr=0.003))
