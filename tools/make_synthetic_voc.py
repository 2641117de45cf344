"""Generate a small synthetic VOC-style dataset with proposals.

Example:
    python tools/make_synthetic_voc.py --root data/synthetic_voc
"""
import argparse
import time

from mmdet_ohem.workbench.synthetic import make_voc_dataset


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--root',
        default='data/synthetic_voc',
        help='output folder (default: %(default)s)')
    parser.add_argument(
        '--num-trainval',
        type=int,
        default=300,
        help='trainval images (default: %(default)s)')
    parser.add_argument(
        '--num-test',
        type=int,
        default=150,
        help='test images (default: %(default)s)')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        default=[160, 256],
        metavar=('MIN', 'MAX'),
        help='range of image side lengths in pixels (default: 160 256)')
    parser.add_argument(
        '--max-proposals',
        type=int,
        default=300,
        help='most proposals per image (default: %(default)s)')
    parser.add_argument(
        '--seed', type=int, default=0, help='random seed (default: 0)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    info = make_voc_dataset(
        args.root,
        num_trainval=args.num_trainval,
        num_test=args.num_test,
        img_size=tuple(args.img_size),
        max_proposals=args.max_proposals,
        seed=args.seed)
    print(f'Dataset ready in {info.root} '
          f'({time.perf_counter() - start:.1f} s): {info.num_images} images, '
          f'classes {info.classes}')
    for split in info.ann_files:
        print(f'  {split}: {info.ann_files[split]}, '
              f'proposals {info.proposal_files[split]}')


if __name__ == '__main__':
    main()
