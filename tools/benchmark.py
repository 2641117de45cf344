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

Workloads (``--workload``; single flags override them): ``paper`` (VGG16,
2 x 600x1000, 2000 proposals, all five variants) and ``light`` (the demo's
tiny trunk, where OHEM's fixed cost per RoI is not hidden); see
mmdet_ohem/workbench/benchmark/run.py.
"""
import argparse
import json

from mmdet_ohem.fileio import write_atomic
from mmdet_ohem.workbench.benchmark import report, run
from mmdet_ohem.workbench.benchmark.run import DEFAULTS
from mmdet_ohem.workbench.benchmark.variants import MODELS_CFG, VARIANTS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--workload',
        default='paper',
        choices=sorted(run.WORKLOADS),
        help='preset of the flags below (default: paper)')
    parser.add_argument(
        '--device',
        choices=('cpu', 'cuda'),
        help=f"default: {DEFAULTS['device']}")
    parser.add_argument(
        '--model',
        choices=sorted(MODELS_CFG),
        help=f"default: {DEFAULTS['model']}")
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='image size (default: {} {})'.format(*DEFAULTS['size']))
    for flag, what in (('imgs', 'images per step'), ('proposals',
                                                     'proposals per image'),
                       ('warmup', 'untimed steps first'), ('iters',
                                                           'timed steps')):
        parser.add_argument(
            f'--{flag}', type=int, help=f'{what} (default: {DEFAULTS[flag]})')
    parser.add_argument(
        '--roi-layer',
        choices=('RoIPool', 'RoIAlign'),
        help="default: the config's on CUDA, RoIAlign on CPU")
    parser.add_argument(
        '--variants', nargs='+', choices=list(VARIANTS), help='default: all')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='development preset: ' + ', '.join(f'{k}={v}'
                                                for k, v in run.QUICK.items()))
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
    parser.add_argument(
        '--seed', type=int, help=f"default: {DEFAULTS['seed']}")
    parser.add_argument('--out', help='write the results as JSON here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    results = run.run_benchmark(run.settings(**vars(args)))
    print(report.table(results))
    print(f"load average (1, 5, 15 min): start {results['load_start']}, "
          f"end {results['load_end']}")
    if args.out:
        write_atomic(args.out, json.dumps(results, indent=1).encode())
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
