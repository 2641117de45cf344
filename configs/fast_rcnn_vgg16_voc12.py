# Fast R-CNN VGG16, heuristic sampling (bg_lo 0.1, fg:bg 1:3), FRCN baseline.
# Data: VOC "07++12" (VOC07 trainval+test + VOC12 trainval) -> VOC12 test,
# scored by the VOC evaluation server (area mAP) from the files `mim test`
# writes under results/. N=2 x B=128; 80k iterations, lr 1e-3, x0.1 at 30k;
# 600/1000, flip. Paper: 68.4 mAP (Table 4).
_base_ = [
    './_base_/models/fast_rcnn_vgg16.py', './_base_/datasets/voc12_ss.py',
    './_base_/schedules/fast_rcnn_sgd.py'
]
val_cfg = None
