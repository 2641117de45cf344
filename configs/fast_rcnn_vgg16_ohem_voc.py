# Fast R-CNN VGG16 trained with OHEM (OHEMRoIHead: read-only pass over all
# RoIs, NMS 0.7 on the loss, 64 hardest per image, bg IoU in [0, 0.5)).
# Data: VOC07 trainval -> VOC07 test (11-point mAP), Selective Search.
# N=2 images x B=128 RoIs; 80k iterations, lr 1e-3, x0.1 at 30k; 600/1000
# scales, flip. Paper: 69.9 mAP (Tables 1 and 3; FRCN 66.9).
# RoIPool runs on CUDA only (see _base_/models/fast_rcnn_vgg16.py for CPU).
_base_ = [
    './_base_/models/fast_rcnn_vgg16.py', './_base_/datasets/voc07_ss.py',
    './_base_/schedules/fast_rcnn_sgd.py', './_base_/ohem.py'
]

model = dict(
    roi_head=dict(type='OHEMRoIHead'), train_cfg=dict(rcnn=_base_.ohem_rcnn))
