# Fast R-CNN VGG_CNN_M_1024 trained with OHEM (OHEMRoIHead, 64 hardest RoIs
# per image after NMS 0.7 on the loss, bg IoU in [0, 0.5)).
# Data: VOC07 trainval -> VOC07 test (11-point mAP), Selective Search.
# N=2 x B=128; 40k iterations, lr 1e-3, x0.1 at 30k; 600/1000, flip.
# Paper: 62.0 mAP (Table 1; FRCN about 59.6, secondary).
_base_ = [
    './_base_/models/fast_rcnn_vgg_cnn_m_1024.py',
    './_base_/datasets/voc07_ss.py', './_base_/schedules/fast_rcnn_sgd.py',
    './_base_/ohem.py'
]
model = dict(
    roi_head=dict(type='OHEMRoIHead'), train_cfg=dict(rcnn=_base_.ohem_rcnn))
train_cfg = dict(max_iters=40000, val_interval=40000)
param_scheduler = _base_.param_scheduler_40k
