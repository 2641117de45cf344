# `make demo` OHEM: the twin of fast_rcnn_tinyvgg_synthvoc.py in which the
# two-copy OHEMRoIHead trains on the 64 hardest RoIs per image, ranked by
# loss after NMS at IoU 0.7, from all RoIs (bg IoU in [0, 0.5), no fg:bg
# ratio), as in Shrivastava et al. 2016. Every 200 iterations it saves the
# step's images with their hard RoIs to <work_dir>/hard_examples/.
# N=2 images x B=128 RoIs; 800 iterations.
_base_ = './fast_rcnn_tinyvgg_synthvoc.py'

model = dict(
    roi_head=dict(type='OHEMRoIHead'),
    train_cfg=dict(
        rcnn=dict(
            assigner=dict(neg_iou_thr=0.5),
            sampler=dict(
                _delete_=True,
                type='OnlineHardExampleSampler',
                num=64,
                nms_thr=0.7))))
custom_hooks = [dict(type='HardExampleHook', interval=200)]
