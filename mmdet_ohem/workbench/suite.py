"""Plan the runs of a manifest's tables: which configs still need training
or testing, and the ``mim`` commands that do it, resumably."""
import os.path as osp
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence

from mmengine.config import Config

from .results import config_stem, read_run

STATES = ('done', 'test', 'train')


@dataclass
class SuiteRun:
    """One config of a suite and how far it got.

    Attributes:
        config (str): Path of the config.
        work_dir (str): ``<work root>/<config stem>``.
        state (str): ``'done'`` (tested), ``'test'`` (trained, not
            tested) or ``'train'`` (not trained to the end).
        checkpoint (str, optional): The final checkpoint, once trained.
    """
    config: str
    work_dir: str
    state: str
    checkpoint: Optional[str] = None


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


def plan_suite(manifest: dict,
               config_root: str,
               work_root: str,
               tables: Optional[Sequence[str]] = None) -> List[SuiteRun]:
    """The distinct configs of some tables of a manifest, in order, each
    with its state.

    Args:
        manifest (dict): As :func:`~mmdet_ohem.workbench.results.load_manifest`
            returns.
        config_root (str): Folder the manifest's config paths are relative
            to (the manifest's own).
        work_root (str): Folder of the work dirs.
        tables (Sequence[str], optional): Which tables; default all.
    """
    runs, seen = [], set()
    for name in tables or manifest['tables']:
        for row in manifest['tables'][name]['rows']:
            config = osp.join(config_root, row['config'])
            if config in seen:
                continue
            seen.add(config)
            work_dir = osp.join(work_root, config_stem(config))
            if read_run(work_dir).metrics is not None:
                runs.append(SuiteRun(config, work_dir, 'done'))
                continue
            checkpoint = final_checkpoint(config, work_dir)
            state = 'train' if checkpoint is None else 'test'
            runs.append(SuiteRun(config, work_dir, state, checkpoint))
    return runs


def mim_commands(run: SuiteRun,
                 launcher: str = 'none',
                 gpus: Optional[int] = None,
                 gpus_per_node: Optional[int] = None,
                 partition: Optional[str] = None) -> List[List[str]]:
    """The ``mim`` commands that finish a run: train (resuming from the
    work dir's latest checkpoint) unless trained, then test.

    The test's checkpoint is the final one; where training is still to be
    done it is known only afterwards, so the test command holds the
    placeholder ``{checkpoint}``.
    """
    if run.state == 'done':
        return []
    dist = ['--launcher', launcher]
    if gpus:
        dist += ['--gpus', str(gpus)]
    if gpus_per_node:
        dist += ['--gpus-per-node', str(gpus_per_node)]
    if partition:
        dist += ['--partition', partition]
    if launcher == 'slurm':
        dist += ['--yes']
    commands = []
    if run.state == 'train':
        commands.append([
            'mim', 'train', 'mmdet', run.config, '--work-dir', run.work_dir,
            '--resume', *dist
        ])
    commands.append([
        'mim', 'test', 'mmdet', run.config, '--checkpoint', run.checkpoint
        or '{checkpoint}', '--work-dir', run.work_dir, *dist
    ])
    return commands
