# Table 1 ablation, VGG_CNN_M_1024: Fast R-CNN with N=1 image per iteration,
# B=128 RoIs from it (bg_lo 0.1, fg:bg 1:3).
# Data: VOC07 trainval -> VOC07 test (11-point). 40k iterations, x0.1 at 30k.
# Paper: no number in a source we have.
_base_ = [
    '../_base_/models/fast_rcnn_vgg_cnn_m_1024.py',
    '../_base_/datasets/voc07_ss.py', '../_base_/schedules/fast_rcnn_sgd.py'
]
train_cfg = dict(max_iters=40000, val_interval=40000)
param_scheduler = _base_.param_scheduler_40k
train_dataloader = dict(batch_size=1)
model = dict(train_cfg=dict(rcnn=dict(sampler=dict(num=128))))
