"""Proposals of a trained RPN, through mmdet's own test loop."""
import copy
import os.path as osp
from typing import Dict, Sequence

from mmengine.config import Config, ConfigDict

from ...errors import DataFileError
from ...proposals import load_proposals
from .splits import Split

# Transforms that need proposals in the data, which an RPN makes itself.
DUMP_FILE = 'rpn_proposals.pkl'


def rpn_dump_config(cfg: Config,
                    split: Split,
                    checkpoint: str,
                    work_dir: str,
                    max_per_img: int = 2000) -> Config:
    """Turn a detector config into one whose ``mim test`` / ``Runner.test``
    dumps the RPN's proposals of ``split``.

    The model becomes mmdet's ``RPN`` (a two-stage detector such as Faster
    R-CNN loses its RoI head; mmdet maps the checkpoint's ``rpn_head``
    onto it), keeping ``max_per_img`` proposals per image after its NMS.
    The test data become ``split`` with the config's test pipeline, and
    mmdet's ``DumpProposals`` metric writes them to
    ``<work_dir>/rpn_proposals.pkl``.

    Args:
        cfg (Config): An RPN or two-stage detector config.
        split (Split): The images.
        checkpoint (str): The trained weights.
        work_dir (str): Where the runner writes logs and the dump.
        max_per_img (int): Proposals per image. Defaults to 2000.

    Returns:
        Config: A new config for ``Runner.from_cfg(...).test()``.
    """
    cfg = copy.deepcopy(cfg)
    model = cfg.model
    if model.get('rpn_head') is None:
        raise ValueError(
            f'{cfg.filename}: model {model.type} has no rpn_head; expected '
            'an RPN or a two-stage detector.')
    if model.type != 'RPN':
        model = ConfigDict(
            type='RPN',
            data_preprocessor=model.get('data_preprocessor'),
            backbone=model.backbone,
            neck=model.get('neck'),
            rpn_head=model.rpn_head,
            train_cfg=model.get('train_cfg'),
            test_cfg=model.test_cfg)
    model.test_cfg.rpn.max_per_img = max_per_img
    cfg.model = model

    test_dataset = cfg.test_dataloader.dataset
    while 'dataset' in test_dataset:  # wrappers such as ConcatDataset
        test_dataset = test_dataset.dataset
    pipeline = []
    for step in test_dataset.get('pipeline', cfg.get('test_pipeline', [])):
        if step['type'] == 'ProposalBroadcaster':
            # its transforms (the Resize) apply to the image alone here
            pipeline += step['transforms']
        elif step['type'] != 'LoadProposals':
            pipeline.append(step)
    dataset = split.dataset_cfg(test_mode=True, pipeline=pipeline)
    # mmdet's own classes: no proposal file to read.
    dataset['type'] = 'VOCDataset' if split.dataset == 'voc' else 'CocoDataset'
    cfg.test_dataloader.dataset = dataset
    cfg.test_dataloader.sampler = dict(type='DefaultSampler', shuffle=False)
    cfg.test_evaluator = dict(
        type='DumpProposals',
        output_dir=work_dir,
        proposals_file=DUMP_FILE,
        num_max_proposals=max_per_img)
    cfg.load_from = checkpoint
    cfg.resume = False
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'val_dataloader', 'val_cfg', 'val_evaluator',
                'param_scheduler'):
        cfg.pop(key, None)
    return cfg


def read_rpn_dump(work_dir: str, keys: Sequence[str]) -> Dict[str, dict]:
    """Read the dump of :func:`rpn_dump_config`'s run, in split order.

    Raises:
        DataFileError: Images of the split are missing from the dump.
    """
    path = osp.join(work_dir, DUMP_FILE)
    dumped = load_proposals(path)
    missing = [key for key in keys if key not in dumped]
    if missing:
        raise DataFileError(
            f'{path}: no proposals for {len(missing)} of {len(keys)} images, '
            f'e.g. {missing[:5]}.')
    return {key: dumped[key] for key in keys}
