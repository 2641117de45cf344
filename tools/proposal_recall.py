"""Recall of a proposal file on a PASCAL VOC or COCO split.

Prints recall at IoU 0.5 and 0.7 and average recall (IoU 0.5:0.95) of the
top 100 / 300 / 1000 / 2000 proposals per image, then per class at the
largest of those numbers, and plots them against the number of proposals.
Ground truth is every non-difficult (VOC) or non-crowd (COCO) object of the
classes (default: every label of the split); proposals are read as training
reads them (clipped, degenerate ones dropped).

Examples:
    python tools/proposal_recall.py \
        data/proposals/selective_search_voc_2007_test.npz \
        voc --data-root data/ --year 2007 --split test --plot recall.png
    python tools/proposal_recall.py data/cells/proposals/ss_test.npz \
        voc --data-root data/cells --voc-dir '' --split test
"""
import argparse
import os.path as osp
import sys

from mmdet_ohem.workbench.cli import doc_parser
from mmdet_ohem.workbench.proposals.recall import (TABLE_NUMS, file_recall,
                                                   plot_recall)
from mmdet_ohem.workbench.proposals.splits import (add_split_arguments,
                                                   split_from_args)
from mmdet_ohem.workbench.scan import split_labels


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument(
        'proposal_files', nargs='+', help='one or more proposal files')
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        '--plot',
        default='proposal_recall.png',
        help='PNG of recall against #proposals (default: %(default)s)')
    options.add_argument(
        '--nums',
        type=int,
        nargs='+',
        default=list(TABLE_NUMS),
        help='numbers of proposals in the table (default: 100 300 1000 '
        '2000)')
    options.add_argument(
        '--classes',
        help='comma-separated class names (default: every label of the '
        "split's annotations; a COCO file's categories)")
    options.add_argument(
        '--missing-proposals',
        choices=('error', 'skip'),
        default='error',
        help='images without proposals (default: %(default)s)')
    add_split_arguments(parser, options)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    split = split_from_args(args)
    classes = (
        args.classes.split(',') if args.classes else split_labels(split))
    curves = {}
    for proposal_file in args.proposal_files:
        result = file_recall(split, proposal_file, classes, args.nums,
                             args.missing_proposals)
        if result is None:
            print(
                f'proposal_recall: {split.name} has no object of classes '
                f'{tuple(classes)} to find (difficult and crowd ones do not '
                'count); check --classes.',
                file=sys.stderr)
            return 1
        report, curves[osp.basename(proposal_file)] = result
        print(report)
    plot_recall(args.plot, curves, title=split.name)
    print(f'Plot: {args.plot}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
