"""Stop after K iterations, `--resume`, continue to 2K: the same run."""
import pytest
import torch
from mmengine.runner import Runner
from tiny_runs import RecordHook, demo_cfg

import mmdet_ohem  # noqa: F401  (registers ExactResumeHook)

K = 3
HOOKS = [dict(type='ExactResumeHook')]

pytestmark = pytest.mark.usefixtures('fast_config_text')


def train(work_dir, data_root, max_iters, resume=False):
    """The OHEM demo with Fast R-CNN's dropout head: dropout draws random
    numbers in both the read-only and the trainable pass."""
    cfg = demo_cfg(
        'ohem',
        data_root,
        work_dir,
        max_iters,
        resume=resume,
        custom_hooks=HOOKS,
        **{'default_hooks.checkpoint.interval': K})
    bbox_head = cfg.model.roi_head.bbox_head
    bbox_head.pop('fc_out_channels')
    bbox_head.update(
        type='DropoutFCBBoxHead', fc_channels=(256, 256), dropout_ratio=0.5)
    runner = Runner.from_cfg(cfg)
    record = RecordHook()
    runner.register_hook(record)
    runner.train()
    return runner, record


def test_resumed_run_equals_uninterrupted_run(data_root, tmp_path):
    """Without ExactResumeHook (HOOKS = []) the resumed run draws other
    dropout masks, and its losses and weights differ from the whole run's."""
    whole, whole_log = train(tmp_path / 'whole', data_root, 2 * K)
    _, first_log = train(tmp_path / 'split', data_root, K)
    resumed, second_log = train(
        tmp_path / 'split', data_root, 2 * K, resume=True)

    assert sorted(second_log.losses) == list(range(K + 1, 2 * K + 1))
    assert {**first_log.losses, **second_log.losses} == whole_log.losses
    assert {**first_log.stats, **second_log.stats} == whole_log.stats
    assert whole_log.stats[2 * K]['ohem_num_hard'] > 0
    expected = whole.model.state_dict()
    for key, value in resumed.model.state_dict().items():
        assert torch.equal(value, expected[key]), key
