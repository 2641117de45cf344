"""Convert Fast R-CNN's legacy Selective Search .mat files.

Fast R-CNN shipped its proposals as `selective_search_data/<dataset>.mat`
(one cell of 1-based (y1, x1, y2, x2) boxes per image, in the split's
order). This writes them in our format, keyed as mmdet's datasets look
them up.

Example:
    python tools/convert_ss_mat.py \
        selective_search_data/voc_2007_trainval.mat \
        voc --data-root data/ --year 2007 --split trainval
"""
import argparse

from mmengine.logging import print_log

from mmdet_ohem.proposals import save_proposals
from mmdet_ohem.workbench.cli import doc_parser
from mmdet_ohem.workbench.proposals.legacy import convert_ss_mat
from mmdet_ohem.workbench.proposals.splits import (add_split_arguments,
                                                   split_from_args)


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument('mat_file', help='the legacy .mat file')
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        '--out',
        help='output .npz (ours, no pickle) or .pkl (mmdet) file (default: '
        '<data-root>/proposals/selective_search_<dataset>_<year>_<split>'
        '.npz)')
    add_split_arguments(parser, options)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    split = split_from_args(args)
    proposals = convert_ss_mat(args.mat_file, split.keys,
                               split.pixel_inclusive)
    out_file = args.out or split.default_proposal_file('selective_search')
    save_proposals(out_file, proposals)
    num_boxes = sum(len(p['bboxes']) for p in proposals.values())
    print_log(
        f'Wrote {out_file}: {len(proposals)} images, '
        f'{num_boxes / max(len(proposals), 1):.0f} boxes per image.',
        logger='current')


if __name__ == '__main__':
    main()
