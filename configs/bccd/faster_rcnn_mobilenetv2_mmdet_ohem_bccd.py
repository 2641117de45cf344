# faster_rcnn_mobilenetv2_bccd.py with mmdet's own OHEMSampler: per image,
# a forward of the box head over its RoIs ranks them by classification
# loss alone, and the 64 hardest are kept at mmdet's 25 % fg quota, with
# no NMS. The bg range is the baseline's, [0, 0.5).
_base_ = ['./faster_rcnn_mobilenetv2_bccd.py']

model = dict(
    train_cfg=dict(
        rcnn=dict(
            sampler=dict(
                _delete_=True,
                type='OHEMSampler',
                num=_base_.num_rois,
                pos_fraction=0.25,
                neg_pos_ub=-1,
                add_gt_as_proposals=True))))
