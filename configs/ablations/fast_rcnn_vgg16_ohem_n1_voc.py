# Table 1 ablation, VGG16: OHEM with N=1 image per iteration, the
# 128 hardest RoIs of it (NMS 0.7 on the loss, bg IoU in [0, 0.5)).
# Data: VOC07 trainval -> VOC07 test (11-point). 80k iterations, x0.1 at 30k.
# Paper: 69.7 (secondary).
_base_ = [
    '../_base_/models/fast_rcnn_vgg16.py', '../_base_/datasets/voc07_ss.py',
    '../_base_/schedules/fast_rcnn_sgd.py', '../_base_/ohem.py'
]
train_dataloader = dict(batch_size=1)
model = dict(
    roi_head=dict(type='OHEMRoIHead'),
    train_cfg=dict(
        rcnn=dict(
            assigner=_base_.ohem_rcnn.assigner,
            sampler=dict(_base_.ohem_rcnn.sampler, num=128))))
