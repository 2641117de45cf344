"""EvalCurveHook: test metrics along a run with the training wall-clock,
and evaluations that do not change what the run trains into."""
import json

import torch
from mmengine.config import Config
from mmengine.runner import Runner
from tiny_runs import CONFIGS, RecordHook, demo_cfg


def run(name, data_root, work_dir, val_interval):
    """A demo config, 6 iterations, evaluated on its test split
    every ``val_interval`` iterations (and at the end) with
    EvalCurveHook."""
    cfg = demo_cfg(name, data_root, work_dir, 6)
    full = Config.fromfile(CONFIGS[name])
    full.val_dataloader.dataset.data_root = str(data_root)
    cfg.val_dataloader = full.val_dataloader
    cfg.val_evaluator = full.val_evaluator
    cfg.val_cfg = dict(type='ValLoop')
    cfg.train_cfg.val_interval = val_interval
    cfg.custom_hooks = [dict(type='EvalCurveHook')]
    runner = Runner.from_cfg(cfg)
    record = RecordHook()
    runner.register_hook(record)
    runner.train()
    return runner.model.state_dict(), record.losses


def test_evaluations_leave_training_as_it_was(data_root, tmp_path,
                                              fast_config_text):
    # the baseline's RandomSampler (and dropout, OHEM's read-only pass)
    # draws from the generator a val dataloader iterator also draws from
    often, losses = run('baseline', data_root, tmp_path / 'often', 2)
    never, reference = run('baseline', data_root, tmp_path / 'never', 100)
    assert losses == reference
    for key, value in never.items():
        assert torch.equal(often[key], value), key

    with open(tmp_path / 'often' / 'eval_curve.jsonl') as f:
        records = [json.loads(line) for line in f]
    assert [r['iter'] for r in records] == [2, 4, 6]
    seconds = [r['train_seconds'] for r in records]
    assert 0 < seconds[0] < seconds[1] < seconds[2]
    assert all(0 <= r['pascal_voc/mAP'] <= 1 for r in records)
    # mmengine validates at the end of a run whatever the interval
    with open(tmp_path / 'never' / 'eval_curve.jsonl') as f:
        assert [json.loads(line)['iter'] for line in f] == [6]
