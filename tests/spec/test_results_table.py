"""Results tables from fabricated work dirs, and the suite's resume plan."""
import json
import os.path as osp
import subprocess
import sys

import pytest
from tiny import REPO

from mmdet_ohem.workbench.experiment import mim_commands, plan_suite
from mmdet_ohem.workbench.results import (load_manifest, manifest_tables,
                                          read_run)

MANIFEST = """\
tables:
  voc:
    title: "VOC07 test"
    metric: pascal_voc/mAP
    rows:
      - {config: frcn.py, net: VGG16, method: FRCN, paper: 66.9,
         source: "Table 3"}
      - {config: sub/ohem.py, net: VGG16, method: OHEM, paper: 69.9,
         source: "Table 3"}
      - {config: missing.py, net: VGG16, method: "FRCN N=1", paper: null}
      - {config: corrupt.py, net: VGG16, method: "OHEM N=1", paper: 69.7,
         source: secondary}
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def mim_tested(root, stem, stamp, metrics, checkpoint=None):
    """A `mim test` log as mmengine 0.10.7 writes it: one json object, and
    the config with the checkpoint it loaded."""
    write(root / stem / stamp / f'{stamp}.json', json.dumps(metrics))
    if checkpoint:
        write(root / stem / stamp / 'vis_data' / 'config.py',
              f"auto_scale_lr = None\nload_from = '{checkpoint}'\nx = 1\n")


def train_run(root, stem, stamp, times):
    """A training log: vis_data/scalars.json, one json object per line."""
    lines = [
        json.dumps(dict(loss=1.0, time=t, step=10 * (i + 1)))
        for i, t in enumerate(times)
    ]
    lines.append(json.dumps({'pascal_voc/mAP': 0.1, 'time': 9.0, 'step': 40}))
    write(root / stem / stamp / 'vis_data' / 'scalars.json',
          '\n'.join(lines) + '\n')


@pytest.fixture
def suite(tmp_path):
    (tmp_path / 'manifest.yml').write_text(MANIFEST)
    root = tmp_path / 'work_dirs'
    train_run(root, 'frcn', '20261128_230000', [5.0, 0.5, 0.7])
    write(root / 'frcn' / 'last_checkpoint', 'work_dirs/frcn/iter_80000.pth')
    mim_tested(
        root,
        'frcn',
        '20261129_000000', {
            'pascal_voc/mAP': 0.6721,
            'pascal_voc/AP50_car': 0.8,
            'pascal_voc/AP50_dog': 0.5
        },
        checkpoint='work_dirs/frcn/iter_80000.pth')
    # a later test of an earlier checkpoint: not the final one's
    mim_tested(
        root,
        'frcn',
        '20261129_003000', {'pascal_voc/mAP': 0.5},
        checkpoint='work_dirs/frcn/iter_40000.pth')
    # an older good test, then a newer corrupt one: the good one counts
    mim_tested(root, 'ohem', '20261129_010000', {'pascal_voc/mAP': 0.70})
    write(root / 'ohem' / '20261129_020000' / '20261129_020000.json', '{"pa')
    write(root / 'corrupt' / '20261129_030000' / '20261129_030000.json',
          'not json')
    return tmp_path


def test_table_beside_the_paper_with_missing_and_corrupt_runs(suite):
    markdown, problems = manifest_tables(
        load_manifest(str(suite / 'manifest.yml')), str(suite / 'work_dirs'))
    lines = markdown.splitlines()
    assert ('| frcn.py | VGG16 | FRCN | 67.2 | 66.9 | +0.3 | Table 3 | 0.60 '
            '| iter_80000.pth |') in lines
    assert ('| sub/ohem.py | VGG16 | OHEM | 70.0 | 69.9 | +0.1 | Table 3 |  '
            '|  |') in lines
    assert '| missing.py | VGG16 | FRCN N=1 | not run |  |  |  |  |  |' \
        in lines
    assert ('| corrupt.py | VGG16 | OHEM N=1 | log unreadable | 69.7 |  | '
            'secondary |  |  |') in lines
    # per-class AP of the runs that have it
    assert '| class | FRCN |' in lines
    assert '| car | 80.0 |' in lines and '| dog | 50.0 |' in lines
    assert sorted(osp.basename(p.split(':')[0]) for p in problems) == [
        '20261129_020000.json', '20261129_030000.json'
    ]


def test_latest_test_on_request_and_marked_when_not_final(suite):
    markdown, _ = manifest_tables(
        load_manifest(str(suite / 'manifest.yml')),
        str(suite / 'work_dirs'),
        latest=True)
    assert ('| frcn.py | VGG16 | FRCN | 50.0 | 66.9 | -16.9 | Table 3 | 0.60 '
            '| iter_40000.pth (not the final iter_80000.pth) |'
            ) in markdown.splitlines()


def test_default_manifest_is_the_installed_packages():
    from mmdet_ohem.workbench.results import DEFAULT_MANIFEST
    assert osp.samefile(DEFAULT_MANIFEST, osp.join(REPO,
                                                   'configs/manifest.yml'))


@pytest.mark.slow
def test_tool_names_bad_files_and_prints_the_table(suite):
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/results_table.py'), '--manifest',
        str(suite / 'manifest.yml'), '--work-root',
        str(suite / 'work_dirs')
    ],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert '### VOC07 test' in proc.stdout
    assert 'not run' in proc.stdout
    assert 'corrupt/20261129_030000/20261129_030000.json' in proc.stderr
    assert 'skipped unreadable' in proc.stderr


def test_the_projects_manifest_before_any_run(tmp_path):
    manifest = load_manifest(osp.join(REPO, 'configs/manifest.yml'))
    markdown, problems = manifest_tables(manifest, str(tmp_path))
    assert problems == []
    assert markdown.count('### ') == len(manifest['tables'])
    assert '| fast_rcnn_vgg16_ohem_voc.py | VGG16 | OHEM, 07 | not run | ' \
           '69.9 |' in markdown
    with pytest.raises(KeyError, match='table9'):
        manifest_tables(manifest, str(tmp_path), ['table9'])


def test_scalars_with_a_bad_line_are_named(tmp_path):
    train_run(tmp_path, 'x', '20261129_000000', [1.0, 1.0])
    path = tmp_path / 'x' / '20261129_000000' / 'vis_data' / 'scalars.json'
    path.write_text(path.read_text() + '{oops\n')
    run = read_run(str(tmp_path / 'x'))
    assert run.sec_per_iter is None
    assert run.problems == [
        f'{path}: line 4 is not json '
        '(Expecting property name enclosed in double '
        'quotes: line 1 column 2 (char 1))'
    ]


def test_suite_plan_resumes_where_it_stopped(tmp_path):
    configs = tmp_path / 'configs'
    for name in ('a', 'b', 'c'):
        write(configs / f'{name}.py', 'train_cfg = dict(max_iters=4)\n')
    write(
        configs / 'manifest.yml', 'tables:\n  t:\n    title: T\n'
        '    metric: pascal_voc/mAP\n    rows:\n' +
        ''.join(f'      - {{config: {n}.py, method: {n}, paper: null}}\n'
                for n in 'abc'))
    root = tmp_path / 'work_dirs'
    mim_tested(root, 'a', '20261129_000000', {'pascal_voc/mAP': 0.5})
    # b trained to the end, c stopped at iteration 2 of 4
    for name, it in (('b', 4), ('c', 2)):
        write(root / name / f'iter_{it}.pth', 'x')
        write(root / name / 'last_checkpoint',
              str(root / name / f'iter_{it}.pth'))
    manifest = load_manifest(str(configs / 'manifest.yml'))
    runs = plan_suite(manifest, str(configs), str(root))
    assert [r.state for r in runs] == ['done', 'test', 'train']
    assert mim_commands(runs[0]) == []
    assert mim_commands(runs[1]) == [[
        'mim', 'test', 'mmdet', runs[1].config, '--checkpoint',
        str(root / 'b' / 'iter_4.pth'), '--work-dir', runs[1].work_dir,
        '--launcher', 'none'
    ]]
    train, test = mim_commands(runs[2], 'slurm', 8, 8, 'gpu')
    assert train == [
        'mim', 'train', 'mmdet', runs[2].config, '--work-dir',
        runs[2].work_dir, '--resume', '--launcher', 'slurm', '--gpus', '8',
        '--gpus-per-node', '8', '--partition', 'gpu', '--yes'
    ]
    assert '{checkpoint}' in test
