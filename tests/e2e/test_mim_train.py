"""End to end, as users run it: `mim train mmdet` then `mim test mmdet`."""
import os.path as osp
import re
import subprocess
import sys

import pytest
from tiny import REPO
from tiny_runs import make_data

CONFIG = osp.join(REPO, 'configs/demo/fast_rcnn_tiny_ohem_synthvoc.py')
ITERS = 4


def mim(*args, cwd):
    cmd = [osp.join(osp.dirname(sys.executable), 'mim'), *args]
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return proc.stdout


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp('voc'))


def options(data_root):
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        'train_dataloader.batch_size=2', f'train_cfg.max_iters={ITERS}',
        f'train_cfg.val_interval={ITERS}', 'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={ITERS}'
    ]


@pytest.mark.parametrize('roi_head', ['OHEMRoIHead', 'StandardRoIHead'])
def test_mim_train_logs_hard_set_statistics_and_mim_test_loads_it(
        roi_head, data_root, tmp_path):
    """Both entry points (the two-copy head, and our sampler inside mmdet's
    plain head) train through mim and log the hard-set statistics; the
    checkpoint they write loads in `mim test` under torch's weights_only."""
    work_dir = str(tmp_path / 'work')
    log = mim(
        'train',
        'mmdet',
        CONFIG,
        '--work-dir',
        work_dir,
        *options(data_root),
        f'model.roi_head.type={roi_head}',
        cwd=str(tmp_path))
    lines = re.findall(r'Iter\(train\) \[\s*\d+/\d+\].*', log)
    assert len(lines) == ITERS, log[-3000:]
    stats = dict(re.findall(r'(ohem_\w+): ([\d.]+)', lines[-1]))
    assert sorted(stats) == [
        'ohem_all_fg_frac', 'ohem_all_loss', 'ohem_hard_fg_frac',
        'ohem_hard_loss', 'ohem_invalid_rois', 'ohem_num_hard'
    ], lines[-1]
    # 60 proposals + GT per image, fewer after NMS: at most the budget
    assert 0 < float(stats['ohem_num_hard']) <= 64
    assert float(stats['ohem_hard_loss']) > float(stats['ohem_all_loss'])
    if roi_head == 'StandardRoIHead':
        return
    checkpoint = osp.join(work_dir, f'iter_{ITERS}.pth')
    log = mim(
        'test',
        'mmdet',
        CONFIG,
        '--checkpoint',
        checkpoint,
        '--work-dir',
        work_dir,
        *options(data_root)[:4],
        cwd=str(tmp_path))
    assert re.search(r'pascal_voc/mAP: \d\.\d{4}', log), log[-3000:]
