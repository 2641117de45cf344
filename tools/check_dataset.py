"""Check a dataset before training: every image, box, label and proposal.

Examples:
    python tools/check_dataset.py config my_project/cells_ohem.py
    python tools/check_dataset.py voc --data-root data/cells/ --voc-dir '' \
        --split trainval --classes RBC WBC Platelets \
        --proposals proposals/ss_trainval.npz

`config` checks every split of a config's dataloaders as training and
testing will build them. `voc` and `coco` check one split of a folder
(the same flags as tools/selective_search.py). Each image is decoded
completely (a truncated JPEG is an error), its size compared with the
annotation's; labels outside the classes, boxes outside their image and
images without proposals are counted and named. One table; the exit status
is 1 if any check is an error.
"""
import argparse
import sys

from mmengine.config import Config, DictAction

from mmdet_ohem.workbench.cli import doc_parser
from mmdet_ohem.workbench.proposals.splits import (add_split_arguments,
                                                   split_from_args)
from mmdet_ohem.workbench.scan import (dataset_cfgs, format_report,
                                       scan_dataset, split_labels)


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        '--no-decode',
        action='store_true',
        help='skip decoding the images (fast; annotations only)')
    folder = argparse.ArgumentParser(add_help=False, parents=[options])
    folder.add_argument(
        '--classes',
        nargs='+',
        help='the classes to train on (default: every label found)')
    folder.add_argument(
        '--proposals', help='proposal file, relative to --data-root')
    kinds = add_split_arguments(parser, folder)
    kinds.metavar = '{voc,coco,config}'
    config = kinds.add_parser(
        'config',
        help="the splits of a config's dataloaders",
        parents=[options])
    config.add_argument('config')
    config.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.dataset == 'config':
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        splits = list(dataset_cfgs(cfg))
    else:
        split = split_from_args(args)
        classes = args.classes or split_labels(split)
        splits = [(split.split,
                   split.dataset_cfg(
                       metainfo=dict(classes=tuple(classes)),
                       proposal_file=args.proposals))]
    reports = [
        scan_dataset(cfg, name, decode=not args.no_decode)
        for name, cfg in splits
    ]
    print(format_report(reports))
    bad = [r.name for r in reports if not r.ok]
    print(f'\nErrors in: {", ".join(bad)}' if bad else '\nNo errors.')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
