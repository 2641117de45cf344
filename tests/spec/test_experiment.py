"""The experiment report on fabricated curves: the table, the
time OHEM's mean curve takes to reach the baseline's final mAP, resumed
and torn logs, and a schedule scaled to another length."""
import json
import math

import pytest
from mmengine.config import Config

from mmdet_ohem.workbench.experiment import (Curve, mean_curve, read_curve,
                                             scale_schedule, summarize,
                                             time_to_reach)


def curve(method, seed, seconds, maps, step=100):
    iters = [step * (i + 1) for i in range(len(maps))]
    final = {'pascal_voc/mAP': maps[-1], 'pascal_voc/AP50_RBC': maps[-1]}
    return Curve(method, seed, iters, list(seconds), list(maps), final,
                 iters[-1])


@pytest.fixture
def curves():
    return {
        'frcn': [
            curve('frcn', 0, [10, 20, 30, 40], [.2, .4, .5, .6]),
            curve('frcn', 1, [10, 20, 30, 40], [.2, .4, .5, .5]),
        ],
        'ohem': [
            curve('ohem', 0, [12, 24, 36, 48], [.3, .5, .6, .7]),
            curve('ohem', 1, [12, 24, 36, 48], [.3, .6, .6, .7]),
        ],
    }


def test_table_and_time_to_accuracy(curves):
    markdown, summary = summarize(curves)
    assert summary['frcn']['final_map'] == pytest.approx(0.55)
    assert summary['frcn']['final_map_std'] == pytest.approx(math.sqrt(0.005))
    assert ('| frcn | 2 | 55.0 ± 7.1 | 60.0, 50.0 | 55.0 | 0.100 | 40 |'
            in markdown)
    # ohem's mean: 0.3 at 12 s, 0.55 at 24 s: reaches 0.55 at 24 s
    assert summary['ohem']['time_to_baseline_map'] == pytest.approx(24.0)
    assert summary['ohem']['time_to_baseline_fraction'] == pytest.approx(0.6)
    assert summary['ohem']['sec_per_iter_ratio'] == pytest.approx(1.2)
    # each seed alone: .5 at 24 s, .6 at 36 s -> 30 s; .3 at 12 s, .6 at
    # 24 s -> 22 s
    assert summary['ohem']['time_to_baseline_map_per_seed'] == pytest.approx(
        [30.0, 22.0])
    assert ("- ohem: s/iter x1.20 of frcn; reaches frcn's final mean mAP "
            "(55.0) at 24 s, 60 % of frcn's wall-clock (each seed on its "
            'own: 30 s, 22 s).') in markdown


def test_interpolates_between_points_and_says_not_reached():
    runs = [curve('x', 0, [10, 20], [.2, .6])]
    assert time_to_reach(runs, .4) == pytest.approx(15.0)
    assert time_to_reach(runs, .1) == pytest.approx(5.0)  # from (0 s, 0)
    assert time_to_reach(runs, .7) is None
    markdown, summary = summarize({
        'frcn': [curve('frcn', 0, [10, 20], [.5, .8])],
        'ohem':
        runs
    })
    assert summary['ohem']['time_to_baseline_map'] is None
    assert ("does not reach frcn's final mean mAP (80.0) (each seed on its "
            'own: never)') in markdown
    assert '| frcn | 1 | 80.0 |' in markdown  # no spread from one seed
    assert summary['frcn']['final_map_std'] is None
    json.dumps(summary, allow_nan=False)  # results.json is strict JSON


def test_mean_curve_uses_the_points_all_runs_have():
    a = curve('x', 0, [10, 20, 30], [.1, .2, .3])
    b = curve('x', 1, [12, 22], [.3, .4])
    iters, seconds, maps = mean_curve([a, b])
    assert iters.tolist() == [100, 200]
    assert seconds.tolist() == pytest.approx([11, 21])
    assert maps.tolist() == pytest.approx([.2, .3])


def test_read_curve_keeps_the_last_record_and_skips_a_torn_line(tmp_path):
    lines = [
        dict(iter=10, train_seconds=5.0, **{'pascal_voc/mAP': 0.1}),
        dict(iter=20, train_seconds=9.0, **{'pascal_voc/mAP': 0.2}),
        # evaluated again after a resume
        dict(iter=20, train_seconds=9.5, **{'pascal_voc/mAP': 0.25}),
    ]
    (tmp_path / 'eval_curve.jsonl').write_text(''.join(
        json.dumps(r) + '\n' for r in lines) + '{"iter": 3')
    run = read_curve(str(tmp_path), 'ohem', 0, max_iters=20)
    assert run.iters == [10, 20] and run.maps == [0.1, 0.25]
    assert run.done and run.sec_per_iter == pytest.approx(0.475)
    assert not read_curve(str(tmp_path), 'ohem', 0, max_iters=30).done


def test_scale_schedule_moves_every_iteration_count():
    cfg = Config(
        dict(
            train_cfg=dict(max_iters=1500, val_interval=1500),
            param_scheduler=[
                dict(type='LinearLR', begin=0, end=100),
                dict(type='MultiStepLR', begin=0, end=1500, milestones=[1125])
            ],
            default_hooks=dict(checkpoint=dict(interval=375))))
    scale_schedule(cfg, 20)
    assert cfg.train_cfg.max_iters == 20
    assert cfg.param_scheduler[0].end == 1
    assert cfg.param_scheduler[1].end == 20
    assert cfg.param_scheduler[1].milestones == [15]
    assert cfg.default_hooks.checkpoint.interval == 5


def test_experiment_config_evaluates_the_test_split_along_the_run(tmp_path):
    """The test loader and metric become the validation's, at ``evals``
    points, with one EvalCurveHook whether or not the config has one."""
    from tiny_runs import CONFIGS

    from mmdet_ohem.workbench.experiment import experiment_config
    user = tmp_path / 'user.py'
    user.write_text(f"_base_ = '{CONFIGS['ohem']}'\n"
                    "custom_hooks = [dict(type='EvalCurveHook')]\n")
    for config in (CONFIGS['ohem'], str(user)):
        cfg = experiment_config(
            config,
            str(tmp_path / 'run'),
            seed=3,
            evals=4,
            data_root='data/x/',
            proposals=dict(trainval='a.pkl', test='b.pkl'))
        assert cfg.val_dataloader == cfg.test_dataloader
        assert cfg.val_evaluator == cfg.test_evaluator
        assert cfg.train_cfg.val_interval == cfg.train_cfg.max_iters // 4
        assert [h.type for h in cfg.custom_hooks].count('EvalCurveHook') == 1
        assert cfg.randomness.seed == 3
        assert cfg.test_dataloader.dataset.data_root == 'data/x/'
        assert cfg.train_dataloader.dataset.proposal_file.endswith('a.pkl')
        assert cfg.test_dataloader.dataset.proposal_file.endswith('b.pkl')
