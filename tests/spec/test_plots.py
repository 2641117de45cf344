"""Training curves from fabricated mmengine logs."""
import json
import os.path as osp
import subprocess
import sys

import pytest
from tiny import REPO

from mmdet_ohem.workbench.curves import plot_training_curves
from mmdet_ohem.workbench.results import read_scalars

PNG = b'\x89PNG\r\n\x1a\n'


def fake_log(path, ohem):
    """40 iterations logged every 10, as LoggerHook writes scalars.json."""
    path.parent.mkdir(parents=True)
    lines = []
    for step in range(10, 50, 10):
        record = dict(loss=2.0 / step, time=0.1, lr=0.02, step=step)
        if ohem:
            record.update(
                ohem_num_hard=64.0,
                ohem_hard_fg_frac=0.4 - step / 200,
                ohem_all_fg_frac=0.1,
                ohem_hard_loss=1.5 / step * 10,
                ohem_all_loss=0.5 / step * 10)
        lines.append(json.dumps(record))
    path.write_text('\n'.join(lines) + '\n')


@pytest.mark.slow
def test_plot_tool_writes_a_png_from_work_dirs(tmp_path):
    for name, ohem in (('frcn', False), ('ohem', True)):
        fake_log(
            tmp_path / name / '20261129_000000' / 'vis_data' / 'scalars.json',
            ohem)
    out = tmp_path / 'plots' / 'curves.png'
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/plot_curves.py'),
        str(tmp_path / 'frcn'),
        str(tmp_path / 'ohem'), '--labels', 'FRCN', 'OHEM', '--out',
        str(out)
    ],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    assert data[:8] == PNG and len(data) > 10000


@pytest.mark.slow
def test_plot_tool_says_what_is_missing(tmp_path):
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/plot_curves.py'),
        str(tmp_path)
    ],
                          capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert 'no <timestamp>/vis_data/scalars.json' in proc.stderr


def test_baseline_only_log_still_plots(tmp_path):
    fake_log(tmp_path / 'x' / 'scalars.json', ohem=False)
    log = tmp_path / 'x' / 'scalars.json'
    out = plot_training_curves([('FRCN', read_scalars(str(log)))],
                               str(tmp_path / 'c.png'))
    with open(out, 'rb') as f:
        assert f.read(8) == PNG
