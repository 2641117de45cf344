# faster_rcnn_mobilenetv2_bccd.py with this package's OHEM: the two-copy
# OHEMRoIHead scores all RPN proposals of the batch (and the GT boxes) in a
# read-only pass by the box head's own loss (CE + smooth-L1), de-duplicates
# them per image and label by NMS at IoU 0.7 on that loss and trains on the
# 64 hardest per image, with no fg:bg ratio. The RPN trains as in the
# baseline.
_base_ = ['./faster_rcnn_mobilenetv2_bccd.py', '../_base_/ohem.py']

model = dict(
    roi_head=dict(type='OHEMRoIHead'),
    train_cfg=dict(
        rcnn=dict(
            assigner=_base_.ohem_rcnn.assigner,
            sampler=dict(_base_.ohem_rcnn.sampler, num=_base_.num_rois))))
