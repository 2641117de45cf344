"""Measure the memory of a dataloader reading proposals, per file format.

Generates a COCO-style split of N images (no image files are read) with B
random proposals each, written as mmdet's pickle and as our npz; then, in
a fresh process per case, builds the dataset, iterates one epoch through a
dataloader with W workers whose pipeline is mmdet's LoadProposals, and
samples the memory of the main process and its workers every 0.2 s.
Reported: the peak over time of the sum over processes of RSS, PSS
(proportional set size: shared pages split among the processes sharing
them, so the sum counts each page once) and USS (pages private to a
process), from /proc/<pid>/smaps via psutil.

Example:
    python dev/bench_proposal_memory.py --num-images 20000 \
        --num-boxes 2000 --workers 4 --work-dir /tmp/proposal_bench
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import psutil

from mmdet_ohem.workbench.cli import doc_parser

CASES = {
    'no-proposals': ('ProposalCocoDataset', None),
    'mmdet-pkl': ('CocoDataset', 'proposals.pkl'),
    'ours-pkl': ('ProposalCocoDataset', 'proposals.pkl'),
    'ours-npz': ('ProposalCocoDataset', 'proposals.npz'),
}
_GiB = 1 << 30


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument('--num-images', type=int, default=20000)
    parser.add_argument('--num-boxes', type=int, default=2000)
    parser.add_argument('--workers', type=int, default=4)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument(
        '--work-dir',
        required=True,
        help='for the generated files (about 20 bytes per box, twice)')
    parser.add_argument(
        '--cases',
        nargs='+',
        choices=list(CASES),
        default=list(CASES),
        help='no-proposals: the same without proposals, for reference; '
        'mmdet-pkl: mmdet\'s CocoDataset and its proposal loading; '
        'ours-*: ProposalCocoDataset (default: all)')
    parser.add_argument('--child', choices=list(CASES), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def make_data(work_dir, num_images, num_boxes):
    """Write the annotation json and both proposal files, once."""
    from mmdet_ohem.proposals import save_proposals
    os.makedirs(osp.join(work_dir, 'img'), exist_ok=True)
    stamp = osp.join(work_dir, f'done_{num_images}x{num_boxes}')
    if osp.isfile(stamp):
        return
    images = [
        dict(id=i, file_name=f'{i:012d}.jpg', width=640, height=480)
        for i in range(num_images)
    ]
    with open(osp.join(work_dir, 'ann.json'), 'w') as f:
        json.dump(
            dict(
                images=images,
                annotations=[],
                categories=[dict(id=1, name='thing')]), f)

    def entries():
        rng = np.random.default_rng(0)
        for img in images:
            xy = rng.uniform(0, 400, (num_boxes, 2))
            wh = rng.uniform(8, 240, (num_boxes, 2))
            yield f'img/{img["file_name"]}', dict(
                bboxes=np.concatenate([xy, xy + wh], 1).astype(np.float32),
                scores=np.sort(rng.random(num_boxes, np.float32))[::-1])

    for name in ('proposals.npz', 'proposals.pkl'):
        save_proposals(osp.join(work_dir, name), entries())
    open(stamp, 'w').close()


def sample_memory(peaks, stop):
    """Track the peak sums of RSS, PSS and USS over this process and its
    children until ``stop`` is set."""
    me = psutil.Process()
    while not stop.is_set():
        total = dict(rss=0, pss=0, uss=0)
        for proc in [me] + me.children(recursive=True):
            try:
                info = proc.memory_full_info()
            except psutil.Error:
                continue  # a worker that just ended
            for key in total:
                total[key] += getattr(info, key)
        for key, value in total.items():
            peaks[key] = max(peaks.get(key, 0), value)
        stop.wait(0.2)


def run_case(args):
    """Build the dataset and iterate one epoch; print the peaks as json."""
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope
    from torch.utils.data import DataLoader

    import mmdet_ohem  # noqa: F401  registers ProposalCocoDataset

    # more workers than cores is the point here
    warnings.filterwarnings('ignore', 'This DataLoader will create')
    peaks, stop = {}, threading.Event()
    sampler = threading.Thread(
        target=sample_memory, args=(peaks, stop), daemon=True)
    sampler.start()
    dataset_type, proposal_file = CASES[args.child]
    start = time.perf_counter()
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(
            dict(
                type=dataset_type,
                data_root=args.work_dir,
                ann_file='ann.json',
                data_prefix=dict(img='img/'),
                metainfo=dict(classes=('thing', )),
                proposal_file=proposal_file,
                test_mode=True,
                pipeline=[
                    dict(
                        type='LoadProposals', num_max_proposals=args.num_boxes)
                ] if proposal_file else []))
    built = time.perf_counter()
    build_rss = psutil.Process().memory_info().rss
    loader = DataLoader(
        dataset,
        batch_size=args.batch_size,
        num_workers=args.workers,
        collate_fn=pseudo_collate)
    num_boxes = 0
    for batch in loader:
        num_boxes += sum(len(p) for p in batch.get('proposals', []))
    stop.set()
    sampler.join()
    if proposal_file:
        assert num_boxes == args.num_images * args.num_boxes, num_boxes
    print(
        json.dumps(
            dict(
                case=args.child,
                build_s=built - start,
                epoch_s=time.perf_counter() - built,
                build_rss=build_rss,
                **peaks)))


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        run_case(args)
        return
    make_data(args.work_dir, args.num_images, args.num_boxes)
    size = osp.getsize(osp.join(args.work_dir, 'proposals.npz'))
    print(f'{args.num_images} images x {args.num_boxes} boxes '
          f'({size / _GiB:.2f} GiB of boxes and scores), '
          f'{args.workers} workers:')
    print('| case | peak RSS sum | peak PSS sum | peak USS sum | main RSS '
          'after build | build | epoch |')
    print('|---|---|---|---|---|---|---|')
    for case in args.cases:
        cmd = [
            sys.executable, __file__, '--child', case, '--num-images',
            str(args.num_images), '--num-boxes',
            str(args.num_boxes), '--workers',
            str(args.workers), '--batch-size',
            str(args.batch_size), '--work-dir', args.work_dir
        ]
        out = subprocess.run(
            cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(f'| {case} | {result["rss"] / _GiB:.2f} GiB | '
              f'{result["pss"] / _GiB:.2f} GiB | '
              f'{result["uss"] / _GiB:.2f} GiB | '
              f'{result["build_rss"] / _GiB:.2f} GiB | '
              f'{result["build_s"]:.1f} s | {result["epoch_s"]:.1f} s |')


if __name__ == '__main__':
    main()
