"""Turn ImageNet VGG weights into initial weights of our Fast R-CNNs.

Two sources are understood:

- ``vgg16``: torchvision's VGG16 (``features.N.*``, ``classifier.0/3/6.*``),
  e.g. ``vgg16-397923af.pth``. Its conv layers map onto
  :class:`~mmdet_ohem.models.FastRCNNVGG` (same numbering), ``classifier.0``
  and ``classifier.3`` onto fc6 and fc7 of the box head; the 1000-way
  ImageNet classifier ``classifier.6`` is dropped.
- ``vgg_cnn_m_1024``: Caffe layer names (``conv1`` ... ``conv5``, ``fc6``,
  ``fc7``, each ``.weight`` and ``.bias``), as dumped from the Caffe model
  into a ``.npz`` or ``.pth``; see docs/weights.md for how. ``fc8`` is
  dropped.

The result is a checkpoint keyed like the detector's state dict
(``backbone.*``, ``roi_head.bbox_head.shared_fcs.*``) that the configs load
with ``init_cfg=dict(type='Pretrained', ...)``; the new layers (``fc_cls``,
``fc_reg``) keep their random initialisation.
"""
import os.path as osp
import re
from typing import Dict, List, Tuple

import numpy as np
import torch

from ..engine.checkpoint import MISSING_CHECKPOINT_HINTS

HEAD = 'roi_head.bbox_head.shared_fcs'

#: Source architecture -> [(source key regex, target key template)].
KEY_MAPS = {
    'vgg16': [
        (r'features\.(\d+)\.(weight|bias)', r'backbone.features.\1.\2'),
        (r'classifier\.0\.(weight|bias)', HEAD + r'.0.\1'),
        (r'classifier\.3\.(weight|bias)', HEAD + r'.1.\1'),
    ],
    'vgg_cnn_m_1024': [
        (r'(conv[1-5])\.(weight|bias)', r'backbone.\1.\2'),
        (r'fc6\.(weight|bias)', HEAD + r'.0.\1'),
        (r'fc7\.(weight|bias)', HEAD + r'.1.\1'),
    ],
}
#: Keys of the ImageNet classifiers, which the detector does not use.
DROPPED = {
    'vgg16': r'classifier\.6\.(weight|bias)',
    'vgg_cnn_m_1024': r'fc8\.(weight|bias)',
}
#: Where the configs expect the converted weights, and how to make them.
DEFAULT_OUTPUTS = {
    'vgg16': 'checkpoints/vgg16_fast_rcnn_init.pth',
    'vgg_cnn_m_1024': 'checkpoints/vgg_cnn_m_1024_fast_rcnn_init.pth',
}
SOURCES = {
    'vgg16':
    "torchvision's ImageNet VGG16 weights (vgg16-397923af.pth)",
    'vgg_cnn_m_1024':
    'the ImageNet VGG_CNN_M_1024 Caffe weights dumped to '
    '.npz (docs/weights.md)',
}
for _arch, _dst in DEFAULT_OUTPUTS.items():
    MISSING_CHECKPOINT_HINTS[osp.basename(_dst)] = (
        f'Make it from {SOURCES[_arch]} with: python tools/convert_vgg.py '
        f'--arch {_arch} SOURCE {_dst}')


def convert_vgg_state_dict(
        state_dict: Dict[str, torch.Tensor],
        arch: str = 'vgg16') -> Tuple[Dict[str, torch.Tensor], List]:
    """Rename ImageNet VGG weights to our detector's keys.

    Args:
        state_dict (dict): Source weights.
        arch (str): ``'vgg16'`` or ``'vgg_cnn_m_1024'``.

    Returns:
        tuple: The renamed state dict, and ``(source key, target key or
        None)`` for every source key, in order (None: dropped).

    Raises:
        KeyError: If a key belongs to neither the mapped nor the dropped
            layers, which means the file is not of ``arch``.
    """
    if arch not in KEY_MAPS:
        raise ValueError(f'unknown arch {arch!r}; choose from '
                         f'{sorted(KEY_MAPS)}')
    converted, report = {}, []
    for key, value in state_dict.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        for pattern, target in KEY_MAPS[arch]:
            if re.fullmatch(pattern, key):
                new_key = re.sub(pattern, target, key)
                converted[new_key] = torch.as_tensor(value).float().clone()
                report.append((key, new_key))
                break
        else:
            if not re.fullmatch(DROPPED[arch], key):
                raise KeyError(f'{key!r} is not a layer of {arch}: is this '
                               f'file {SOURCES[arch]}?')
            report.append((key, None))
    if not converted:
        raise KeyError(f'no {arch} layer found among the keys')
    return converted, report


def load_source_weights(path: str) -> Dict[str, torch.Tensor]:
    """Read a ``.pth`` (weights only) or ``.npz`` file of named arrays."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist')
    if path.endswith('.npz'):
        with np.load(path, allow_pickle=False) as arrays:
            return {key: torch.from_numpy(arrays[key]) for key in arrays}
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(ckpt, dict) and 'state_dict' in ckpt:
        ckpt = ckpt['state_dict']
    return ckpt
