"""Fast R-CNN against OHEM over seeds: test mAP against training wall-clock.

    python tools/experiment.py --data-root ../path/to/bccd \
        --work-root work_dirs/bccd_experiment [--seeds 0 1 2] \
        [--methods frcn ohem ohem_bf16] [--evals 10]

Makes (once) the Selective Search proposals of both splits under
<work-root>/proposals/, then trains every method with every seed in
<work-root>/<method>/seed<k>/ through `mim train` (resuming an interrupted
run, skipping a finished one), evaluating the test split at --evals points
of each run with the training wall-clock spent so far, seed by seed. Then
prints and writes to <work-root>, over every finished run there (earlier
calls' too): results.md (final mAP mean ± std per method,
per-class AP, s/iter, and the wall-clock at which each OHEM variant's mean
curve reaches Fast R-CNN's final mean mAP), results.json and curves.png
(mAP against wall-clock and against iterations). --quick: one seed, 20
iterations, 2 evaluations: a smoke run of the whole path.
"""
import argparse
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

from mmengine.config import Config

import mmdet_ohem
from mmdet_ohem.fileio import write_atomic
from mmdet_ohem.proposals.splits import voc_split
from mmdet_ohem.workbench.experiment import (experiment_config, plot_curves,
                                             read_curve, summarize)

CONFIG_ROOT = osp.join(osp.dirname(mmdet_ohem.__file__), '.mim', 'configs')

METHODS = {
    'frcn': 'bccd/fast_rcnn_mobilenetv2_bccd.py',
    'ohem': 'bccd/fast_rcnn_mobilenetv2_ohem_bccd.py',
    'ohem_bf16': 'bccd/fast_rcnn_mobilenetv2_ohem_bf16_bccd.py',
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument(
        '--data-root',
        required=True,
        help='the folder holding BCCD/ (a clone of Shenggan/BCCD_Dataset)')
    parser.add_argument('--work-root', default='work_dirs/bccd_experiment')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--methods', nargs='+', choices=list(METHODS), default=list(METHODS))
    parser.add_argument(
        '--evals', type=int, default=10, help='evaluations per run')
    parser.add_argument(
        '--max-iters', type=int, help="override the configs' schedule length")
    parser.add_argument('--quick', action='store_true')
    parser.add_argument(
        '--workers', type=int, default=2, help='Selective Search processes')
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.max_iters, args.evals = args.seeds[:1], 20, 2
    return args


def make_proposals(data_root, work_root, workers):
    """Selective Search of both splits, made once."""
    from mmdet_ohem.proposals.ssearch import generate_selective_search
    files = {}
    for split in ('trainval', 'test'):
        files[split] = osp.join(work_root, 'proposals', f'ss_{split}.npz')
        if not osp.isfile(files[split]):
            generate_selective_search(
                voc_split(data_root, split=split, voc_dir='BCCD/'),
                files[split],
                min_box_size=10,
                workers=workers)
    return files


def make_weights(work_root):
    """The converted ImageNet MobileNetV2, made once."""
    from mmdet_ohem.engine.checkpoint import save_checkpoint_safely
    from mmdet_ohem.models.convert import (convert_state_dict,
                                           load_source_weights,
                                           packaged_source)
    path = osp.join(work_root, 'mobilenet_v2_fast_rcnn_init.pth')
    if not osp.isfile(path):
        converted, _ = convert_state_dict(
            load_source_weights(packaged_source('mobilenet_v2')),
            'mobilenet_v2')
        save_checkpoint_safely(dict(state_dict=converted), path)
    return osp.abspath(path)


def train(method, seed, args, weights, proposals, mim):
    work_dir = osp.join(args.work_root, method, f'seed{seed}')
    cfg = experiment_config(
        osp.join(CONFIG_ROOT, METHODS[method]), work_dir, seed, args.data_root,
        proposals, args.evals, args.max_iters)
    cfg.model.init_cfg.checkpoint = weights
    max_iters = cfg.train_cfg.max_iters
    if read_curve(work_dir, method, seed, max_iters).done:
        return
    config = osp.join(work_dir, 'experiment_config.py')
    write_atomic(config, cfg.pretty_text)
    cmd = [mim, 'train', 'mmdet', config, '--work-dir', work_dir, '--resume']
    print(f'[{method} seed {seed}] $ {" ".join(cmd)}', flush=True)
    subprocess.run(cmd, check=True)
    if not read_curve(work_dir, method, seed, max_iters).done:
        sys.exit(f'{work_dir}: training ended before iteration {max_iters}')


def finished_runs(args):
    """Every finished run under --work-root, of every method and seed: the
    report covers runs of earlier calls too (say, a third method trained
    with fewer seeds)."""
    curves = {}
    for method in METHODS:
        method_dir = osp.join(args.work_root, method)
        seeds = sorted(
            int(name[len('seed'):]) for name in (
                os.listdir(method_dir) if osp.isdir(method_dir) else [])
            if re.fullmatch(r'seed\d+', name))
        max_iters = args.max_iters or Config.fromfile(
            osp.join(CONFIG_ROOT, METHODS[method])).train_cfg.max_iters
        for seed in seeds:
            curve = read_curve(
                osp.join(method_dir, f'seed{seed}'), method, seed, max_iters)
            if curve.done:
                curves.setdefault(method, []).append(curve)
    return curves


def main(argv=None):
    args = parse_args(argv)
    proposals = make_proposals(args.data_root, args.work_root, args.workers)
    weights = make_weights(args.work_root)
    mim = shutil.which('mim') or osp.join(osp.dirname(sys.executable), 'mim')
    # Seed-major: an interrupted experiment leaves every method with about
    # as many seeds, and a slow spell on the machine falls on all of them.
    for seed in args.seeds:
        for method in args.methods:
            train(method, seed, args, weights, proposals, mim)
    curves = finished_runs(args)
    markdown, summary = summarize(curves)
    print(markdown)
    write_atomic(osp.join(args.work_root, 'results.md'), markdown + '\n')
    write_atomic(
        osp.join(args.work_root, 'results.json'),
        json.dumps(
            dict(
                summary=summary,
                data_root=args.data_root,
                argv=argv or sys.argv[1:]),
            indent=1) + '\n')
    plot_curves(curves, osp.join(args.work_root, 'curves.png'))
    print(f'Wrote {args.work_root}/results.md, results.json, curves.png')
    return 0


if __name__ == '__main__':
    sys.exit(main())
