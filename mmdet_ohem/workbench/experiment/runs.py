"""Methods against each other over seeds, each run trained by ``mim train``.

Each run is one config and one seed in ``<work root>/<method>/seed<k>``:
its config (``experiment_config.py``, what ``mim train`` ran), checkpoints
and ``eval_curve.jsonl`` (:class:`~mmdet_ohem.engine.EvalCurveHook`: the
test split's metrics at ``evals`` points of the run, with the training
wall-clock spent to get there). A run whose curve reaches its
``max_iters`` is done; an interrupted one resumes from its last
checkpoint. ``make demo``, ``tools/experiment.py`` and the BCCD study are
all :class:`Experiment`\\ s; ``tools/run_suite.py`` shares its helpers.
"""
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from ...fileio import write_atomic
from .report import Curve, plot_curves, read_curve, summarize

# The configs of the installed package (configs/ in a clone).
CONFIG_ROOT = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), '.mim',
    'configs')


def mim_path() -> str:
    """The ``mim`` of this environment."""
    return shutil.which('mim') or osp.join(osp.dirname(sys.executable), 'mim')


def config_path(config: str) -> str:
    """``config`` if it exists, else the package's config of that name
    (e.g. ``'bccd/fast_rcnn_mobilenetv2_bccd.py'``).

    Raises:
        FileNotFoundError: Neither exists.
    """
    for path in (config, osp.join(CONFIG_ROOT, config)):
        if osp.isfile(path):
            return osp.abspath(path)
    raise FileNotFoundError(
        f'{config}: no such config, here or among the package\'s configs '
        f'({CONFIG_ROOT})')


def scale_schedule(cfg: Config, max_iters: int) -> None:
    """Change ``max_iters`` and every iteration count of the schedule with
    it (LR steps and warm-up, checkpoint interval), in proportion."""
    ratio = max_iters / cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = max_iters
    for scheduler in cfg.param_scheduler:
        for key in ('begin', 'end'):
            if scheduler.get(key):
                scheduler[key] = max(1, round(scheduler[key] * ratio))
        if 'milestones' in scheduler:
            scheduler.milestones = [
                max(1, round(m * ratio)) for m in scheduler.milestones
            ]
    checkpoint = cfg.default_hooks.checkpoint
    checkpoint.interval = max(1, round(checkpoint.interval * ratio))


def experiment_config(config: str,
                      work_dir: str,
                      seed: int,
                      evals: int = 10,
                      max_iters: Optional[int] = None,
                      data_root: Optional[str] = None,
                      proposals: Optional[Dict[str, str]] = None,
                      cfg_options: Optional[dict] = None) -> Config:
    """The config a run trains with: ``config`` with the seed, ``evals``
    evaluations of its test split spread over the run (the test loader and
    metric become the validation's), :class:`EvalCurveHook`, and the
    overrides.

    Args:
        max_iters (int, optional): A shorter or longer run, the schedule
            scaled with it (see :func:`scale_schedule`).
        data_root (str, optional): Every dataset's ``data_root``.
        proposals (dict, optional): Split name (the ``ann_file``'s stem,
            e.g. ``'trainval'``) -> proposal file, for each dataset.
        cfg_options (dict, optional): ``merge_from_dict`` options last.
    """
    cfg = Config.fromfile(config)
    if max_iters:
        scale_schedule(cfg, max_iters)
    cfg.val_dataloader = cfg.test_dataloader
    cfg.val_evaluator = cfg.test_evaluator
    cfg.val_cfg = dict(type='ValLoop')
    cfg.train_cfg.val_interval = max(1, cfg.train_cfg.max_iters // evals)
    for key in ('train', 'test'):
        dataset = cfg[f'{key}_dataloader'].dataset
        if data_root is not None:
            dataset.data_root = data_root
        if proposals is not None:
            split = osp.splitext(osp.basename(dataset.ann_file))[0]
            dataset.proposal_file = osp.abspath(proposals[split])
    cfg.randomness = dict(seed=seed)
    hooks = list(cfg.get('custom_hooks', []))
    if not any(hook.get('type') == 'EvalCurveHook' for hook in hooks):
        hooks.append(dict(type='EvalCurveHook'))
    cfg.custom_hooks = hooks
    cfg.default_hooks.checkpoint.max_keep_ckpts = 1
    cfg.work_dir = work_dir
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def final_checkpoint(config: str, work_dir: str) -> Optional[str]:
    """The checkpoint of the last iteration (or epoch) of ``config`` in
    ``work_dir``, if training got there; mmengine names the latest in
    ``<work_dir>/last_checkpoint``."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        checkpoint = f.read().strip()
    match = re.search(r'(iter|epoch)_(\d+)\.pth$', checkpoint)
    if not match or not osp.isfile(checkpoint):
        return None
    train_cfg = Config.fromfile(config).train_cfg
    unit = 'iters' if match.group(1) == 'iter' else 'epochs'
    if int(match.group(2)) != train_cfg.get(f'max_{unit}'):
        return None
    return checkpoint


def _run_curve(work_dir: str, method: str, seed: int) -> Curve:
    """A run's curve, its length read from the config it trains with."""
    config = osp.join(work_dir, 'experiment_config.py')
    max_iters = Config.fromfile(config).train_cfg.max_iters \
        if osp.isfile(config) else 0
    return read_curve(work_dir, method, seed, max_iters)


@dataclass
class Experiment:
    """Methods x seeds, trained (resumably) and reported.

    Attributes:
        methods (dict[str, str]): Method name -> config (a path, or one of
            the package's configs, see :func:`config_path`), the baseline
            first.
        work_root (str): Where the runs and the report go.
        seeds (Sequence[int]): Trained seed by seed, every method of a
            seed before the next seed (an interrupted experiment leaves
            every method with about as many seeds, and a slow spell of the
            machine falls on all of them).
        evals (int): Test evaluations along each run.
        max_iters (int, optional): Rescale every config's schedule.
        data_root, proposals, cfg_options: See :func:`experiment_config`.
        parallel (bool): Train the methods of a seed at once, each on its
            share of the cores (small runs: one core each is faster than
            sharing them); else one after the other on all of them.
    """
    methods: Dict[str, str]
    work_root: str
    seeds: Sequence[int] = (0, )
    evals: int = 10
    max_iters: Optional[int] = None
    data_root: Optional[str] = None
    proposals: Optional[Dict[str, str]] = None
    cfg_options: dict = field(default_factory=dict)
    parallel: bool = False

    def work_dir(self, method: str, seed: int) -> str:
        return osp.join(self.work_root, method, f'seed{seed}')

    def _start(self, method: str, seed: int,
               threads: Optional[int]) -> Optional[subprocess.Popen]:
        """Start the run's ``mim train``, or return None if it is done."""
        work_dir = self.work_dir(method, seed)
        cfg = experiment_config(
            config_path(self.methods[method]), work_dir, seed, self.evals,
            self.max_iters, self.data_root, self.proposals, self.cfg_options)
        if read_curve(work_dir, method, seed, cfg.train_cfg.max_iters).done:
            return None
        config = osp.join(work_dir, 'experiment_config.py')
        write_atomic(config, cfg.pretty_text)
        cmd = [
            mim_path(), 'train', 'mmdet', config, '--work-dir', work_dir,
            '--resume'
        ]
        print(f'[{method} seed {seed}] $ {" ".join(cmd)}', flush=True)
        env = dict(os.environ)
        if threads:
            env['OMP_NUM_THREADS'] = str(threads)
        if not self.parallel:
            return subprocess.Popen(cmd, env=env)
        # runs at once would interleave their logs: one file each
        with open(osp.join(work_dir, 'mim_train.log'), 'w') as log:
            return subprocess.Popen(
                cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    def train(self) -> None:
        """Train every run that is not done.

        Raises:
            RuntimeError: A run failed or stopped before its end.
        """
        threads = max(1, (os.cpu_count() or 1) //
                      len(self.methods)) if self.parallel else None
        for seed in self.seeds:
            started = []
            for method in self.methods:
                proc = self._start(method, seed, threads)
                if proc is not None:
                    started.append((method, proc))
                    if not self.parallel:
                        proc.wait()
            for method, proc in started:
                proc.wait()
                curve = _run_curve(self.work_dir(method, seed), method, seed)
                if proc.returncode != 0 or not curve.done:
                    log = osp.join(
                        self.work_dir(method, seed), 'mim_train.log')
                    raise RuntimeError(
                        f'{self.work_dir(method, seed)}: training failed '
                        f'(exit {proc.returncode}) or ended before iteration '
                        f'{curve.max_iters}' +
                        (f'; see {log}' if self.parallel else ''))

    def curves(self) -> Dict[str, List[Curve]]:
        """Every finished run under the work root, of every method and
        seed, this experiment's methods first: the report covers runs of
        earlier calls too (say, a third method trained with fewer
        seeds)."""
        found = {}
        names = list(self.methods) + sorted(
            name for name in
            (os.listdir(self.work_root) if osp.isdir(self.work_root) else [])
            if name not in self.methods
            and osp.isdir(osp.join(self.work_root, name)))
        for method in names:
            method_dir = osp.join(self.work_root, method)
            seeds = sorted(
                int(name[len('seed'):]) for name in (
                    os.listdir(method_dir) if osp.isdir(method_dir) else [])
                if re.fullmatch(r'seed\d+', name))
            for seed in seeds:
                curve = _run_curve(self.work_dir(method, seed), method, seed)
                if curve.done:
                    found.setdefault(method, []).append(curve)
        return found

    def report(self, extra: Optional[dict] = None) -> Tuple[str, dict]:
        """Write ``results.md``, ``results.json`` (with ``extra``) and
        ``curves.png`` to the work root; return the markdown and the
        summary (:func:`~.report.summarize`, the first method the
        baseline)."""
        curves = self.curves()
        baseline = next((m for m in self.methods if m in curves), None)
        markdown, summary = summarize(curves, baseline=baseline)
        write_atomic(osp.join(self.work_root, 'results.md'), markdown + '\n')
        write_atomic(
            osp.join(self.work_root, 'results.json'),
            json.dumps(
                dict(summary=summary, methods=self.methods, **(extra or {})),
                indent=1) + '\n')
        plot_curves(curves, osp.join(self.work_root, 'curves.png'))
        return markdown, summary
