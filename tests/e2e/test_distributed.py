"""OHEM under DDP: 2 CPU processes (gloo) launched by torchrun."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from tiny import REPO
from tiny_runs import make_data

ITERS = 3
WORKER = osp.join(REPO, 'tests', 'dist_worker.py')


@pytest.fixture(scope='module')
def ranks(tmp_path_factory):
    """Train ITERS iterations on 2 processes; what each one saw."""
    data_root = make_data(tmp_path_factory.mktemp('voc'))
    work_dir = str(tmp_path_factory.mktemp('ddp'))
    proc = subprocess.run([
        sys.executable, '-m', 'torch.distributed.run', '--standalone',
        '--nproc_per_node=2', WORKER, data_root, work_dir,
        str(ITERS)
    ],
                          env=dict(os.environ, OMP_NUM_THREADS='1'),
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:]
    out = []
    for rank in range(2):
        with open(osp.join(work_dir, f'rank{rank}.json')) as f:
            info = json.load(f)
        info['weights'] = torch.load(
            osp.join(work_dir, f'rank{rank}.pth'), weights_only=True)
        out.append(info)
    return out


def test_parameters_are_identical_on_both_ranks(ranks):
    assert [r['wrapper'] for r in ranks] == ['MMDistributedDataParallel'] * 2
    # the ranks trained on different images ...
    assert ranks[0]['losses'] != ranks[1]['losses']
    # ... and hold the same parameters after the all-reduced updates
    for key, value in ranks[0]['weights'].items():
        assert torch.equal(value, ranks[1]['weights'][key]), key


def test_a_nan_loss_on_one_rank_skips_the_step_on_both(ranks):
    """Rank 1's NaN loss at iteration 2 had finite gradients; both ranks
    skipped the update all the same (and stayed identical)."""
    for rank in ranks:
        assert rank['skipped'] == 1
        assert rank['changed_in_nan_iter'] == []
        assert rank['losses']['1'] == rank['losses']['1']  # not NaN
    assert ranks[1]['losses']['2'] != ranks[1]['losses']['2']  # NaN


def test_only_the_trainable_pass_is_all_reduced(ranks):
    """find_unused_parameters=False held (DDP would have raised), and every
    step all-reduced each trainable gradient exactly once: the read-only
    pass added nothing."""
    for rank in ranks:
        assert sum(rank['reduced']) == ITERS * rank['trainable']


def test_logged_hard_set_statistics_are_reduced_over_ranks(ranks):
    for step in range(ITERS):
        (sum0, num0), (sum1, num1) = (r['local_all_loss'][step] for r in ranks)
        assert sum0 / num0 != pytest.approx(sum1 / num1)
        expected = (sum0 + sum1) / (num0 + num1)
        for rank in ranks:
            logged = rank['stats'][str(step + 1)]['ohem_all_loss']
            assert logged == pytest.approx(expected, rel=1e-6)
