# OHEM (Shrivastava et al., CVPR 2016) in place of heuristic sampling: the
# two-copy OHEMRoIHead scores all RoIs of the batch (bg IoU in [0, 0.5), GT
# boxes included) in a read-only pass, de-duplicates them per image and
# label by NMS at IoU 0.7 on the loss, and trains on the 64 hardest per image
# (B=128 for N=2), with no fg:bg ratio. Use it as
#   model = dict(roi_head=dict(type='OHEMRoIHead'),
#                train_cfg=dict(rcnn=_base_.ohem_rcnn))
ohem_rcnn = dict(
    assigner=dict(neg_iou_thr=0.5),
    sampler=dict(
        _delete_=True,
        type='OnlineHardExampleSampler',
        num=64,
        nms_thr=0.7,
        nms_class_aware=True,
        add_gt_as_proposals=True))
