"""Make Selective Search proposals for a PASCAL VOC or COCO split.

Examples:
    python tools/selective_search.py voc --data-root data/ --year 2007 \
        --split trainval --workers 8
    python tools/selective_search.py coco --data-root data/ --year 2017 \
        --split train --workers 8

The output (default: <data-root>/proposals/selective_search_<dataset>_
<year>_<split>.npz) is what our configs' `proposal_file` names; the tool
prints it relative to --data-root, as a config's `proposal_file` is. An
interrupted run resumes where it stopped when started again. An image that
does not decode completely (a truncated JPEG) stops the run with its name.
"""
import argparse
import os
import os.path as osp

from mmdet_ohem.workbench.cli import doc_parser
from mmdet_ohem.workbench.proposals.splits import (add_split_arguments,
                                                   split_from_args)
from mmdet_ohem.workbench.proposals.ssearch import generate_selective_search


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        '--out',
        help='output .npz (ours, no pickle) or .pkl (mmdet) file (default: '
        '<data-root>/proposals/selective_search_<dataset>_<year>_<split>'
        '.npz)')
    options.add_argument(
        '--mode',
        choices=('fast', 'quality'),
        default='fast',
        help="Selective Search strategy; the papers used 'fast' "
        '(default: %(default)s)')
    options.add_argument(
        '--max-boxes',
        type=int,
        default=2000,
        help='keep at most this many boxes per image, best-ranked first; '
        '0 keeps all (default: %(default)s)')
    options.add_argument(
        '--resize-width',
        type=int,
        default=500,
        help='run on images resized to this width, as R-CNN did; 0 runs on '
        'the original size (default: %(default)s)')
    options.add_argument(
        '--min-box-size',
        type=int,
        default=20,
        help='drop boxes smaller than this (pixels of the resized image), '
        'as R-CNN did (default: %(default)s)')
    options.add_argument(
        '--workers',
        type=int,
        default=1,
        help='processes (default: %(default)s)')
    options.add_argument(
        '--chunk-size',
        type=int,
        default=32,
        help='images per resumable work file (default: %(default)s)')
    add_split_arguments(parser, options)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    split = split_from_args(args)
    out = args.out or split.default_proposal_file('selective_search')
    generate_selective_search(
        split,
        out,
        mode=args.mode,
        resize_width=args.resize_width or None,
        min_box_size=args.min_box_size,
        max_boxes=args.max_boxes or None,
        workers=args.workers,
        chunk_size=args.chunk_size)
    # A config's proposal_file is relative to its data_root; --out is not.
    relative = osp.relpath(out, split.data_root)
    print(
        f'In a config with data_root={split.data_root!r}: proposal_file='
        f'{osp.abspath(out) if relative.startswith(os.pardir) else relative!r}'
    )


if __name__ == '__main__':
    main()
