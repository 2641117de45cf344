# VOC 2007 trainval + VOC 2012 trainval ("07+12") -> VOC 2007 test, 11-point
# mAP; otherwise as voc07_ss.py. Also expects data/VOCdevkit/VOC2012/ and
# data/proposals/selective_search_voc_2012_trainval.npz.
_base_ = './voc07_ss.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[{{_base_.voc07_trainval}}, {{_base_.voc12_trainval}}]))
