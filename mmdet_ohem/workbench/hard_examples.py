"""Hard RoIs that a trained model would pick on dataset images, drawn
(``tools/show_hard_examples.py``)."""
import os.path as osp
from typing import List, Sequence

import torch
from mmengine.dataset import pseudo_collate
from torch import nn

from ..engine.hard_examples import (batch_images, draw_hard_examples,
                                    find_ohem_sampler, split_mined)


def mine_batch(model: nn.Module, data_batch: dict) -> List[dict]:
    """Mine one batch as a training step would, without training.

    The model runs in eval mode (batch-norm statistics stay as they are);
    the read-only pass follows the sampler's ``readonly_mode``.

    Args:
        model (nn.Module): A detector with an OHEM sampler and its
            ``train_cfg``.
        data_batch (dict): A collated batch with ground truth and
            proposals.

    Returns:
        list[dict]: Per image, as :func:`split_mined`.
    """
    sampler = find_ohem_sampler(model)
    model.eval()
    with sampler.recording() as records, torch.no_grad():
        data = model.data_preprocessor(data_batch, True)
        model.loss(data['inputs'], data['data_samples'])
    return split_mined(records)


def show_dataset_hard_examples(model: nn.Module,
                               dataset,
                               indices: Sequence[int],
                               out_file: str,
                               channel_order: str = 'bgr') -> str:
    """Draw the hard RoIs a model would pick on some dataset images.

    Args:
        model (nn.Module): See :func:`mine_batch`.
        dataset: An mmdet dataset whose pipeline loads annotations and
            proposals.
        indices (Sequence[int]): Images to draw, in one figure.
        out_file (str): PNG to write.
        channel_order (str): Of the images the pipeline loads.

    Returns:
        str: ``out_file``.
    """
    data_batch = pseudo_collate([dataset[i] for i in indices])
    mined = mine_batch(model, data_batch)
    samples = data_batch['data_samples']
    return draw_hard_examples(
        batch_images(data_batch, channel_order),
        mined,
        model.roi_head.bbox_head.num_classes,
        out_file,
        gt_bboxes=[s.gt_instances.bboxes.cpu().numpy() for s in samples],
        titles=[osp.basename(s.metainfo['img_path']) for s in samples])
