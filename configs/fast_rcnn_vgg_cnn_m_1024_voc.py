# Fast R-CNN VGG_CNN_M_1024, heuristic sampling (bg_lo 0.1, fg:bg 1:3): the
# FRCN baseline of Table 1 for the small network.
# Data: VOC07 trainval -> VOC07 test (11-point mAP), Selective Search.
# N=2 x B=128; 40k iterations, lr 1e-3, x0.1 at 30k (Fast R-CNN's solver for
# this net); 600/1000, flip. Paper (Table 1, secondary): about 59.6 mAP.
_base_ = [
    './_base_/models/fast_rcnn_vgg_cnn_m_1024.py',
    './_base_/datasets/voc07_ss.py', './_base_/schedules/fast_rcnn_sgd.py'
]
train_cfg = dict(max_iters=40000, val_interval=40000)
param_scheduler = _base_.param_scheduler_40k
