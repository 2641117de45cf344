"""`make demo`: Fast R-CNN with OHEM against the heuristic baseline.

Generates (once, cached) a small VOC-style dataset under ``data/ohem_demo``
with Selective Search proposals, trains the baseline (bg_lo 0.1, fg:bg 1:3)
and OHEM on a small VGG-style trunk with ``mim train mmdet`` for each seed
(both methods at the same time, each on half of the cores), tests each
final checkpoint with ``mim test mmdet``, and prints a table (mAP mean ±
std over the seeds and per seed, per-class AP, s/iter) and the paths of its
pictures: the first seed's training curves and the hard RoIs OHEM picked.

    python tools/demo.py [--seeds 0 1 2] [--iters N] [--work-dir DIR]
"""
import argparse
import glob
import os
import os.path as osp
import re
import subprocess
import sys
import time

from mmdet_ohem.workbench.curves import plot_training_curves
from mmdet_ohem.workbench.results import method_table, read_run, read_scalars
from mmdet_ohem.workbench.synthetic import make_voc_dataset

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DATA_ROOT = 'data/ohem_demo'
# Small images keep the demo within minutes on 2 CPU cores.
DATASET = dict(num_trainval=300, num_test=150, img_size=(128, 192))
METHODS = (
    ('FRCN (bg_lo 0.1, 1:3)', 'configs/demo/fast_rcnn_tinyvgg_synthvoc.py'),
    ('OHEM', 'configs/demo/fast_rcnn_tinyvgg_ohem_synthvoc.py'),
)
# Selective Search (fast) on the images as they are: they are small, and
# their objects from 10 px up, hence R-CNN's 20 px minimum box is lowered.
SS_FILE = 'proposals/selective_search_voc_2007_{split}.pkl'
SS_ARGS = ('--resize-width', '0', '--min-box-size', '4', '--max-boxes', '2000')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--iters',
        type=int,
        default=None,
        help='training iterations (default: the configs\')')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--workers',
        type=int,
        default=os.cpu_count(),
        help='Selective Search processes (default: all cores)')
    return parser.parse_args()


def run(cmd):
    """Run a command of this environment in the repo; return its output,
    or exit with its tail."""
    return wait(start(cmd))


def start(cmd, threads=None):
    """Start a command in the repo, optionally with ``threads`` threads."""
    print('$', ' '.join(cmd), flush=True)
    env = dict(os.environ)
    if threads:
        env['OMP_NUM_THREADS'] = str(threads)
    return subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)


def wait(proc):
    """Wait for a started command; return its output, or exit with its
    tail."""
    out = proc.communicate()[0]
    if proc.returncode != 0:
        print(out[-5000:])
        sys.exit(f'demo: `{" ".join(proc.args[:3])}` failed '
                 f'(exit {proc.returncode})')
    return out


def bin_path(name):
    return osp.join(osp.dirname(sys.executable), name)


def make_proposals(workers):
    """Selective Search proposals of both splits, unless already made (the
    generator removes them when it remakes the images)."""
    for split in ('trainval', 'test'):
        out = osp.join(DATA_ROOT, SS_FILE.format(split=split))
        if osp.isfile(osp.join(REPO, out)):
            continue
        run([
            sys.executable, 'tools/selective_search.py', 'voc', '--data-root',
            DATA_ROOT, '--voc-dir', 'VOC2007/', '--split', split, '--out', out,
            '--workers',
            str(workers), *SS_ARGS
        ])


def cfg_options(seed, iters):
    options = [f'randomness.seed={seed}']
    if iters:
        options += [
            f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'default_hooks.checkpoint.interval={iters}',
            f'param_scheduler.1.end={iters}',
            f'param_scheduler.1.milestones=[{int(iters * 0.75)}]'
        ]
    return ['--cfg-options'] + options


def train_and_test(work_dirs, seed, iters):
    """``mim train`` all methods at once, each on its share of the cores
    (the runs are small: one core each is faster than sharing two), then
    ``mim test`` each final checkpoint."""
    threads = max(1, (os.cpu_count() or 1) // len(METHODS))
    procs = [
        start([
            bin_path('mim'), 'train', 'mmdet', config, '--work-dir', work_dir,
            *cfg_options(seed, iters)
        ], threads) for (_, config), work_dir in zip(METHODS, work_dirs)
    ]
    logs = [wait(proc) for proc in procs]
    for (_, config), work_dir, log in zip(METHODS, work_dirs, logs):
        saved = re.findall(r'Saving checkpoint at (\d+) iterations', log)
        checkpoint = osp.join(work_dir, f'iter_{saved[-1]}.pth')
        run([
            bin_path('mim'), 'test', 'mmdet', config, '--checkpoint',
            checkpoint, '--work-dir', work_dir
        ])


def main():
    args = parse_args()
    began = time.time()
    data = make_voc_dataset(osp.join(REPO, DATA_ROOT), **DATASET)
    make_proposals(args.workers)
    print(f'data: {DATA_ROOT} ({data.num_images["trainval"]} trainval, '
          f'{data.num_images["test"]} test images, Selective Search '
          f'proposals) after {time.time() - began:.0f} s')

    runs = {label: [] for label, _ in METHODS}
    for seed in args.seeds:
        work_dirs = [
            osp.join(args.work_dir, f'seed{seed}',
                     osp.splitext(osp.basename(config))[0])
            for _, config in METHODS
        ]
        train_and_test(work_dirs, seed, args.iters)
        print(f'seed {seed} trained and tested after '
              f'{time.time() - began:.0f} s')
        for (label, _), work_dir in zip(METHODS, work_dirs):
            result = read_run(osp.join(REPO, work_dir))
            if result.metrics is None:
                sys.exit(f'demo: `mim test` wrote no metrics in {work_dir}')
            runs[label].append(result)

    first = [(label, read_scalars(results[0].scalars_file))
             for label, results in runs.items()]
    curves = plot_training_curves(
        first,
        osp.join(REPO, args.work_dir, 'curves.png'),
        title='make demo: Fast R-CNN, TinyVGG, generated VOC-style data, '
        f'seed {args.seeds[0]}')
    pictures = sorted(
        glob.glob(
            osp.join(runs['OHEM'][0].work_dir, 'hard_examples', '*.png')))

    print('\nVOC07 11-point AP (IoU 0.5) on the '
          f'{data.num_images["test"]} test images, from `mim test`, over '
          f'seeds {", ".join(map(str, args.seeds))}:\n')
    print(method_table(list(runs.items())))
    print('\npictures:')
    for path in [curves] + pictures:
        print(' ', osp.relpath(path, REPO))
    print(f'demo finished in {time.time() - began:.0f} s')


if __name__ == '__main__':
    main()
