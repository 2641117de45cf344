"""Training cost of OHEM against Fast R-CNN and mmdet's OHEMSampler.

Times full training steps (forward, backward, SGD step) of five variants of
one detector on one seeded synthetic batch, each variant in its own
process, and prints s/iter, peak memory, the read-only pass and the
selection, the ratios to (a) and (b), the compute floor of exact OHEM and
how much the bf16 read-only pass changes the hard set.

    python tools/benchmark.py --device cpu --out bench.json   # paper load
    python tools/benchmark.py --quick                        # ~2 minutes
    python tools/benchmark.py --device cuda --roi-layer RoIPool

Defaults are the paper's workload: VGG16 Fast R-CNN, 2 images of 600x1000,
2000 proposals each, 64 RoIs per image (B = 128).
"""
import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile

from mmengine.logging import MMLogger

from mmdet_ohem import benchmark

QUICK = dict(size=(240, 400), proposals=400, warmup=1, iters=2)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--iters', type=int, default=3, help='timed steps')
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
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument(
        '--worker', help=argparse.SUPPRESS)  # internal: one job, then exit
    parser.add_argument('--worker-out', help=argparse.SUPPRESS)
    parser.add_argument(
        '--with-extras', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
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
    return dict(
        floor=benchmark.floor_for(**workload(args)),
        overlap=benchmark.selection_overlap(**workload(args), seed=args.seed))


def worker(args) -> dict:
    """One job: a variant's timings, then (``--with-extras``) the floor and
    the overlap, which need no clean process of their own."""
    # mmengine lists every frozen parameter at WARNING level
    MMLogger.get_current_instance().setLevel(logging.ERROR)
    result = benchmark.run_variant(
        args.worker,
        warmup=args.warmup,
        iters=args.iters,
        seed=args.seed,
        **workload(args))
    if args.with_extras:
        result['extras'] = extras(args)
    return result


def spawn(job: str, argv: list) -> dict:
    """Run one job of this tool in a fresh process; return its result."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'out.json')
        cmd = [
            sys.executable, __file__, *argv, '--worker', job, '--worker-out',
            out
        ]
        load = os.getloadavg()[0]
        subprocess.run(cmd, check=True)
        with open(out) as f:
            result = json.load(f)
    result['load_before'] = load
    result['load_after'] = os.getloadavg()[0]
    return result


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


def targets(results: dict) -> dict:
    """The issue's targets, each with its measured value and verdict."""
    var, rat = results['variants'], results['ratios']
    floor = results['extras']['floor']['floor']
    checks = {}

    def check(name, value, limit, ok):
        checks[name] = dict(value=value, limit=limit, met=bool(ok))

    if 'ohem_head' in rat and 'to_frcn' in rat['ohem_head']:
        value = rat['ohem_head']['to_frcn']
        check('exact_time_within_10pct_of_floor', value, 1.1 * floor, value
              <= 1.1 * floor)
        if 'to_mmdet_ohem' in rat['ohem_head']:
            check('exact_not_slower_than_mmdet', value,
                  rat['mmdet_ohem']['to_frcn'],
                  rat['ohem_head']['to_mmdet_ohem'] <= 1)
    if 'ohem_head_bf16' in rat and 'to_frcn' in rat['ohem_head_bf16']:
        value = rat['ohem_head_bf16']['to_frcn']
        check('fast_time', value, 1.15, value <= 1.15)
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
            check(f'{key}_selection_share', value, 0.02, value <= 0.02)
    return checks


def table(results: dict) -> str:
    var, rat = results['variants'], results['ratios']
    mem = next(iter(var.values()))['peak_mem_kind']
    lines = [
        f"{'variant':<20} {'median':>7} {'min':>7} {'/(a)':>6} "
        f"{'min/(a)':>7} {'/(b)':>6} {'peak MiB':>9} {'ro s':>6} "
        f"{'sel ms':>7} {'sel %':>6}"
    ]

    def fmt(value, spec):
        return format(value, spec) if value is not None else '-'

    for key, res in var.items():
        label = benchmark.VARIANTS[key][0]
        sel = res.get('selection_s')
        lines.append(f"({label}) {key:<16} {res['median_s']:>7.2f} "
                     f"{res['min_s']:>7.2f} "
                     f"{fmt(rat[key].get('to_frcn'), '6.3f'):>6} "
                     f"{fmt(rat[key].get('min_to_frcn'), '7.3f'):>7} "
                     f"{fmt(rat[key].get('to_mmdet_ohem'), '6.3f'):>6} "
                     f"{res['peak_mem_mib']:>9.0f} "
                     f"{fmt(res.get('readonly_s'), '6.2f'):>6} "
                     f"{fmt(sel and sel * 1e3, '7.1f'):>7} "
                     f"{fmt(sel and 100 * sel / res['median_s'], '6.2f'):>6}")
    floor = results['extras']['floor']
    overlap = results['extras']['overlap']
    lines += [
        f'({label}) {desc}'
        for label, desc in (benchmark.VARIANTS[key] for key in var)
    ]
    lines += [
        f'times: s/iter over {results["args"]["iters"]} steps (/: median '
        f'over median, min/: min over min); peak memory: {mem}; ro: '
        'read-only pass per step; sel: NMS + top-k per step',
        f"compute floor of exact OHEM: x{floor['floor']:.3f} "
        f"(read-only {floor['readonly_tflop'] * 1e3:.4g} GFLOP / baseline "
        f"step {floor['baseline_step_tflop'] * 1e3:.4g} GFLOP)",
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
        result = worker(args)
        with open(args.worker_out, 'w') as f:
            json.dump(result, f)
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
    results = dict(
        args=vars(args),
        environment=benchmark.environment(),
        load_start=os.getloadavg(),
        variants={})
    for i, key in enumerate(args.variants):
        print(f'== ({benchmark.VARIANTS[key][0]}) {key}', flush=True)
        # the first worker also counts the floor and measures the overlap
        results['variants'][key] = spawn(key,
                                         argv + ['--with-extras'] * (i == 0))
    results['extras'] = results['variants'][args.variants[0]].pop('extras')
    results['load_end'] = os.getloadavg()
    results['ratios'] = ratios(results['variants'])
    results['targets'] = targets(results)
    print(table(results))
    print(f"load average (1, 5, 15 min): start {results['load_start']}, "
          f"end {results['load_end']}")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
