# Fast R-CNN VGG16 trained with OHEM (OHEMRoIHead, 64 hardest RoIs per image
# after NMS 0.7 on the loss, bg IoU in [0, 0.5)).
# Data: VOC "07++12" (VOC07 trainval+test + VOC12 trainval) -> VOC12 test,
# scored by the VOC evaluation server (area mAP) from the files `mim test`
# writes under results/. N=2 x B=128; 80k iterations, lr 1e-3, x0.1 at 30k;
# 600/1000, flip. Paper: 71.9 mAP (Table 4; FRCN 68.4).
_base_ = [
    './_base_/models/fast_rcnn_vgg16.py', './_base_/datasets/voc12_ss.py',
    './_base_/schedules/fast_rcnn_sgd.py', './_base_/ohem.py'
]
val_cfg = None
model = dict(
    roi_head=dict(type='OHEMRoIHead'), train_cfg=dict(rcnn=_base_.ohem_rcnn))
