"""Print our results beside the paper's, as markdown tables.

    python tools/results_table.py [--manifest configs/manifest.yml]
        [--work-root work_dirs] [--tables table1 table3] [--no-per-class]

Reads ``<work-root>/<config stem>/<timestamp>/<timestamp>.json`` (what
``mim test --work-dir <work-root>/<config stem>`` writes; see
tools/run_suite.py) for each config of the manifest's tables, and the
paper's numbers with their sources from the manifest. Runs without test
metrics show as "not run"; files that cannot be read are named on stderr
and the tables are printed all the same.
"""
import sys

from mmdet_ohem.workbench.cli import doc_parser
from mmdet_ohem.workbench.results import (DEFAULT_MANIFEST, load_manifest,
                                          manifest_tables)


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument(
        '--manifest',
        default=DEFAULT_MANIFEST,
        help="the tables and the paper's numbers (default: the installed "
        "package's configs/manifest.yml)")
    parser.add_argument('--work-root', default='work_dirs')
    parser.add_argument(
        '--tables', nargs='+', help='table names (default: all)')
    parser.add_argument(
        '--latest',
        action='store_true',
        help="each config's latest test, not its final checkpoint's")
    parser.add_argument(
        '--no-per-class',
        action='store_true',
        help='leave out the per-class AP tables')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    markdown, problems = manifest_tables(
        load_manifest(args.manifest),
        args.work_root,
        args.tables,
        per_class=not args.no_per_class,
        latest=args.latest)
    for problem in problems:
        print(f'results_table: skipped unreadable {problem}', file=sys.stderr)
    print(markdown)


if __name__ == '__main__':
    main()
