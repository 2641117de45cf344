"""Golden run: three SGD steps of the demo's OHEM model on a fixed batch.

Locks the hard-RoI indices of each step and the loss of each step, so
that a change meant to leave behaviour alone (a refactor) can show that it
did. A change that alters the training on purpose regenerates the file
with ``PYTHONPATH=tests python tests/model/test_golden_steps.py`` and says
why in its commit.
"""
import copy
import json
import os.path as osp
import sys

import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from tiny import REPO, tiny_batch

import mmdet_ohem  # noqa: F401  (registers the head and the sampler)

CONFIG = osp.join(REPO, 'configs/demo/fast_rcnn_tinyvgg_ohem_synthvoc.py')
GOLDEN = osp.join(REPO, 'tests', 'data', 'golden_ohem_steps.json')
STEPS = 3


def run_steps():
    """Hard-RoI indices (into each step's candidates) and losses."""
    cfg = Config.fromfile(CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    imgs, samples = tiny_batch(
        size=(128, 192), num_gts=(3, 2), num_proposals=(300, 300), seed=1)
    data = dict(
        inputs=[img.to(torch.uint8) for img in imgs], data_samples=samples)
    sampler = model.roi_head.bbox_sampler
    hard, losses = [], []
    for _ in range(STEPS):
        with sampler.recording() as records:
            log_vars = model.train_step(copy.deepcopy(data), optim_wrapper)
        (record, ) = records
        hard.append(record['hard'].tolist())
        losses.append(float(log_vars['loss'].detach()))
    return dict(hard=hard, losses=losses)


def test_three_steps_match_golden_run():
    with open(GOLDEN) as f:
        golden = json.load(f)
    got = run_steps()
    assert got['hard'] == golden['hard'], (
        'hard RoIs differ from the golden run; if intended, regenerate with '
        f'`python {__file__}`')
    assert torch.allclose(
        torch.tensor(got['losses']),
        torch.tensor(golden['losses']),
        rtol=1e-5,
        atol=0), f'losses {got["losses"]} != golden {golden["losses"]}'


if __name__ == '__main__':
    from mmdet.utils import register_all_modules
    register_all_modules()
    result = run_steps()
    with open(GOLDEN, 'w') as f:
        json.dump(result, f)
    print(GOLDEN, result['losses'], file=sys.stderr)
