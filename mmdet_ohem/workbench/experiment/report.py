"""An experiment's report: each run's test mAP against iterations and
training wall-clock (``eval_curve.jsonl``, written by
:class:`~mmdet_ohem.engine.EvalCurveHook`), the table over seeds, the time
each method takes to reach the baseline's final mAP, and the plot."""
import json
import math
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

METRIC = 'pascal_voc/mAP'
CLASS_AP = 'pascal_voc/AP50_'


@dataclass
class Curve:
    """One run's test metrics along training.

    Attributes:
        method (str): e.g. ``'ohem'``.
        seed (int): Its seed.
        iters (list[int]): Iterations of the evaluations, increasing.
        seconds (list[float]): Training wall-clock at each.
        maps (list[float]): Test mAP at each, in [0, 1].
        final (dict): All metrics of the last evaluation.
        max_iters (int): The run's length.
    """
    method: str
    seed: int
    iters: List[int] = field(default_factory=list)
    seconds: List[float] = field(default_factory=list)
    maps: List[float] = field(default_factory=list)
    final: dict = field(default_factory=dict)
    max_iters: int = 0

    @property
    def done(self) -> bool:
        return bool(self.iters) and self.iters[-1] >= self.max_iters

    @property
    def sec_per_iter(self) -> float:
        return self.seconds[-1] / self.iters[-1]


def read_curve(work_dir: str, method: str, seed: int, max_iters: int) -> Curve:
    """Read a run's ``eval_curve.jsonl`` (the last record of an iteration
    wins; a torn last line is skipped)."""
    curve = Curve(method, seed, max_iters=max_iters)
    path = osp.join(work_dir, 'eval_curve.jsonl')
    if not osp.isfile(path):
        return curve
    records = {}
    with open(path) as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            records[record['iter']] = record
    for it in sorted(records):
        curve.iters.append(it)
        curve.seconds.append(records[it]['train_seconds'])
        curve.maps.append(records[it][METRIC])
        curve.final = records[it]
    return curve


def mean_curve(
        curves: Sequence[Curve]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over runs at the evaluation points they all have: iterations,
    wall-clock seconds and mAP."""
    common = sorted(set.intersection(*(set(c.iters) for c in curves)))
    at = [[c.iters.index(i) for i in common] for c in curves]
    seconds = np.mean([[c.seconds[j] for j in idx]
                       for c, idx in zip(curves, at)], 0)
    maps = np.mean([[c.maps[j] for j in idx] for c, idx in zip(curves, at)], 0)
    return np.array(common), seconds, maps


def time_to_reach(curves: Sequence[Curve], target: float) -> Optional[float]:
    """Wall-clock at which the mean curve first reaches ``target`` mAP,
    linear between evaluation points (the start counts as 0 s, 0 mAP);
    None if it never does."""
    _, seconds, maps = mean_curve(curves)
    prev_t, prev_m = 0.0, 0.0
    for t, m in zip(seconds, maps):
        if m >= target:
            if m == prev_m:
                return float(t)
            return float(prev_t + (t - prev_t) * (target - prev_m) /
                         (m - prev_m))
        prev_t, prev_m = t, m
    return None


def _mean_std(values: Sequence[float]) -> Tuple[float, Optional[float]]:
    # one run has no spread: None, which JSON can hold (NaN it cannot)
    std = float(np.std(values, ddof=1)) if len(values) > 1 else None
    return float(np.mean(values)), std


def summarize(curves: Dict[str, List[Curve]],
              baseline: str = 'frcn') -> Tuple[str, dict]:
    """The results table (markdown) and the same as a dict.

    Per method: seeds, final test mAP mean ± std (sample std over seeds)
    and each seed's, per-class AP means, s/iter and total training
    wall-clock. Then, for
    each other method, the wall-clock at which its mean curve first reaches
    the baseline's final mean mAP, as a fraction of the baseline's mean
    total wall-clock, and when each of its runs reaches it.
    """
    classes = []
    for runs in curves.values():
        for run in runs:
            classes += [
                k[len(CLASS_AP):] for k in run.final
                if k.startswith(CLASS_AP) and k[len(CLASS_AP):] not in classes
            ]
    summary, rows = {}, []
    for method, runs in curves.items():
        final, std = _mean_std([r.maps[-1] for r in runs])
        aps = {
            c: float(
                np.mean([r.final.get(CLASS_AP + c, math.nan) for r in runs]))
            for c in classes
        }
        seconds = float(np.mean([r.seconds[-1] for r in runs]))
        speed = float(np.mean([r.sec_per_iter for r in runs]))
        summary[method] = dict(
            seeds=[r.seed for r in runs],
            final_map=final,
            final_map_std=std,
            final_maps=[r.maps[-1] for r in runs],
            class_ap=aps,
            sec_per_iter=speed,
            train_seconds=seconds)
        spread = '' if std is None else f' ± {100 * std:.1f}'
        per_seed = ', '.join(f'{100 * r.maps[-1]:.1f}' for r in runs)
        rows.append(f'| {method} | {len(runs)} | {100 * final:.1f}{spread} | '
                    f'{per_seed} | ' + ' | '.join(f'{100 * aps[c]:.1f}'
                                                  for c in classes) +
                    f' | {speed:.3f} | {seconds:.0f} |')
    header = ('| method | seeds | mAP (mean ± std) | per seed | ' +
              ' | '.join(f'AP {c}' for c in classes) + ' | s/iter | train s |')
    lines = [header, '|---' * (6 + len(classes)) + '|'] + rows
    if baseline in curves:
        base = summary[baseline]
        lines.append('')
        for method, runs in curves.items():
            if method == baseline:
                continue
            t = time_to_reach(runs, base['final_map'])
            fraction = None if t is None else t / base['train_seconds']
            per_run = [time_to_reach([run], base['final_map']) for run in runs]
            summary[method]['time_to_baseline_map'] = t
            summary[method]['time_to_baseline_fraction'] = fraction
            summary[method]['time_to_baseline_map_per_seed'] = per_run
            ratio = summary[method]['sec_per_iter'] / base['sec_per_iter']
            summary[method]['sec_per_iter_ratio'] = ratio
            target = (f"{baseline}'s final mean mAP "
                      f"({100 * base['final_map']:.1f})")
            seeds = ', '.join('never' if r is None else f'{r:.0f} s'
                              for r in per_run)
            reach = (f'does not reach {target}' if t is None else
                     f'reaches {target} at {t:.0f} s, {100 * fraction:.0f} '
                     f"% of {baseline}'s wall-clock")
            reach += f' (each seed on its own: {seeds})'
            lines.append(
                f'- {method}: s/iter x{ratio:.2f} of {baseline}; {reach}.')
    return '\n'.join(lines), summary


def plot_curves(curves: Dict[str, List[Curve]], out_file: str) -> None:
    """Test mAP against training wall-clock and against iterations: a thin
    line per run, the mean per method in bold. Written atomically."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from ...fileio import atomic_path
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for k, (method, runs) in enumerate(curves.items()):
        color = f'C{k}'
        iters, seconds, maps = mean_curve(runs)
        for run in runs:
            axes[0].plot(
                run.seconds,
                100 * np.array(run.maps),
                color=color,
                lw=0.7,
                alpha=0.5)
            axes[1].plot(
                run.iters,
                100 * np.array(run.maps),
                color=color,
                lw=0.7,
                alpha=0.5)
        label = f'{method} (mean of {len(runs)})'
        axes[0].plot(seconds, 100 * maps, color=color, lw=2.5, label=label)
        axes[1].plot(iters, 100 * maps, color=color, lw=2.5, label=label)
    axes[0].set_xlabel('training wall-clock (s)')
    axes[1].set_xlabel('iteration')
    axes[0].set_ylabel('test mAP (%)')
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(loc='lower right')
    fig.tight_layout()
    with atomic_path(out_file) as tmp:
        fig.savefig(tmp, format='png', dpi=110)
    plt.close(fig)
