"""Stop after K iterations, `--resume`, continue to 2K: the same run."""
import pytest
import torch
from mmengine.runner import Runner
from tiny_runs import RecordHook, demo_cfg, make_data

import mmdet_ohem  # noqa: F401  (registers ExactResumeHook)

K = 3


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp('voc'))


def train(cfg):
    runner = Runner.from_cfg(cfg)
    record = RecordHook()
    runner.register_hook(record)
    runner.train()
    return runner, record


# The baseline's RandomSampler draws from torch's generator in every step,
# so without ExactResumeHook its resumed weights differ (measured: by 1e-3
# after K + K = 3 + 3 iterations).
@pytest.mark.parametrize('name', ['baseline', 'ohem'])
def test_resumed_run_equals_uninterrupted_run(name, data_root, tmp_path):
    hooks = dict(
        custom_hooks=[dict(type='ExactResumeHook')],
        **{'default_hooks.checkpoint.interval': K})
    whole, whole_log = train(
        demo_cfg(name, data_root, tmp_path / 'whole', 2 * K, **hooks))
    _, first_log = train(
        demo_cfg(name, data_root, tmp_path / 'split', K, **hooks))
    resumed, second_log = train(
        demo_cfg(
            name, data_root, tmp_path / 'split', 2 * K, resume=True, **hooks))

    assert sorted(second_log.losses) == list(range(K + 1, 2 * K + 1))
    assert {**first_log.losses, **second_log.losses} == whole_log.losses
    assert {**first_log.stats, **second_log.stats} == whole_log.stats
    if name == 'ohem':
        assert whole_log.stats[2 * K]['ohem_num_hard'] > 0
    expected = whole.model.state_dict()
    for key, value in resumed.model.state_dict().items():
        assert torch.equal(value, expected[key]), key
