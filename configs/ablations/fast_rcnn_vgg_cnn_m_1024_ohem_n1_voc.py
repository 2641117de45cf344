# Table 1 ablation, VGG_CNN_M_1024: OHEM with N=1 image per iteration, the
# 128 hardest RoIs of it (NMS 0.7 on the loss, bg IoU in [0, 0.5)).
# Data: VOC07 trainval -> VOC07 test (11-point). 40k iterations, x0.1 at 30k.
# Paper: no number in a source we have.
_base_ = [
    '../_base_/models/fast_rcnn_vgg_cnn_m_1024.py',
    '../_base_/datasets/voc07_ss.py', '../_base_/schedules/fast_rcnn_sgd.py',
    '../_base_/ohem.py'
]
train_cfg = dict(max_iters=40000, val_interval=40000)
param_scheduler = _base_.param_scheduler_40k
train_dataloader = dict(batch_size=1)
model = dict(
    roi_head=dict(type='OHEMRoIHead'),
    train_cfg=dict(
        rcnn=dict(
            assigner=_base_.ohem_rcnn.assigner,
            sampler=dict(_base_.ohem_rcnn.sampler, num=128))))
