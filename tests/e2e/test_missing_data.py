"""A paper config run without its data stops at once with one message."""
import os.path as osp
import subprocess
import sys

from tiny import REPO


def test_mim_train_without_voc_says_what_is_missing(tmp_path):
    proc = subprocess.run([
        osp.join(osp.dirname(sys.executable), 'mim'), 'train', 'mmdet',
        osp.join(REPO, 'configs/fast_rcnn_vgg16_ohem_voc.py'), '--work-dir',
        str(tmp_path / 'work')
    ],
                          cwd=str(tmp_path),
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True)
    out = proc.stdout
    assert proc.returncode != 0
    assert 'MissingDataError: ProposalVOCDataset is missing data' in out
    for what in ('data/VOCdevkit/VOC2007/ImageSets/Main/trainval.txt',
                 'data/proposals/selective_search_voc_2007_trainval.npz',
                 'mmdet-ohem selective_search', 'README'):
        assert what in out, what
    # the message, not a traceback through mmengine / mmdet, and no step
    train_py = out[:out.index('MissingDataError')]
    assert 'Traceback' not in train_py and 'Iter(train)' not in out
