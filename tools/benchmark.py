"""Training cost of OHEM against Fast R-CNN and mmdet's OHEMSampler.

Times full training steps (forward, backward, SGD step) of five variants of
one detector on one seeded synthetic batch. Each variant lives in its own
process; their steps take turns, so that the load of a shared machine falls
on all alike. Prints s/iter, peak memory, the read-only pass and the
selection, the ratios to (a) and (b), the read-only pass against its ideal
time on this machine (its FLOPs over the measured GEMM throughput) and how
much the bf16 read-only pass changes the hard set.

    python tools/benchmark.py --device cpu --out bench.json   # paper load
    python tools/benchmark.py --workload light --out light.json
    python tools/benchmark.py --quick                        # ~2 minutes
    python tools/benchmark.py --device cuda --roi-layer RoIPool

Workloads (``--workload``; single flags override them):

- ``paper`` (default): VGG16 Fast R-CNN, 2 images of 600x1000, 2000
  proposals each, 64 RoIs per image (B = 128), all five variants;
- ``light``: the demo's tiny trunk (stride 8, 256-unit fcs), 2 images of
  400x560, 1000 proposals each, variants (a), (d), (e), 3 + 20 steps:
  where OHEM's fixed cost per candidate RoI is not hidden by the trunk.
"""
import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile

import torch
from mmengine.logging import MMLogger

from mmdet_ohem.fileio import write_atomic
from mmdet_ohem.workbench import benchmark, measure

QUICK = dict(size=(240, 400), proposals=400, warmup=1, iters=2)
WORKLOADS = dict(
    paper=dict(),
    light=dict(
        model='tiny',
        size=(400, 560),
        proposals=1000,
        variants=['frcn', 'ohem_head', 'ohem_head_bf16'],
        warmup=3,
        iters=20))
#: Limits of the targets per workload: the step time of (d) and (e) over
#: (a) (None: not a target), the selection's share of the step, the
#: read-only pass's efficiency.
LIMITS = dict(
    paper=dict(exact=None, fast=1.15, selection_share=0.02, efficiency=0.6),
    light=dict(exact=1.3, fast=1.3, selection_share=0.03, efficiency=0.6))
#: the read-only pass's dtype per variant, for its ideal time
READONLY_DTYPE = dict(
    mmdet_ohem='float32',
    ohem_sampler='float32',
    ohem_head='float32',
    ohem_head_bf16='bfloat16')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--workload',
        default='paper',
        choices=sorted(WORKLOADS),
        help='preset of the flags below (default: paper)')
    parser.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    parser.add_argument(
        '--model', default='vgg16', choices=sorted(benchmark.MODELS_CFG))
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=(600, 1000),
        metavar=('H', 'W'),
        help='image size (default: 600 1000)')
    parser.add_argument('--imgs', type=int, default=2, help='images per step')
    parser.add_argument(
        '--proposals', type=int, default=2000, help='proposals per image')
    parser.add_argument(
        '--warmup',
        type=int,
        default=2,
        help='untimed steps first (default: 2; the first step after one '
        'warm-up step was still the slowest of every variant)')
    parser.add_argument(
        '--iters', type=int, default=5, help='timed steps (default: 5)')
    parser.add_argument(
        '--roi-layer',
        choices=('RoIPool', 'RoIAlign'),
        help="default: the config's on CUDA, RoIAlign on CPU")
    parser.add_argument(
        '--variants',
        nargs='+',
        default=list(benchmark.VARIANTS),
        choices=list(benchmark.VARIANTS))
    parser.add_argument(
        '--quick',
        action='store_true',
        help='development preset: ' + ', '.join(f'{k}={v}'
                                                for k, v in QUICK.items()))
    parser.add_argument(
        '--sequential',
        action='store_true',
        help='run the variants one after another instead of interleaving '
        'their steps (one process in memory at a time)')
    parser.add_argument(
        '--caching-malloc',
        action='store_true',
        help='run the workers with glibc malloc keeping freed memory for '
        'reuse (measure.MALLOC_TUNABLES), as a caching allocator would: '
        'faster steps on CPU, but the peak RSS then counts the cache')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument(
        '--worker', help=argparse.SUPPRESS)  # internal: one job, then exit
    parser.add_argument('--worker-out', help=argparse.SUPPRESS)
    parser.add_argument(
        '--with-extras', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    presets = dict(WORKLOADS[args.workload])
    if args.quick:
        presets.update(QUICK)
    for key, value in presets.items():
        if parser.get_default(key) == getattr(args, key):
            setattr(args, key, value)
    args.size = tuple(args.size)
    return args


def workload(args) -> dict:
    return dict(
        model=args.model,
        device=args.device,
        num_imgs=args.imgs,
        size=args.size,
        num_proposals=args.proposals,
        roi_layer=args.roi_layer)


def extras(args) -> dict:
    """What needs no clean process: FLOPs, the GEMM throughput (measured
    while the other workers wait) and the bf16 overlap."""
    return dict(
        floor=benchmark.floor_for(**workload(args)),
        gemm_tflops={
            dtype: measure.gemm_tflops(args.device, getattr(torch, dtype))
            for dtype in ('float32', 'bfloat16')
        },
        overlap=benchmark.selection_overlap(**workload(args), seed=args.seed))


def worker(args) -> None:
    """One variant in this process, driven through stdin by the main
    process: ``step`` (timed), ``warmup`` (untimed), ``reset`` (peak
    memory), ``finish`` (write the result; with ``--with-extras`` also the
    floor and the overlap, which need no clean process of their own)."""
    # mmengine lists every frozen parameter at WARNING level
    MMLogger.get_current_instance().setLevel(logging.ERROR)
    runner = benchmark.VariantRunner(
        args.worker, seed=args.seed, **workload(args))
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
    if args.with_extras:
        result['extras'] = extras(args)
    with open(args.worker_out, 'w') as f:
        json.dump(result, f)
    reply('done')


REPLY = '@@benchmark '


def reply(message: str) -> None:
    print(REPLY + message, flush=True)


class Worker:
    """A worker process of one variant, and its replies."""

    def __init__(self, key: str, argv: list, out: str, env: dict) -> None:
        self.key = key
        self.out = out
        self.loads = []
        self.proc = subprocess.Popen([
            sys.executable, __file__, *argv, '--worker', key, '--worker-out',
            out
        ],
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


def run_all(args, argv: list, tmp: str) -> dict:
    """Each variant in its own process; their steps interleaved.

    With ``--sequential`` one process at a time (less memory). Otherwise
    all processes are built first and then take turns: round r runs one
    step of every variant, starting with a different one each round, so
    that a change in the machine's load falls on all variants alike.
    Only one process computes at any time.
    """
    keys = args.variants
    groups = [[key] for key in keys] if args.sequential else [keys]
    env = measure.caching_malloc_env() if args.caching_malloc else None
    results = {}
    for group in groups:
        workers = []
        for key in group:
            extra = ['--with-extras'] if key == keys[0] else []
            workers.append(
                Worker(key, argv + extra, os.path.join(tmp, key + '.json'),
                       env))
        for w in workers:
            assert w.wait() == 'ready'
        for i in range(args.warmup + args.iters):
            if i == args.warmup:
                for w in workers:
                    w.call('reset')
            shift = i % len(workers)
            for w in workers[shift:] + workers[:shift]:
                w.loads.append(os.getloadavg()[0])
                w.call('step' if i >= args.warmup else 'warmup')
                print(
                    f'   step {i + 1}: ({benchmark.VARIANTS[w.key][0]}) '
                    f'{w.key}',
                    flush=True)
        for w in workers:
            results[w.key] = w.finish()
            results[w.key]['load_1min'] = w.loads
    return results


def ratios(variants: dict) -> dict:
    """Median (and min) s/iter of each variant over (a) and (b)."""
    out = {}
    for ref in ('frcn', 'mmdet_ohem'):
        if ref not in variants:
            continue
        for key, res in variants.items():
            out.setdefault(key, {})[f'to_{ref}'] = (
                res['median_s'] / variants[ref]['median_s'])
            out[key][f'min_to_{ref}'] = (res['min_s'] / variants[ref]['min_s'])
    return out


def readonly_limits(results: dict) -> dict:
    """The read-only pass of each variant against its ideal time.

    ideal = the pass's FLOPs / the GEMM throughput of its dtype on this
    machine; efficiency = ideal / measured; ideal step ratio = 1 + ideal /
    (a)'s median step: what the variant would cost if its read-only pass
    ran at the machine's GEMM rate and nothing else were added.
    """
    var, ext = results['variants'], results['extras']
    out = {}
    for key, res in var.items():
        if not res.get('readonly_s') or key not in READONLY_DTYPE:
            continue  # no read-only pass, or it never ran
        dtype = READONLY_DTYPE[key]
        ideal = ext['floor']['readonly_tflop'] / ext['gemm_tflops'][dtype]
        out[key] = dict(
            dtype=dtype,
            ideal_s=ideal,
            measured_s=res['readonly_s'],
            efficiency=ideal / res['readonly_s'])
        if 'frcn' in var:
            out[key]['ideal_step_ratio'] = 1 + ideal / var['frcn']['median_s']
    return out


def targets(results: dict) -> dict:
    """The issue's targets, each with its measured value and verdict."""
    var, rat = results['variants'], results['ratios']
    limits = LIMITS[results['args']['workload']]
    checks = {}

    def check(name, value, limit, ok):
        checks[name] = dict(value=value, limit=limit, met=bool(ok))

    for key, lim in results['readonly_limits'].items():
        if key.startswith('ohem_head'):
            value, limit = lim['efficiency'], limits['efficiency']
            check(f'{key}_readonly_efficiency', value, limit, value >= limit)
    if 'ohem_head' in rat and 'to_frcn' in rat['ohem_head']:
        value = rat['ohem_head']['to_frcn']
        if limits['exact'] is not None:
            check('exact_time', value, limits['exact'], value
                  <= limits['exact'])
        if 'to_mmdet_ohem' in rat['ohem_head']:
            check('exact_not_slower_than_mmdet', value,
                  rat['mmdet_ohem']['to_frcn'],
                  rat['ohem_head']['to_mmdet_ohem'] <= 1)
    if 'ohem_head_bf16' in rat and 'to_frcn' in rat['ohem_head_bf16']:
        value = rat['ohem_head_bf16']['to_frcn']
        check('fast_time', value, limits['fast'], value <= limits['fast'])
    # "identical on at least 98% of hard RoIs": |fp32 & bf16| / |fp32|
    overlap = results['extras']['overlap']['fraction']
    check('fast_selection_overlap', overlap, 0.98, overlap >= 0.98)
    if 'frcn' in var:
        limit = 1.1 * var['frcn']['peak_mem_mib']
        for key in ('ohem_head', 'ohem_head_bf16'):
            if key in var:
                value = var[key]['peak_mem_mib']
                check(f'{key}_memory', value, limit, value <= limit)
    for key, res in var.items():
        if res.get('selection_s') is not None:
            value = res['selection_s'] / res['median_s']
            limit = limits['selection_share']
            check(f'{key}_selection_share', value, limit, value <= limit)
    return checks


def table(results: dict) -> str:
    var, rat = results['variants'], results['ratios']
    mem = next(iter(var.values()))['peak_mem_kind']
    lines = [
        f"{'variant':<20} {'median':>7} {'min':>7} {'/(a)':>6} "
        f"{'min/(a)':>7} {'/(b)':>6} {'peak MiB':>9} {'ro s':>6} "
        f"{'ideal':>6} {'eff %':>6} {'ideal/(a)':>9} {'sel ms':>7} "
        f"{'sel %':>6} {'faults':>7}"
    ]
    limits = results['readonly_limits']

    def fmt(value, spec):
        return format(value, spec) if value is not None else '-'

    for key, res in var.items():
        label = benchmark.VARIANTS[key][0]
        sel = res.get('selection_s')
        lim = limits.get(key, {})
        lines.append(
            f"({label}) {key:<16} {res['median_s']:>7.2f} "
            f"{res['min_s']:>7.2f} "
            f"{fmt(rat[key].get('to_frcn'), '6.3f'):>6} "
            f"{fmt(rat[key].get('min_to_frcn'), '7.3f'):>7} "
            f"{fmt(rat[key].get('to_mmdet_ohem'), '6.3f'):>6} "
            f"{res['peak_mem_mib']:>9.0f} "
            f"{fmt(res.get('readonly_s'), '6.3f'):>6} "
            f"{fmt(lim.get('ideal_s'), '6.3f'):>6} "
            f"{fmt(100 * lim['efficiency'] if lim else None, '6.1f'):>6} "
            f"{fmt(lim.get('ideal_step_ratio'), '9.3f'):>9} "
            f"{fmt(sel and sel * 1e3, '7.1f'):>7} "
            f"{fmt(sel and 100 * sel / res['median_s'], '6.2f'):>6} "
            f"{statistics.median(res['minor_faults']):>7.0f}")
    floor = results['extras']['floor']
    overlap = results['extras']['overlap']
    lines += [
        f'({label}) {desc}'
        for label, desc in (benchmark.VARIANTS[key] for key in var)
    ]
    lines += [
        f'times: s/iter over {results["args"]["iters"]} steps (/: median '
        f'over median, min/: min over min); peak memory: {mem}; ro: '
        'read-only pass per step; ideal: its FLOPs over the GEMM '
        'throughput of its dtype; eff: ideal / ro; ideal/(a): 1 + ideal / '
        "(a)'s step; sel: NMS + top-k per step; faults: minor page faults "
        'per step (median)',
        f"read-only pass {floor['readonly_tflop'] * 1e3:.4g} GFLOP, "
        f"baseline step {floor['baseline_step_tflop'] * 1e3:.4g} GFLOP; "
        'GEMM throughput (fc6-shaped product): ' + ', '.join(
            f'{dtype} {tflops:.3g} TFLOP/s'
            for dtype, tflops in results['extras']['gemm_tflops'].items()),
        f"bf16 vs fp32 hard set: {overlap['num_common']} of "
        f"{overlap['num_exact']} the same ({overlap['fraction']:.4f}), "
        f"IoU {overlap['iou']:.4f}",
    ]
    for name, res in results['targets'].items():
        verdict = 'met' if res['met'] else 'MISSED'
        lines.append(f"target {name}: {res['value']:.4g} "
                     f"(limit {res['limit']:.4g}) {verdict}")
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    argv = [
        '--device', args.device, '--model', args.model, '--size',
        *map(str, args.size), '--imgs',
        str(args.imgs), '--proposals',
        str(args.proposals), '--warmup',
        str(args.warmup), '--iters',
        str(args.iters), '--seed',
        str(args.seed)
    ]
    if args.roi_layer:
        argv += ['--roi-layer', args.roi_layer]
    environment = measure.environment()
    environment['malloc'] = (
        measure.MALLOC_TUNABLES if args.caching_malloc else 'system')
    results = dict(
        args=vars(args),
        environment=environment,
        load_start=os.getloadavg(),
        variants={})
    with tempfile.TemporaryDirectory() as tmp:
        results['variants'] = run_all(args, argv, tmp)
    # the first worker also counted the floor and measured the overlap
    results['extras'] = results['variants'][args.variants[0]].pop('extras')
    results['load_end'] = os.getloadavg()
    results['ratios'] = ratios(results['variants'])
    results['readonly_limits'] = readonly_limits(results)
    results['targets'] = targets(results)
    print(table(results))
    print(f"load average (1, 5, 15 min): start {results['load_start']}, "
          f"end {results['load_end']}")
    if args.out:
        write_atomic(args.out, json.dumps(results, indent=1).encode())
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
