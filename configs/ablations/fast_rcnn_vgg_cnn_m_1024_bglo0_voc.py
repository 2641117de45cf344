# Table 1 ablation, VGG_CNN_M_1024: Fast R-CNN with bg_lo = 0 (bg IoU in
# [0, 0.5)), otherwise the FRCN baseline (fg:bg 1:3, 64 RoIs per image).
# Data: VOC07 trainval -> VOC07 test (11-point).
# N=2 x B=128; 40k iterations, x0.1 at 30k.
# Paper: no number in a source we have (removing bg_lo hurts FRCN,
# Section 5).
_base_ = [
    '../_base_/models/fast_rcnn_vgg_cnn_m_1024.py',
    '../_base_/datasets/voc07_ss.py', '../_base_/schedules/fast_rcnn_sgd.py'
]
train_cfg = dict(max_iters=40000, val_interval=40000)
param_scheduler = _base_.param_scheduler_40k
model = dict(train_cfg=dict(rcnn=dict(assigner=dict(neg_iou_thr=0.5))))
