"""Draw the RoIs a checkpoint's OHEM would pick on some dataset images.

    python tools/show_hard_examples.py CONFIG CHECKPOINT
        [--split train|test] [--images 0 5 7 | --ids 000123 ...]
        [--out hard_examples.png]

All candidate RoIs are drawn faint, the hard ones coloured by their loss,
foreground solid and background dashed, ground truth dotted. The images
come from the config's train or test dataset through the training pipeline
without its random flips (the ground truth resized with the image, as
mining needs it); the model runs in eval mode.
"""
import os.path as osp
import sys

import torch
from mmdet.registry import DATASETS, MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from mmdet_ohem.workbench.cli import doc_parser
from mmdet_ohem.workbench.hard_examples import show_dataset_hard_examples


def parse_args(argv=None):
    parser = doc_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--split', choices=('train', 'test'), default='test')
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        '--images',
        type=int,
        nargs='+',
        default=[0, 1],
        help='dataset indices (default: 0 1)')
    which.add_argument('--ids', nargs='+', help='image ids, e.g. 000123')
    parser.add_argument('--out', default='hard_examples.png')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def _without_flips(pipeline):
    steps = []
    for step in pipeline:
        if step['type'] == 'RandomFlip':
            continue
        if 'transforms' in step:  # ProposalBroadcaster
            step = dict(step, transforms=_without_flips(step['transforms']))
        steps.append(step)
    return steps


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    cfg = Config.fromfile(args.config)
    dataset_cfg = cfg[f'{args.split}_dataloader'].dataset
    train_dataset = cfg.train_dataloader.dataset
    while 'datasets' in train_dataset:  # ConcatDataset
        train_dataset = train_dataset.datasets[0]
    # No random flip: draw the images as they are. The training pipeline,
    # not the test one: that one leaves the ground truth in the original
    # frame, for the metric.
    dataset_cfg.update(
        pipeline=_without_flips(train_dataset.pipeline), test_mode=False)
    dataset = DATASETS.build(dataset_cfg)
    indices = args.images
    if args.ids:
        ids = [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))]
        missing = sorted(set(args.ids) - set(ids))
        if missing:
            sys.exit(f'show_hard_examples: no images {missing} in the '
                     f'{args.split} split')
        indices = [ids.index(i) for i in args.ids]
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    out = show_dataset_hard_examples(model, dataset, indices, args.out)
    print(osp.abspath(out))


if __name__ == '__main__':
    main()
