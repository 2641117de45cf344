"""Validation metrics against the training wall-clock spent to reach them."""
import json
import os.path as osp
import random
import time

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import Hook


@HOOKS.register_module()
class EvalCurveHook(Hook):
    """Append each validation's metrics, with the iteration and the
    training wall-clock so far, to ``<work_dir>/<file_name>``.

    The wall-clock (``train_seconds``) counts everything the training loop
    spends (data loading, steps, checkpoints) but not validation, from the
    start of the run; ``--resume`` continues it from the checkpoint's
    ``meta['train_seconds']``. One JSON object per line; a validation
    repeated after a resume appends a second line for the same iteration
    (readers keep the last). ``tools/experiment.py`` plots mAP against it.

    A validation leaves the random generators (Python, numpy, torch's CPU
    and CUDA ones) as it found them: building its dataloader iterator
    draws from torch's, which would change the dropout masks and samples
    of every later training step. So how often a run is evaluated does
    not change what it trains into.

    Args:
        file_name (str): Defaults to ``'eval_curve.jsonl'``.
    """

    priority = 'LOW'

    def __init__(self, file_name: str = 'eval_curve.jsonl') -> None:
        self.file_name = file_name
        self._offset = 0.0  # seconds of the runs before a resume
        self._start = self._val_start = None
        self._val = 0.0
        self._at = None
        self._rng = None

    def _train_seconds(self) -> float:
        if self._start is None:
            return self._offset
        return self._offset + time.perf_counter() - self._start - self._val

    def before_train(self, runner) -> None:
        if runner.iter == 0:  # not a resume (load_from runs this hook too)
            self._offset = 0.0
        self._start, self._val = time.perf_counter(), 0.0

    def before_val_epoch(self, runner) -> None:
        self._at = self._train_seconds()
        self._val_start = time.perf_counter()
        self._rng = (random.getstate(), np.random.get_state(),
                     torch.get_rng_state(), torch.cuda.get_rng_state_all()
                     if torch.cuda.is_available() else None)

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._rng is not None:
            python, numpy, cpu, cuda = self._rng
            random.setstate(python)
            np.random.set_state(numpy)
            torch.set_rng_state(cpu)
            if cuda is not None:
                torch.cuda.set_rng_state_all(cuda)
            self._rng = None
        if self._val_start is not None:
            self._val += time.perf_counter() - self._val_start
            self._val_start = None
        if self._start is None or not metrics or not is_main_process():
            return  # a validation outside training
        record = dict(
            iter=runner.iter, train_seconds=round(self._at, 3), **metrics)
        with open(osp.join(runner.work_dir, self.file_name), 'a') as f:
            f.write(json.dumps(record) + '\n')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['train_seconds'] = \
            float(self._train_seconds())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._offset = float(
            checkpoint.get('meta', {}).get('train_seconds', 0.0))
