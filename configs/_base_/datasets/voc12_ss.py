# VOC "07++12" (VOC 2007 trainval + test + VOC 2012 trainval) -> VOC 2012
# test; otherwise as voc07_ss.py. VOC 2012 test has no public labels:
# testing writes the evaluation server's files
# (results/VOC2012/Main/comp4_det_test_<class>.txt) into the work dir; the
# server reports area-under-curve mAP. Also expects data/VOCdevkit/VOC2012/
# (with the VOC2012 test tarball unpacked) and
# data/proposals/selective_search_voc_2012_{trainval,test}.npz.
# There is no labelled held-out set: configs using this set val_cfg = None.
_base_ = './voc07_ss.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[{{_base_.voc07_trainval}}, {{_base_.voc07_test_as_train}},
                  {{_base_.voc12_trainval}}]))
val_dataloader = None
val_evaluator = None
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset={{_base_.voc12_test}})
test_evaluator = dict(
    _delete_=True, type='VOCSubmissionMetric', outfile_prefix='results')
