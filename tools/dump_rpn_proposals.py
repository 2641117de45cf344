"""Dump the proposals of a trained RPN for a PASCAL VOC or COCO split.

Runs mmdet's test loop on the split with the model's RPN (a two-stage
detector such as Faster R-CNN works too: its RoI head is left out) and
writes the proposals (best first) in our format.

Example:
    python tools/dump_rpn_proposals.py \
        mmdet::rpn/rpn_r50_fpn_1x_coco.py rpn_r50_fpn_1x_coco.pth \
        coco --data-root data/ --year 2017 --split train --max-per-img 2000
"""
import argparse
import tempfile

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

import mmdet_ohem  # noqa: F401  safe checkpoint loading, our registries
from mmdet_ohem.proposals import save_proposals
from mmdet_ohem.workbench.cli import doc_parser
from mmdet_ohem.workbench.proposals.rpn import read_rpn_dump, rpn_dump_config
from mmdet_ohem.workbench.proposals.splits import (add_split_arguments,
                                                   split_from_args)


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument('config', help='RPN or two-stage detector config')
    parser.add_argument('checkpoint', help='its trained weights')
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        '--out',
        help='output .npz (ours, no pickle) or .pkl (mmdet) file (default: '
        '<data-root>/proposals/rpn_<dataset>_<year>_<split>.npz)')
    options.add_argument(
        '--max-per-img',
        type=int,
        default=2000,
        help='proposals per image (default: %(default)s)')
    options.add_argument(
        '--work-dir', help='for the run\'s logs (default: a temporary folder)')
    add_split_arguments(parser, options)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    split = split_from_args(args)
    out_file = args.out or split.default_proposal_file('rpn')
    with tempfile.TemporaryDirectory() as tmp_dir:
        work_dir = args.work_dir or tmp_dir
        cfg = rpn_dump_config(
            Config.fromfile(args.config), split, args.checkpoint, work_dir,
            args.max_per_img)
        Runner.from_cfg(cfg).test()
        proposals = read_rpn_dump(work_dir, split.keys)
    save_proposals(out_file, proposals)
    print_log(f'Wrote {out_file}: {len(proposals)} images.', logger='current')


if __name__ == '__main__':
    main()
