# Cascade R-CNN (Cai and Vasconcelos, CVPR 2018) with an ImageNet
# MobileNetV2 trunk on BCCD: faster_rcnn_mobilenetv2_bccd.py (its RPN, data,
# batch and schedule) with three box stages at IoU 0.5, 0.6 and 0.7, each
# trained on the previous stage's refined boxes with mmdet's default
# sampling (RandomSampler: 64 RoIs per image, 25 % fg, bg IoU in [0, IoU)),
# losses weighted 1, 0.5, 0.25. Each stage's head is the Faster R-CNN one
# (fc 1024 -> fc 1024 with dropout) with class-agnostic regression and
# mmdet's per-stage target stds. The baseline of
# cascade_rcnn_mobilenetv2_ohem_bccd.py.
_base_ = ['./faster_rcnn_mobilenetv2_bccd.py']

stage_ious = (0.5, 0.6, 0.7)
stage_stds = ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1,
                                     0.1], [0.033, 0.033, 0.067, 0.067])
stage_head = dict(_base_.model.roi_head.bbox_head, reg_class_agnostic=True)
stage_rcnn = dict(
    assigner=dict(
        type='MaxIoUAssigner', match_low_quality=False, ignore_iof_thr=-1),
    sampler=dict(
        type='RandomSampler',
        num=_base_.num_rois,
        pos_fraction=0.25,
        neg_pos_ub=-1,
        add_gt_as_proposals=True),
    pos_weight=-1,
    debug=False)

model = dict(
    roi_head=dict(
        _delete_=True,
        type='CascadeRoIHead',
        num_stages=3,
        stage_loss_weights=[1, 0.5, 0.25],
        bbox_roi_extractor=_base_.model.roi_head.bbox_roi_extractor,
        bbox_head=[
            dict(
                stage_head,
                bbox_coder=dict(stage_head['bbox_coder'], target_stds=stds))
            for stds in stage_stds
        ]),
    train_cfg=dict(rcnn=[
        dict(
            stage_rcnn,
            assigner=dict(
                stage_rcnn['assigner'],
                pos_iou_thr=iou,
                neg_iou_thr=iou,
                min_pos_iou=iou)) for iou in stage_ious
    ]))
