# `make demo` OHEM: the twin of fast_rcnn_tinyvgg_synthvoc.py in which the
# two-copy OHEMRoIHead trains on the 16 hardest RoIs per image, ranked by
# loss after NMS at IoU 0.7, from all RoIs (bg IoU in [0, 0.5), no fg:bg
# ratio), as in Shrivastava et al. 2016. Every 500 iterations it saves the
# step's images with their hard RoIs to <work_dir>/hard_examples/.
# N=2 images x B=32 RoIs; 2000 iterations.
_base_ = ['./fast_rcnn_tinyvgg_synthvoc.py', '../_base_/ohem.py']

model = dict(
    roi_head=dict(type='OHEMRoIHead'),
    train_cfg=dict(
        rcnn=dict(
            assigner=_base_.ohem_rcnn.assigner,
            sampler=dict(_base_.ohem_rcnn.sampler, num=16))))
custom_hooks = [dict(type='HardExampleHook', interval=500)]
