"""Deterministic generator of small VOC-style detection datasets.

The images are built to exercise what Online Hard Example Mining is for:
textured, cluttered backgrounds; unlabelled distractors that share the
colour or the outline of a class (hard negatives); objects from small to
large, some occluded; rare classes; and a few ``difficult`` objects.

Everything is written in the layout mmdet's ``VOCDataset`` reads, together
with a Selective Search stand-in proposal file per split::

    root/
        VOC2007/JPEGImages/<id>.jpg
        VOC2007/Annotations/<id>.xml
        VOC2007/ImageSets/Main/trainval.txt
        VOC2007/ImageSets/Main/test.txt
        proposals/voc07_trainval.pkl
        proposals/voc07_test.pkl
        synthetic_voc.json      # manifest, written last

Files ``proposals/selective_search_*`` (made from the images by
``tools/selective_search.py``, as ``make demo`` does) are removed whenever
the images are generated anew.

Proposal boxes follow the convention mmdet's ``VOCDataset`` gives ground
truth boxes (it subtracts 1 from the XML's 1-based pixel numbers): 0-based
``(x1, y1, x2, y2)`` of the first and last covered pixel.

A config reads a split like this, with ``data_root`` the generator's
``root``::

    dict(
        type='VOCDataset',
        data_root=data_root,
        metainfo=dict(classes=CLASSES),
        ann_file=ANN_FILES['trainval'],
        data_prefix=dict(sub_data_root=SUB_DATA_ROOT),
        proposal_file=PROPOSAL_FILES['trainval'],
        pipeline=[..., dict(type='LoadProposals', num_max_proposals=None),
                  ...])
"""
import glob
import json
import os
import os.path as osp
import pickle
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Dict, Tuple

import cv2
import numpy as np

from ..fileio import write_atomic
from .scenes import CLASSES, MIN_OBJ_SIZE, make_image, make_proposals

SPLITS = ('trainval', 'test')
# Paths relative to the dataset root, i.e. ``data_root`` in mmdet configs.
SUB_DATA_ROOT = 'VOC2007/'
ANN_FILES = {split: f'VOC2007/ImageSets/Main/{split}.txt' for split in SPLITS}
PROPOSAL_FILES = {split: f'proposals/voc07_{split}.pkl' for split in SPLITS}
MANIFEST = 'synthetic_voc.json'

# Bump whenever the output for given arguments changes, so that datasets
# cached by an older generator are rebuilt.
_GENERATOR_VERSION = 1
_JPEG_QUALITY = 90


@dataclass(frozen=True)
class SyntheticVOC:
    """Where a generated dataset lies and what it holds.

    Attributes:
        root (str): Dataset root, the ``data_root`` of mmdet configs.
        classes (tuple[str]): Class names, for ``metainfo=dict(classes=...)``.
        ann_files (dict[str, str]): Split name (``'trainval'``, ``'test'``)
            to the path of its image id list.
        proposal_files (dict[str, str]): Split name to the path of its
            proposal pickle.
        num_images (dict[str, int]): Split name to its number of images.
    """
    root: str
    classes: Tuple[str, ...]
    ann_files: Dict[str, str]
    proposal_files: Dict[str, str]
    num_images: Dict[str, int]


def make_voc_dataset(root: str,
                     num_trainval: int = 300,
                     num_test: int = 150,
                     img_size: Tuple[int, int] = (160, 256),
                     max_proposals: int = 300,
                     seed: int = 0) -> SyntheticVOC:
    """Generate a synthetic VOC-style dataset under ``root``, or reuse it.

    Output depends only on the arguments (not on ``root``): the same
    arguments give byte-identical files. If ``root`` holds a dataset made
    with the same arguments, nothing is written. Every file is replaced
    atomically and the manifest is written last, so an interrupted run is
    redone by the next call. Files of a previous, larger dataset in
    ``root`` may remain but are listed in no split.

    Image ids are ``'000001'`` onwards, trainval first, then test. Each
    image holds 1-5 labelled objects and 1-4 unlabelled distractors in
    random depth order. Objects whose visible part is below 40 % of their
    area, whose visible box has a side under 6 px, or that are drawn faded
    are marked ``difficult``; objects hidden down to a sliver are dropped.

    Proposals stand in for Selective Search: per image, boxes jittered
    around each ground truth box (IoU from about 0.9 down to 0.2) and
    around each distractor, then random boxes of varied size and aspect
    ratio, rounded to whole pixels, clipped to the image, at least 2 px a
    side and de-duplicated, at most ``max_proposals``. Scores are uniform
    random in [0, 1) and proposals are sorted by descending score, so
    ``LoadProposals(num_max_proposals=k)`` keeps a random subset.

    Args:
        root (str): Output folder, created if missing.
        num_trainval (int): Number of trainval images. Defaults to 300.
        num_test (int): Number of test images. Defaults to 150.
        img_size (tuple[int, int]): Smallest and largest side length in
            pixels; width and height of each image are drawn uniformly in
            between. Defaults to (160, 256).
        max_proposals (int): Maximum number of proposals per image.
            Defaults to 300.
        seed (int): Random seed. Defaults to 0.

    Returns:
        SyntheticVOC: Paths and facts of the dataset. The proposal pickles
        map ``'JPEGImages/<id>.jpg'`` to ``dict(bboxes=float32 (n, 4),
        scores=float32 (n,))``.
    """
    if num_trainval < 1 or num_test < 1:
        raise ValueError('Each split needs at least one image.')
    min_side, max_side = img_size
    if not 2 * MIN_OBJ_SIZE <= min_side <= max_side:
        raise ValueError(f'Bad img_size {img_size}.')
    if max_proposals < 1:
        raise ValueError('max_proposals must be positive.')
    params = dict(
        version=_GENERATOR_VERSION,
        num_trainval=num_trainval,
        num_test=num_test,
        img_size=[int(min_side), int(max_side)],
        max_proposals=max_proposals,
        seed=seed)
    num_images = dict(trainval=num_trainval, test=num_test)
    info = SyntheticVOC(
        root=root,
        classes=CLASSES,
        ann_files={
            s: osp.join(root, f)
            for s, f in ANN_FILES.items()
        },
        proposal_files={
            s: osp.join(root, f)
            for s, f in PROPOSAL_FILES.items()
        },
        num_images=num_images)
    manifest = json.dumps(params, indent=2, sort_keys=True) + '\n'
    manifest_path = osp.join(root, MANIFEST)
    if osp.isfile(manifest_path):
        with open(manifest_path) as f:
            if f.read() == manifest:
                return info
        # A regeneration interrupted after this point must not pass for
        # the old dataset.
        os.remove(manifest_path)
    # Proposals computed from images of an earlier dataset here (Selective
    # Search, as `make demo` runs it) would not fit the new ones.
    for path in glob.glob(osp.join(root, 'proposals', 'selective_search_*')):
        if osp.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)

    voc_root = osp.join(root, SUB_DATA_ROOT)
    for folder in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
        os.makedirs(osp.join(voc_root, folder), exist_ok=True)
    os.makedirs(osp.join(root, 'proposals'), exist_ok=True)

    first_id = 1
    for split_idx, split in enumerate(SPLITS):
        img_ids = [
            f'{i:06d}' for i in range(first_id, first_id + num_images[split])
        ]
        first_id += num_images[split]
        proposals = {}
        for img_id in img_ids:
            # One stream per image: an image does not depend on how many
            # images come before it.
            rng = np.random.default_rng([seed, split_idx, int(img_id)])
            img, objects, distractor_boxes = make_image(rng, img_size)
            ok, jpg = cv2.imencode('.jpg', img,
                                   [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
            assert ok, 'JPEG encoding failed'
            write_atomic(
                osp.join(voc_root, 'JPEGImages', f'{img_id}.jpg'),
                jpg.tobytes())
            write_atomic(
                osp.join(voc_root, 'Annotations', f'{img_id}.xml'),
                _voc_xml(img_id, img.shape, objects))
            gt_boxes = np.array([box for _, box, _ in objects],
                                dtype=np.float64).reshape(-1, 4)
            proposals[f'JPEGImages/{img_id}.jpg'] = make_proposals(
                rng, img.shape, gt_boxes, distractor_boxes, max_proposals)
        write_atomic(info.ann_files[split],
                     ''.join(f'{i}\n' for i in img_ids).encode())
        write_atomic(info.proposal_files[split],
                     pickle.dumps(proposals, protocol=4))
    write_atomic(manifest_path, manifest.encode())
    return info


def _voc_xml(img_id: str, shape: Tuple[int, ...], objects: list) -> bytes:
    """Serialise an annotation in PASCAL VOC's XML format.

    Args:
        img_id (str): Image id, the stem of the image file name.
        shape (tuple[int]): Image shape ``(h, w, 3)``.
        objects (list[tuple]): ``(class_name, box, difficult)`` with
            ``box`` 0-based ``(x1, y1, x2, y2)`` of first and last pixel.

    Returns:
        bytes: The XML document, boxes 1-based as in real VOC.
    """
    annotation = ET.Element('annotation')
    ET.SubElement(annotation, 'folder').text = 'VOC2007'
    ET.SubElement(annotation, 'filename').text = f'{img_id}.jpg'
    size = ET.SubElement(annotation, 'size')
    for key, value in zip(('width', 'height', 'depth'),
                          (shape[1], shape[0], shape[2])):
        ET.SubElement(size, key).text = str(value)
    ET.SubElement(annotation, 'segmented').text = '0'
    for name, box, difficult in objects:
        obj = ET.SubElement(annotation, 'object')
        ET.SubElement(obj, 'name').text = name
        ET.SubElement(obj, 'difficult').text = str(int(difficult))
        bndbox = ET.SubElement(obj, 'bndbox')
        for key, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), box):
            ET.SubElement(bndbox, key).text = str(int(value) + 1)
    ET.indent(annotation)
    return ET.tostring(annotation) + b'\n'
