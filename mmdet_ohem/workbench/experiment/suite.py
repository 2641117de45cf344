"""The runs of a manifest's tables: which configs still need training or
testing, the ``mim`` commands that do it, resumably, and running them."""
import os.path as osp
import subprocess
from dataclasses import dataclass
from typing import List, Optional, Sequence

from ..results import config_stem, read_run
from .runs import final_checkpoint, mim_path

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


def run_suite(runs: Sequence[SuiteRun],
              dry_run: bool = False,
              keep_going: bool = False,
              **launch) -> List[str]:
    """Run each run's :func:`mim_commands` (``launch``: their launcher
    options), printing each state and command; return the configs that
    failed. Stops at the first failure unless ``keep_going``; a dry run
    prints and runs nothing."""
    failed = []
    for run in runs:
        print(f'[{run.state}] {run.config} -> {run.work_dir}', flush=True)
        for cmd in mim_commands(run, **launch):
            if cmd[1] == 'test' and run.checkpoint is None and not dry_run:
                run.checkpoint = final_checkpoint(run.config, run.work_dir)
                if run.checkpoint is None:
                    print(
                        '  training left no final checkpoint in '
                        f'{run.work_dir}',
                        flush=True)
                    failed.append(run.config)
                    break
                cmd = [
                    run.checkpoint if c == '{checkpoint}' else c for c in cmd
                ]
            print('  $', ' '.join(cmd), flush=True)
            if dry_run:
                continue
            if subprocess.run([mim_path()] + cmd[1:]).returncode != 0:
                failed.append(run.config)
                break
        if failed and not keep_going:
            break
    return failed
