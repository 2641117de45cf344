"""Each variant of the benchmark in its own process, their steps taking
turns.

:func:`run_variants` starts one worker per variant (this module run as
``python -m``, with the variant and the settings as JSON) and drives it
through its stdin: ``step`` (timed), ``warmup`` (untimed), ``reset`` (peak
memory), ``finish`` (write the result and exit). A worker answers each
command with a line that starts with :data:`REPLY`; its other output
passes through.
"""
import json
import logging
import os
import os.path as osp
import subprocess
import sys
import tempfile
from typing import Optional

import torch
from mmengine.logging import MMLogger

from . import measure
from .variants import VARIANTS, VariantRunner, floor_for, selection_overlap

REPLY = '@@benchmark '


def workload(settings: dict) -> dict:
    """The keyword arguments of :class:`VariantRunner` in ``settings``."""
    return dict(
        model=settings['model'],
        device=settings['device'],
        num_imgs=settings['imgs'],
        size=tuple(settings['size']),
        num_proposals=settings['proposals'],
        roi_layer=settings['roi_layer'])


def extras(settings: dict) -> dict:
    """What needs no clean process: FLOPs, the GEMM throughput (measured
    while the other workers wait) and the bf16 overlap."""
    return dict(
        floor=floor_for(**workload(settings)),
        gemm_tflops={
            dtype: measure.gemm_tflops(settings['device'],
                                       getattr(torch, dtype))
            for dtype in ('float32', 'bfloat16')
        },
        overlap=selection_overlap(**workload(settings), seed=settings['seed']))


def reply(message: str) -> None:
    print(REPLY + message, flush=True)


def serve(variant: str, settings: dict, out: str, with_extras: bool) -> None:
    """The worker: one variant in this process, driven through stdin.

    Args:
        variant (str): A key of :data:`VARIANTS`.
        settings (dict): The run's settings
            (:func:`~mmdet_ohem.workbench.benchmark.run.settings`).
        out (str): JSON file for :meth:`VariantRunner.result`.
        with_extras (bool): Add :func:`extras` to the result, which need
            no clean process of their own.
    """
    # mmengine lists every frozen parameter at WARNING level
    MMLogger.get_current_instance().setLevel(logging.ERROR)
    runner = VariantRunner(
        variant, seed=settings['seed'], **workload(settings))
    reply('ready')
    for command in sys.stdin:
        command = command.strip()
        if command == 'finish':
            break
        if command == 'reset':
            runner.peak.reset()
        else:
            runner.step(timed=command == 'step')
        reply('done')
    result = runner.result()
    if with_extras:
        result['extras'] = extras(settings)
    with open(out, 'w') as f:
        json.dump(result, f)
    reply('done')


class Worker:
    """A worker process of one variant, and its replies."""

    def __init__(self, key: str, settings: dict, out: str, with_extras: bool,
                 env: Optional[dict]) -> None:
        self.key = key
        self.out = out
        self.loads = []
        spec = dict(
            variant=key, settings=settings, out=out, with_extras=with_extras)
        # __name__: this module, run as the worker's main
        self.proc = subprocess.Popen(
            [sys.executable, '-m', __name__,
             json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True)

    def send(self, command: str) -> None:
        self.proc.stdin.write(command + '\n')
        self.proc.stdin.flush()

    def wait(self) -> str:
        """The next reply; other output of the worker passes through."""
        for line in self.proc.stdout:
            if line.startswith(REPLY):
                return line[len(REPLY):].strip()
            sys.stdout.write(line)
        raise RuntimeError(f'benchmark worker {self.key} exited with '
                           f'{self.proc.wait()}')

    def call(self, command: str) -> str:
        self.send(command)
        return self.wait()

    def finish(self) -> dict:
        self.call('finish')
        self.proc.wait()
        with open(self.out) as f:
            return json.load(f)


def run_variants(settings: dict) -> dict:
    """Each variant in its own process; their steps interleaved.

    With ``settings['sequential']`` one process at a time (less memory).
    Otherwise all processes are built first and then take turns: round r
    runs one step of every variant, starting with a different one each
    round, so that a change in the machine's load falls on all variants
    alike. Only one process computes at any time.

    Returns:
        dict: Variant key -> :meth:`VariantRunner.result` and
        ``load_1min`` (the load average before each step); the first
        variant's also has ``extras`` (:func:`extras`).
    """
    keys = settings['variants']
    groups = [[key] for key in keys] if settings['sequential'] else [keys]
    env = measure.caching_malloc_env() if settings['caching_malloc'] else None
    warmup, iters = settings['warmup'], settings['iters']
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for group in groups:
            workers = [
                Worker(key, settings, osp.join(tmp, key + '.json'),
                       key == keys[0], env) for key in group
            ]
            for w in workers:
                assert w.wait() == 'ready'
            for i in range(warmup + iters):
                if i == warmup:
                    for w in workers:
                        w.call('reset')
                shift = i % len(workers)
                for w in workers[shift:] + workers[:shift]:
                    w.loads.append(os.getloadavg()[0])
                    w.call('step' if i >= warmup else 'warmup')
                    print(
                        f'   step {i + 1}: ({VARIANTS[w.key][0]}) {w.key}',
                        flush=True)
            for w in workers:
                results[w.key] = w.finish()
                results[w.key]['load_1min'] = w.loads
    return results


if __name__ == '__main__':
    serve(**json.loads(sys.argv[1]))
