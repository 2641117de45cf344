# Fast R-CNN VGG16, heuristic sampling (bg_lo 0.1, fg:bg 1:3): the FRCN
# baseline of the OHEM paper (Table 1 row 1, Table 3).
# Data: VOC07 trainval -> VOC07 test (11-point mAP), Selective Search.
# N=2 images x B=128 RoIs; 80k iterations, lr 1e-3, x0.1 at 30k; 600/1000
# scales, flip. Paper: 66.9 mAP (Table 3; 67.2 in the Table 1 re-run).
# RoIPool runs on CUDA only (see _base_/models/fast_rcnn_vgg16.py for CPU).
_base_ = [
    './_base_/models/fast_rcnn_vgg16.py', './_base_/datasets/voc07_ss.py',
    './_base_/schedules/fast_rcnn_sgd.py'
]
