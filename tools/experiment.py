"""Methods against each other over seeds, test mAP against wall-clock.

The table, the plot and the time each method takes to reach the
baseline's final accuracy.

    python tools/experiment.py --config frcn=my_frcn.py \
        --config ohem=my_ohem.py [--data-root DIR] \
        [--work-root work_dirs/experiment] [--seeds 0 1 2]
    python tools/experiment.py --preset bccd --data-root data/bccd \
        [--methods frcn ohem ohem_bf16]

Trains every method (a config; the first is the baseline) with every seed
in <work-root>/<method>/seed<k>/ through `mim train`, seed by seed,
resuming an interrupted run and skipping a finished one, and evaluates the
config's test split at --evals points of each run with the training
wall-clock spent so far (EvalCurveHook). Then writes to <work-root>, over
every finished run there (earlier calls' too): results.md (final mAP mean
± std and per seed, per-class AP, s/iter, and when each method's mean curve
reaches the baseline's final mean mAP), results.json and curves.png.
--preset bccd makes BCCD's Selective Search proposals and the ImageNet
MobileNetV2 once under the work root and runs configs/bccd/. --quick: 20
iterations, 2 evaluations (and seed 0 unless --seeds): a smoke run of the
whole path.
"""
import sys

from mmdet_ohem.workbench.cli import doc_parser
from mmdet_ohem.workbench.experiment import Experiment, presets


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument(
        '--config',
        action='append',
        default=[],
        metavar='NAME=CONFIG',
        help='a method and its config; give it once per method')
    parser.add_argument('--preset', choices=('bccd', ), help='BCCD')
    parser.add_argument(
        '--methods', nargs='+', help="the preset's methods to run")
    parser.add_argument('--data-root', help="every dataset's data_root")
    parser.add_argument('--work-root', default='work_dirs/experiment')
    parser.add_argument(
        '--seeds', type=int, nargs='+', help='default: 0 1 2 (--quick: 0)')
    parser.add_argument(
        '--evals', type=int, default=10, help='evaluations per run')
    parser.add_argument(
        '--max-iters', type=int, help="override the configs' schedule length")
    parser.add_argument('--quick', action='store_true')
    parser.add_argument(
        '--workers', type=int, default=2, help='Selective Search processes')
    args = parser.parse_args(argv)
    if bool(args.config) == bool(args.preset):
        parser.error('give --config NAME=CONFIG (twice or more) or --preset')
    if args.preset == 'bccd' and not args.data_root:
        parser.error('--preset bccd needs --data-root (the folder of BCCD/)')
    if any('=' not in c for c in args.config):
        parser.error('--config takes NAME=CONFIG')
    if args.quick:
        args.max_iters, args.evals = 20, 2
    if args.seeds is None:
        args.seeds = [0] if args.quick else [0, 1, 2]
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.preset:
        settings = presets.bccd(args.data_root, args.work_root, args.workers)
        if args.methods:
            settings['methods'] = {
                m: settings['methods'][m]
                for m in args.methods
            }
    else:
        settings = dict(
            methods=dict(c.split('=', 1) for c in args.config),
            data_root=args.data_root)
    experiment = Experiment(
        work_root=args.work_root,
        seeds=args.seeds,
        evals=args.evals,
        max_iters=args.max_iters,
        **settings)
    experiment.train()
    markdown, _ = experiment.report(dict(argv=argv or sys.argv[1:]))
    print(markdown)
    print(f'Wrote {args.work_root}/results.md, results.json, curves.png')


if __name__ == '__main__':
    main()
