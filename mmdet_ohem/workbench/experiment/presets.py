"""The experiments this project publishes, as :class:`Experiment` presets:
``make demo`` (generated shapes) and BCCD (real blood-cell images). Each
makes its inputs once (data, proposals, weights) and returns the
experiment's settings."""
import os.path as osp
from typing import Dict

from ..synthetic import make_voc_dataset

DEMO_DATASET = dict(num_trainval=300, num_test=150, img_size=(128, 192))
DEMO_METHODS = {
    'frcn': 'demo/fast_rcnn_tinyvgg_synthvoc.py',
    'ohem': 'demo/fast_rcnn_tinyvgg_ohem_synthvoc.py',
}
BCCD_METHODS = {
    'frcn': 'bccd/fast_rcnn_mobilenetv2_bccd.py',
    'ohem': 'bccd/fast_rcnn_mobilenetv2_ohem_bccd.py',
    'ohem_bf16': 'bccd/fast_rcnn_mobilenetv2_ohem_bf16_bccd.py',
}


def _selective_search(split, out_file: str, workers: int, **options) -> str:
    from ..proposals.ssearch import generate_selective_search
    if not osp.isfile(out_file):
        generate_selective_search(split, out_file, workers=workers, **options)
    return out_file


def demo(data_root: str, workers: int = 1) -> dict:
    """The demo's data (generated once, cached) with Selective Search
    proposals (fast mode on the images as they are: they are small and
    their objects from 10 px up, hence the 4 px minimum box), where its
    configs read them; returns the :class:`Experiment` keywords."""
    from ..proposals.splits import voc_split
    make_voc_dataset(data_root, **DEMO_DATASET)
    for split in ('trainval', 'test'):
        _selective_search(
            voc_split(data_root, split=split, voc_dir='VOC2007/'),
            osp.join(data_root, 'proposals',
                     f'selective_search_voc_2007_{split}.pkl'),
            workers,
            resize_width=None,
            min_box_size=4,
            max_boxes=2000)
    return dict(methods=DEMO_METHODS, data_root=osp.abspath(data_root))


def bccd(data_root: str, work_root: str, workers: int = 1) -> dict:
    """BCCD's Selective Search proposals of both splits and the converted
    ImageNet MobileNetV2, made once under ``work_root``; returns the
    :class:`Experiment` keywords.

    Args:
        data_root (str): The folder holding ``BCCD/`` (a clone of
            Shenggan/BCCD_Dataset).
    """
    from ..proposals.splits import voc_split
    proposals: Dict[str, str] = {
        split:
        _selective_search(
            voc_split(data_root, split=split, voc_dir='BCCD/'),
            osp.join(work_root, 'proposals', f'ss_{split}.npz'),
            workers,
            min_box_size=10)
        for split in ('trainval', 'test')
    }
    return dict(
        methods=BCCD_METHODS,
        data_root=data_root,
        proposals=proposals,
        cfg_options={'model.init_cfg.checkpoint': _mobilenet(work_root)})


def _mobilenet(work_root: str) -> str:
    """The converted ImageNet MobileNetV2, made once."""
    from ...engine.checkpoint import save_checkpoint_safely
    from ..convert import (convert_state_dict, load_source_weights,
                           packaged_source)
    path = osp.join(work_root, 'mobilenet_v2_fast_rcnn_init.pth')
    if not osp.isfile(path):
        converted, _ = convert_state_dict(
            load_source_weights(packaged_source('mobilenet_v2')),
            'mobilenet_v2')
        save_checkpoint_safely(dict(state_dict=converted), path)
    return osp.abspath(path)
