"""`make demo`: train and test Fast R-CNN with OHEM on generated data.

Generates (once, cached) a small VOC-style dataset under ``data/ohem_demo``,
trains the demo config with ``mim train mmdet``, tests the checkpoint it
wrote with ``mim test mmdet --checkpoint`` and prints the mAP.

    python tools/demo.py [--iters N] [--work-dir work_dirs/demo]
"""
import argparse
import os.path as osp
import re
import subprocess
import sys
import time

from mmdet_ohem.datasets import make_voc_dataset

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/demo/fast_rcnn_tiny_ohem_synthvoc.py'
DATA_ROOT = 'data/ohem_demo'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--iters',
        type=int,
        default=None,
        help='training iterations (default: the config\'s)')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    return parser.parse_args()


def mim(*args):
    """Run ``mim`` of this environment; return its output, echo its tail."""
    cmd = [osp.join(osp.dirname(sys.executable), 'mim'), *args]
    print('$', ' '.join(cmd), flush=True)
    proc = subprocess.run(
        cmd,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    if proc.returncode != 0:
        print(proc.stdout[-5000:])
        sys.exit(f'demo: `{" ".join(cmd[:3])}` failed '
                 f'(exit {proc.returncode})')
    return proc.stdout


def main():
    args = parse_args()
    start = time.time()
    data = make_voc_dataset(osp.join(REPO, DATA_ROOT))
    print(f'data: {DATA_ROOT} ({data.num_images["trainval"]} trainval, '
          f'{data.num_images["test"]} test images)')

    cfg_options = []
    if args.iters:
        cfg_options = [
            '--cfg-options', f'train_cfg.max_iters={args.iters}',
            f'train_cfg.val_interval={args.iters}',
            f'default_hooks.checkpoint.interval={args.iters}',
            f'param_scheduler.1.end={args.iters}',
            f'param_scheduler.1.milestones=[{int(args.iters * 0.75)}]'
        ]
    train_log = mim('train', 'mmdet', CONFIG, '--work-dir', args.work_dir,
                    *cfg_options)
    iters = re.findall(r'Saving checkpoint at (\d+) iterations', train_log)
    checkpoint = osp.join(args.work_dir, f'iter_{iters[-1]}.pth')
    test_log = mim('test', 'mmdet', CONFIG, '--checkpoint', checkpoint,
                   '--work-dir', args.work_dir)
    speed = re.findall(r'Iter\(train\).* time: ([\d.]+)', train_log)
    maps = re.findall(r'pascal_voc/mAP: ([\d.]+)', test_log)
    if not maps:
        sys.exit('demo: `mim test` printed no pascal_voc/mAP line')
    print(f'checkpoint: {checkpoint}')
    print(f'train: {iters[-1]} iterations, {speed[-1]} s/iter')
    print(f'pascal_voc/mAP: {maps[-1]}  (VOC07 11-point, test split, '
          'from `mim test`)')
    print(f'demo finished in {time.time() - start:.0f} s')


if __name__ == '__main__':
    main()
