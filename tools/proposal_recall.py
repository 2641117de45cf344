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

import numpy as np
from mmdet.registry import DATASETS
from mmengine.registry import DefaultScope
from mmengine.utils import ProgressBar

import mmdet_ohem  # noqa: F401  registers our datasets
from mmdet_ohem.datasets.scan import split_labels
from mmdet_ohem.proposals.recall import (RECALL_IOUS, TABLE_NUMS, plot_recall,
                                         proposal_recall, recall_table)
from mmdet_ohem.proposals.splits import add_split_arguments, split_from_args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
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


def read_split(split, proposal_file, classes, missing_proposals):
    """Return per-image ground truth boxes and labels, and proposals, of a
    split."""
    kwargs = dict(
        proposal_file=osp.abspath(proposal_file),
        missing_proposals=missing_proposals,
        metainfo=dict(classes=tuple(classes)),
        test_mode=True,
        pipeline=[])
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(split.dataset_cfg(**kwargs))
    gt_boxes, gt_labels, proposals = [], [], []
    progress = ProgressBar(len(dataset))
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        kept = [i for i in info['instances'] if not i['ignore_flag']]
        gt_boxes.append(
            np.array([i['bbox'] for i in kept], np.float32).reshape(-1, 4))
        gt_labels.append(np.array([i['bbox_label'] for i in kept], int))
        proposals.append(info['proposals']['bboxes'])
        progress.update()
    progress.file.write('\n')
    return gt_boxes, gt_labels, proposals


def class_recall_table(gt_boxes, gt_labels, proposals, classes, num):
    """Markdown: each class's objects and recall of the top ``num``."""
    rows = [
        f'| class | objects | R@0.5 | R@0.7 | AR (top {num}) |',
        '|---|---|---|---|---|'
    ]
    for label, name in enumerate(classes):
        boxes = [b[lab == label] for b, lab in zip(gt_boxes, gt_labels)]
        count = sum(map(len, boxes))
        if not count:
            rows.append(f'| {name} | 0 | | | |')
            continue
        recall = proposal_recall(boxes, proposals, [num])[0]
        ious = np.round(RECALL_IOUS, 2).tolist()
        rows.append(f'| {name} | {count} | {recall[ious.index(0.5)]:.3f} | '
                    f'{recall[ious.index(0.7)]:.3f} | {recall.mean():.3f} |')
    return '\n'.join(rows)


def main(argv=None):
    args = parse_args(argv)
    split = split_from_args(args)
    classes = (
        args.classes.split(',') if args.classes else split_labels(split))
    curves = {}
    for proposal_file in args.proposal_files:
        gt_boxes, gt_labels, proposals = read_split(split, proposal_file,
                                                    classes,
                                                    args.missing_proposals)
        if not sum(map(len, gt_boxes)):
            print(
                f'proposal_recall: {split.name} has no object of classes '
                f'{tuple(classes)} to find (difficult and crowd ones do not '
                'count); check --classes.',
                file=sys.stderr)
            return 1
        table = proposal_recall(gt_boxes, proposals, args.nums)
        print(f'{proposal_file} on {split.name}: {len(gt_boxes)} images, '
              f'{sum(map(len, gt_boxes))} objects, '
              f'{np.mean([len(p) for p in proposals]):.0f} proposals per '
              'image')
        print(recall_table(table, args.nums))
        print(
            class_recall_table(gt_boxes, gt_labels, proposals, classes,
                               max(args.nums)))
        most = max(max(len(p) for p in proposals), 1)
        nums = np.unique(
            np.round(np.logspace(0, np.log10(most), 60)).astype(int))
        curves[osp.basename(proposal_file)] = (nums,
                                               proposal_recall(
                                                   gt_boxes, proposals, nums,
                                                   RECALL_IOUS))
    plot_recall(args.plot, curves, title=split.name)
    print(f'Plot: {args.plot}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
