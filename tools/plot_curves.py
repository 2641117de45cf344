"""Plot training curves of runs: loss, and OHEM's hard-set statistics.

    python tools/plot_curves.py WORK_DIR [WORK_DIR ...] [--labels A B]
        [--out curves.png]

Each WORK_DIR is a run's work dir (its latest ``<timestamp>/vis_data/
scalars.json`` is read) or a ``scalars.json`` file.
"""
import os.path as osp
import sys

from mmdet_ohem.workbench.cli import doc_parser
from mmdet_ohem.workbench.curves import plot_training_curves
from mmdet_ohem.workbench.results import read_run, read_scalars


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument('runs', nargs='+', metavar='WORK_DIR')
    parser.add_argument(
        '--labels', nargs='+', help='one per run (default: folder names)')
    parser.add_argument('--out', default='curves.png')
    parser.add_argument('--title')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.labels and len(args.labels) != len(args.runs):
        sys.exit('plot_curves: give one label per run')
    runs = []
    for i, run in enumerate(args.runs):
        path = run if osp.isfile(run) else read_run(run).scalars_file
        if path is None:
            sys.exit(f'plot_curves: no <timestamp>/vis_data/scalars.json '
                     f'in {run}')
        try:
            records = read_scalars(path)
        except ValueError as err:
            sys.exit(f'plot_curves: {path}: {err}')
        label = (
            args.labels[i] if args.labels else osp.basename(osp.normpath(run)))
        runs.append((label, records))
    print(plot_training_curves(runs, args.out, args.title))


if __name__ == '__main__':
    main()
