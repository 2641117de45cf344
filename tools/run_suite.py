"""Train and test the configs of a manifest's tables, resumably.

    python tools/run_suite.py [--manifest configs/manifest.yml]
        [--tables table1 table3] [--work-root work_dirs]
        [--launcher none|pytorch|slurm] [--gpus N] [--gpus-per-node N]
        [--partition P] [--dry-run] [--keep-going]

Each config goes to ``<work-root>/<config stem>/`` (mmengine's default
name), one after the other: ``mim train mmdet ... --resume`` (which
continues from the work dir's latest checkpoint) unless its final
checkpoint exists, then ``mim test mmdet --checkpoint <final>``. Configs
already tested are skipped, so running the suite again resumes it. With
``--launcher pytorch`` or ``slurm`` mim starts the distributed jobs (and
waits for them). Then print the tables with tools/results_table.py.
"""
import os.path as osp
import sys

from mmdet_ohem.workbench.cli import doc_parser
from mmdet_ohem.workbench.experiment import plan_suite, run_suite
from mmdet_ohem.workbench.results import DEFAULT_MANIFEST, load_manifest


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument(
        '--manifest',
        default=DEFAULT_MANIFEST,
        help="the tables to run (default: the installed package's "
        'configs/manifest.yml)')
    parser.add_argument(
        '--tables', nargs='+', help='table names (default: all)')
    parser.add_argument('--work-root', default='work_dirs')
    parser.add_argument(
        '--launcher', choices=('none', 'pytorch', 'slurm'), default='none')
    parser.add_argument('--gpus', type=int)
    parser.add_argument('--gpus-per-node', type=int)
    parser.add_argument('--partition', help='slurm partition')
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='print the state of each run and its commands; run nothing')
    parser.add_argument(
        '--keep-going',
        action='store_true',
        help='go on with the next config when one fails')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    manifest = load_manifest(args.manifest)
    runs = plan_suite(manifest, osp.dirname(args.manifest), args.work_root,
                      args.tables)
    failed = run_suite(
        runs,
        args.dry_run,
        args.keep_going,
        launcher=args.launcher,
        gpus=args.gpus,
        gpus_per_node=args.gpus_per_node,
        partition=args.partition)
    if failed:
        sys.exit(f'run_suite: failed: {", ".join(failed)}')


if __name__ == '__main__':
    main()
