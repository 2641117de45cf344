# cascade_rcnn_mobilenetv2_bccd.py with OHEM at every stage
# (OHEMCascadeRoIHead): each stage assigns all of its candidates with its
# own IoU threshold (every RPN proposal at the first stage, every candidate
# refined by the previous stage after it, GT boxes added), scores them in a
# read-only pass by its own loss (CE + smooth-L1), de-duplicates them per
# image and label by NMS at IoU 0.7 on that loss and trains on the 64
# hardest per image, with no fg:bg ratio.
_base_ = ['./cascade_rcnn_mobilenetv2_bccd.py', '../_base_/ohem.py']

stage_ohem = dict(
    _base_.stage_rcnn,
    sampler=dict(_base_.ohem_rcnn.sampler, num=_base_.num_rois))
stage_ohem['sampler'].pop('_delete_')
model = dict(
    roi_head=dict(type='OHEMCascadeRoIHead'),
    train_cfg=dict(rcnn=[
        dict(stage_ohem, assigner=rcnn.assigner)
        for rcnn in _base_.model.train_cfg.rcnn
    ]))
