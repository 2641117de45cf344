# OHEM twin of fast_rcnn_tiny_synthvoc.py: the two-copy OHEMRoIHead picks the
# 64 hardest RoIs per image by loss after NMS at IoU 0.7, from all RoIs
# (bg IoU in [0, 0.5), no fg:bg ratio), as in Shrivastava et al. 2016.
# N=4 images x B=256 RoIs; 600 iterations.
_base_ = ['./fast_rcnn_tiny_synthvoc.py', '../_base_/ohem.py']

model = dict(
    roi_head=dict(type='OHEMRoIHead'), train_cfg=dict(rcnn=_base_.ohem_rcnn))
