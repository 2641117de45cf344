# Fast R-CNN VGG16, heuristic sampling (bg_lo 0.1, fg:bg 1:3), FRCN baseline.
# Data: VOC07 trainval + VOC12 trainval ("07+12") -> VOC07 test (11-point).
# N=2 x B=128; 80k iterations, lr 1e-3, x0.1 at 30k; 600/1000, flip.
# Paper: 70.0 mAP (Table 3).
_base_ = [
    './_base_/models/fast_rcnn_vgg16.py', './_base_/datasets/voc0712_ss.py',
    './_base_/schedules/fast_rcnn_sgd.py'
]
