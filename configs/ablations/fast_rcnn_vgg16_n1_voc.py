# Table 1 ablation, VGG16: Fast R-CNN with N=1 image per iteration,
# B=128 RoIs from it (bg_lo 0.1, fg:bg 1:3).
# Data: VOC07 trainval -> VOC07 test (11-point). 80k iterations, x0.1 at 30k.
# Paper: 66.3 (secondary).
_base_ = [
    '../_base_/models/fast_rcnn_vgg16.py', '../_base_/datasets/voc07_ss.py',
    '../_base_/schedules/fast_rcnn_sgd.py'
]
train_dataloader = dict(batch_size=1)
model = dict(train_cfg=dict(rcnn=dict(sampler=dict(num=128))))
