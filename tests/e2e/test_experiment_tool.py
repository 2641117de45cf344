"""tools/experiment.py --quick: the BCCD preset on the six vendored BCCD
images (proposals, weights, mim train of each method with evaluations along
the run, the table and the plot), then a second call, for one method, that
trains nothing and reports both; and any two configs over two seeds."""
import json
import os.path as osp
import subprocess
import sys

from tiny import REPO
from tiny_runs import CONFIGS, make_data

BCCD = osp.join(REPO, 'tests/data/bccd')


def run(work_root, methods=('frcn', 'ohem')):
    return subprocess.run([
        sys.executable,
        osp.join(REPO,
                 'tools/experiment.py'), '--preset', 'bccd', '--data-root',
        BCCD, '--work-root', work_root, '--quick', '--methods', *methods
    ],
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True)


def test_quick_experiment_then_nothing_left_to_train(tmp_path):
    work_root = str(tmp_path / 'exp')
    proc = run(work_root)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert proc.stdout.count('$ ') == 2  # one mim train per method
    for method in ('frcn', 'ohem'):
        with open(osp.join(work_root, method, 'seed0',
                           'eval_curve.jsonl')) as f:
            records = [json.loads(line) for line in f]
        assert [r['iter'] for r in records] == [10, 20]
        assert 0 < records[0]['train_seconds'] < records[1]['train_seconds']
        assert 'pascal_voc/AP50_RBC' in records[1]
    with open(osp.join(work_root, 'results.md')) as f:
        table = f.read()
    assert '| method | seeds | mAP (mean ± std) | per seed | AP RBC |' in table
    assert "- ohem: s/iter x" in table
    assert osp.getsize(osp.join(work_root, 'curves.png')) > 10000
    with open(osp.join(work_root, 'results.json')) as f:
        summary = json.load(f)['summary']
    assert summary['ohem']['seeds'] == [0]

    # a call for one method trains nothing and still reports every
    # finished run under the work root
    again = run(work_root, methods=['frcn'])
    assert again.returncode == 0, again.stdout[-4000:]
    assert '$ ' not in again.stdout  # done runs are not trained again
    assert '| ohem | 1 |' in again.stdout


def test_any_two_configs_over_two_seeds(tmp_path):
    """A user's own configs (here the tiny demo twins on generated data),
    two seeds: every run, the table with both seeds, the plot."""
    data_root = make_data(tmp_path / 'data')
    work_root = str(tmp_path / 'exp')
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/experiment.py'), '--config',
        f'frcn={CONFIGS["baseline"]}', '--config', f'ohem={CONFIGS["ohem"]}',
        '--data-root', data_root, '--work-root', work_root, '--seeds', '0',
        '1', '--quick'
    ],
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert proc.stdout.count('$ ') == 4  # 2 methods x 2 seeds
    with open(osp.join(work_root, 'results.json')) as f:
        summary = json.load(f)['summary']
    assert summary['frcn']['seeds'] == summary['ohem']['seeds'] == [0, 1]
    assert len(summary['ohem']['final_maps']) == 2
    assert '| ohem | 2 |' in proc.stdout
    assert "- ohem: s/iter x" in proc.stdout
    assert osp.getsize(osp.join(work_root, 'curves.png')) > 10000
