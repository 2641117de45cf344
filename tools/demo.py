"""`make demo`: Fast R-CNN with OHEM against the heuristic baseline.

    python tools/demo.py [--seeds 0 1 2] [--iters N] [--work-dir DIR]

Generates (once, cached) a small VOC-style dataset under data/ohem_demo/
with Selective Search proposals, then trains the baseline (bg_lo 0.1,
fg:bg 1:3) and OHEM on a small VGG-style trunk with `mim train mmdet`, for
each seed both at once on half of the cores each, testing each run on the
test split at 4 points. Prints the table (mAP mean ± std and per seed,
per-class AP, s/iter) and the paths of the pictures: test mAP against
training wall-clock, the first seed's training curves and the hard RoIs
OHEM picked.
"""
import argparse
import glob
import os
import os.path as osp
import time

from mmdet_ohem.workbench.curves import plot_training_curves
from mmdet_ohem.workbench.experiment import Experiment, presets
from mmdet_ohem.workbench.results import read_run, read_scalars

DATA_ROOT = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'data', 'ohem_demo')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--iters',
        type=int,
        help="training iterations (default: the configs')")
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--workers',
        type=int,
        default=os.cpu_count(),
        help='Selective Search processes (default: all cores)')
    return parser.parse_args()


def main():
    args = parse_args()
    began = time.time()
    experiment = Experiment(
        work_root=args.work_dir,
        seeds=args.seeds,
        evals=4,
        max_iters=args.iters,
        parallel=True,
        **presets.demo(DATA_ROOT, args.workers))
    print(f'data: {DATA_ROOT} after {time.time() - began:.0f} s')
    experiment.train()
    markdown, _ = experiment.report()
    first = {
        m: experiment.work_dir(m, args.seeds[0])
        for m in experiment.methods
    }
    curves = plot_training_curves(
        [(m, read_scalars(read_run(d).scalars_file))
         for m, d in first.items()],
        osp.join(args.work_dir, 'training_curves.png'),
        title='make demo: Fast R-CNN, TinyVGG, generated VOC-style data, '
        f'seed {args.seeds[0]}')
    print('\nVOC07 11-point AP (IoU 0.5) on the 150 test images, at the end '
          f'of each run:\n\n{markdown}\n\npictures:')
    for path in [osp.join(args.work_dir, 'curves.png'), curves] + sorted(
            glob.glob(osp.join(first['ohem'], 'hard_examples', '*.png'))):
        print(' ', path)
    print(f'demo finished in {time.time() - began:.0f} s')


if __name__ == '__main__':
    main()
