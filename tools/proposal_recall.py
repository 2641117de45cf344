"""Recall of a proposal file on a PASCAL VOC or COCO split.

Prints recall at IoU 0.5 and 0.7 and average recall (IoU 0.5:0.95) of the
top 100 / 300 / 1000 / 2000 proposals per image, and plots them against the
number of proposals. Ground truth is every non-difficult (VOC) or
non-crowd (COCO) object; proposals are read as training reads them
(clipped, degenerate ones dropped).

Example:
    python tools/proposal_recall.py \
        data/proposals/selective_search_voc_2007_test.npz \
        voc --data-root data/ --year 2007 --split test --plot recall.png
"""
import argparse
import os.path as osp

import numpy as np
from mmdet.registry import DATASETS
from mmengine.registry import DefaultScope
from mmengine.utils import ProgressBar

import mmdet_ohem  # noqa: F401  registers our datasets
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
        help='comma-separated class names of a VOC-style dataset (default: '
        "the dataset's own)")
    options.add_argument(
        '--missing-proposals',
        choices=('error', 'skip'),
        default='error',
        help='images without proposals (default: %(default)s)')
    add_split_arguments(parser, options)
    return parser.parse_args(argv)


def read_split(split, proposal_file, classes, missing_proposals):
    """Return per-image ground truth and proposals of a split."""
    kwargs = dict(
        proposal_file=osp.abspath(proposal_file),
        missing_proposals=missing_proposals,
        test_mode=True,
        pipeline=[])
    if classes:
        kwargs['metainfo'] = dict(classes=tuple(classes.split(',')))
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(split.dataset_cfg(**kwargs))
    gt_boxes, proposals = [], []
    progress = ProgressBar(len(dataset))
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        gt_boxes.append(
            np.array([
                inst['bbox']
                for inst in info['instances'] if not inst['ignore_flag']
            ], np.float32).reshape(-1, 4))
        proposals.append(info['proposals']['bboxes'])
        progress.update()
    progress.file.write('\n')
    return gt_boxes, proposals


def main(argv=None):
    args = parse_args(argv)
    split = split_from_args(args)
    curves = {}
    for proposal_file in args.proposal_files:
        gt_boxes, proposals = read_split(split, proposal_file, args.classes,
                                         args.missing_proposals)
        table = proposal_recall(gt_boxes, proposals, args.nums)
        print(f'{proposal_file} on {split.name}: {len(gt_boxes)} images, '
              f'{sum(map(len, gt_boxes))} objects, '
              f'{np.mean([len(p) for p in proposals]):.0f} proposals per '
              'image')
        print(recall_table(table, args.nums))
        most = max(max(len(p) for p in proposals), 1)
        nums = np.unique(
            np.round(np.logspace(0, np.log10(most), 60)).astype(int))
        curves[osp.basename(proposal_file)] = (nums,
                                               proposal_recall(
                                                   gt_boxes, proposals, nums,
                                                   RECALL_IOUS))
    plot_recall(args.plot, curves, title=split.name)
    print(f'Plot: {args.plot}')


if __name__ == '__main__':
    main()
