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

from ..fileio import write_atomic as _write_atomic

CLASSES = ('square', 'disc', 'triangle', 'cross', 'ring')
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
# Frequencies of CLASSES: the last two are rare.
_CLASS_PROBS = (0.35, 0.25, 0.2, 0.12, 0.08)
# OpenCV hues (0-179) of CLASSES, and hues no class uses, for distractors
# that copy a class outline in another colour.
_CLASS_HUES = (0, 110, 60, 30, 145)
_OTHER_HUES = (87, 127)
_DISTRACTOR_SHAPES = ('star', 'frame', 'half_disc', 'bar')
_MIN_OBJ_SIZE = 10
_P_FADED = 0.08
_MIN_VISIBLE = 0.4
_MIN_EASY_SIDE = 6


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
    if not 2 * _MIN_OBJ_SIZE <= min_side <= max_side:
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
            img, objects, distractor_boxes = _make_image(rng, img_size)
            ok, jpg = cv2.imencode('.jpg', img,
                                   [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
            assert ok, 'JPEG encoding failed'
            _write_atomic(
                osp.join(voc_root, 'JPEGImages', f'{img_id}.jpg'),
                jpg.tobytes())
            _write_atomic(
                osp.join(voc_root, 'Annotations', f'{img_id}.xml'),
                _voc_xml(img_id, img.shape, objects))
            gt_boxes = np.array([box for _, box, _ in objects],
                                dtype=np.float64).reshape(-1, 4)
            proposals[f'JPEGImages/{img_id}.jpg'] = _make_proposals(
                rng, img.shape, gt_boxes, distractor_boxes, max_proposals)
        _write_atomic(info.ann_files[split],
                      ''.join(f'{i}\n' for i in img_ids).encode())
        _write_atomic(info.proposal_files[split],
                      pickle.dumps(proposals, protocol=4))
    _write_atomic(manifest_path, manifest.encode())
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


def _make_image(rng: np.random.Generator, img_size: Tuple[int, int]):
    """Draw one image.

    Args:
        rng (np.random.Generator): Source of all randomness.
        img_size (tuple[int, int]): Smallest and largest side length.

    Returns:
        tuple: ``img`` (uint8 BGR (h, w, 3)); ``objects``, a list of
        ``(class_name, box, difficult)`` with ``box`` a tuple of 0-based
        first and last pixel ``(x1, y1, x2, y2)`` of the visible part;
        ``distractor_boxes``, float64 (m, 4) in the same convention.
    """
    h, w = rng.integers(img_size[0], img_size[1], size=2, endpoint=True)
    img = _background(rng, h, w)

    items = []
    for _ in range(rng.integers(1, 5, endpoint=True)):
        label = rng.choice(len(CLASSES), p=_CLASS_PROBS)
        faded = rng.random() < _P_FADED
        items.append((label, CLASSES[label], _class_colour(rng, label), faded))
    for _ in range(rng.integers(1, 4, endpoint=True)):
        if rng.random() < 0.5:
            # Hard negative in a class colour but of another shape.
            shape = _DISTRACTOR_SHAPES[rng.integers(len(_DISTRACTOR_SHAPES))]
            colour = _class_colour(rng, rng.integers(len(CLASSES)))
        else:
            # Hard negative of a class shape but in another colour.
            shape = CLASSES[rng.integers(len(CLASSES))]
            colour = _other_colour(rng)
        items.append((None, shape, colour, False))
    order = rng.permutation(len(items))

    max_obj_size = 0.55 * min(h, w)
    masks = []
    for idx in order:
        label, shape, colour, faded = items[idx]
        size = np.exp(rng.uniform(np.log(_MIN_OBJ_SIZE), np.log(max_obj_size)))
        alpha = _draw_shape(rng, shape, h, w, size)
        strength = rng.uniform(0.3, 0.45) if faded else 1.0
        alpha = alpha.astype(np.float32)[..., None] * (strength / 255)
        img = img * (1 - alpha) + np.array(colour, np.float32) * alpha
        masks.append(alpha[..., 0] > 0.5 * strength)

    # Walk from the top item down to find what of each stays visible.
    covered = np.zeros((h, w), bool)
    objects, distractor_boxes = [], []
    for idx, mask in zip(order[::-1], masks[::-1]):
        visible = mask & ~covered
        covered |= mask
        box = _mask_box(visible)
        if box is None:
            continue
        min_side = min(box[2] - box[0], box[3] - box[1]) + 1
        if min_side < 3:
            continue
        label, shape, _, faded = items[idx]
        if label is None:
            distractor_boxes.append(box)
        else:
            difficult = (
                faded or visible.sum() < _MIN_VISIBLE * mask.sum()
                or min_side < _MIN_EASY_SIDE)
            objects.append((shape, box, difficult))
    distractor_boxes = np.array(
        distractor_boxes, dtype=np.float64).reshape(-1, 4)

    img = cv2.GaussianBlur(img, (3, 3), rng.uniform(0.3, 1.0))
    img += rng.normal(0, rng.uniform(3, 10), img.shape).astype(np.float32)
    img = np.clip(img, 0, 255).round().astype(np.uint8)
    return img, objects, distractor_boxes


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Return a float32 (h, w, 3) BGR background of gradient, stripes and
    blobs, all of low saturation so that it never looks like a class."""
    yy, xx = np.mgrid[:h, :w].astype(np.float32)

    def ramp():
        theta = rng.uniform(0, np.pi)
        return xx * np.cos(theta) + yy * np.sin(theta)

    hsv = np.empty((h, w, 3), np.float32)
    hsv[..., 0] = rng.uniform(0, 180)
    hsv[..., 1] = rng.uniform(0, 60)
    gradient = rng.uniform(-0.2, 0.2) * ramp()
    stripes = rng.uniform(5, 30) * np.sin(
        2 * np.pi / rng.uniform(4, 30) * ramp())
    hsv[..., 2] = rng.uniform(80, 170) + gradient + stripes
    bg = cv2.cvtColor(hsv.clip(0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)
    for _ in range(rng.integers(4, 12, endpoint=True)):
        centre = (int(rng.integers(w)), int(rng.integers(h)))
        axes = tuple(int(a) for a in rng.integers(3, min(h, w) // 3, 2))
        colour = _hsv_to_bgr(
            rng.uniform(0, 180), rng.uniform(0, 70), rng.uniform(40, 220))
        cv2.ellipse(bg, centre, axes, rng.uniform(0, 180), 0, 360, colour, -1,
                    cv2.LINE_AA)
    return cv2.GaussianBlur(bg, (0, 0), 1).astype(np.float32)


def _hsv_to_bgr(hue: float, sat: float, val: float) -> Tuple[float, ...]:
    pixel = np.array([[[hue % 180, sat, val]]], np.uint8)
    bgr = cv2.cvtColor(pixel, cv2.COLOR_HSV2BGR)[0, 0]
    return tuple(float(c) for c in bgr)


def _class_colour(rng: np.random.Generator, label: int) -> Tuple[float, ...]:
    return _hsv_to_bgr(_CLASS_HUES[label] + rng.uniform(-4, 4),
                       rng.uniform(150, 255), rng.uniform(150, 255))


def _other_colour(rng: np.random.Generator) -> Tuple[float, ...]:
    """Return a saturated colour of no class, or a greyish one."""
    if rng.random() < 0.5:
        return _hsv_to_bgr(_OTHER_HUES[rng.integers(len(_OTHER_HUES))],
                           rng.uniform(150, 255), rng.uniform(150, 255))
    return _hsv_to_bgr(
        rng.uniform(0, 180), rng.uniform(0, 60), rng.uniform(120, 255))


def _draw_shape(rng: np.random.Generator, shape: str, h: int, w: int,
                size: float) -> np.ndarray:
    """Draw one shape about ``size`` pixels across, anywhere in the image.

    Returns:
        np.ndarray: uint8 (h, w) anti-aliased coverage, 0 to 255.
    """
    mask = np.zeros((h, w), np.uint8)
    centre = np.array([rng.uniform(0, w), rng.uniform(0, h)])
    aspect = np.exp(rng.uniform(-0.3, 0.3))
    # Class shapes stay near upright: a square turned by 45 degrees would
    # be a diamond, a cross an x.
    angle = rng.uniform(-15, 15)
    half = size / 2

    def polygon(points, degrees=angle):
        rad = np.deg2rad(degrees)
        rot = np.array([[np.cos(rad), -np.sin(rad)],
                        [np.sin(rad), np.cos(rad)]])
        return np.round(np.asarray(points) @ rot.T + centre).astype(np.int32)

    def rect(half_w, half_h, degrees=angle):
        return polygon([(-half_w, -half_h), (half_w, -half_h),
                        (half_w, half_h), (-half_w, half_h)], degrees)

    def ellipse(thickness=-1, end=360):
        axes = (max(1, round(half)), max(1, round(half * aspect)))
        cv2.ellipse(mask, tuple(int(c) for c in np.round(centre)), axes, angle,
                    0, end, 255, thickness, cv2.LINE_AA)

    if shape == 'square':
        cv2.fillPoly(mask, [rect(half, half * aspect)], 255, cv2.LINE_AA)
    elif shape == 'disc':
        ellipse()
    elif shape == 'triangle':
        turns = np.deg2rad([90, 210, 330])
        points = np.stack([np.cos(turns), -np.sin(turns) * aspect], 1)
        cv2.fillPoly(mask, [polygon(points * half)], 255, cv2.LINE_AA)
    elif shape == 'cross':
        arm = 0.17 * size
        cv2.fillPoly(mask, [rect(half, arm), rect(arm, half)], 255,
                     cv2.LINE_AA)
    elif shape == 'ring':
        thickness = max(2, round(0.15 * size))
        half -= thickness / 2
        ellipse(thickness)
    elif shape == 'star':
        turns = np.deg2rad(np.arange(10) * 36 + 90)
        radii = np.where(np.arange(10) % 2, 0.45 * half, half)
        points = np.stack([np.cos(turns), -np.sin(turns)], 1) * radii[:, None]
        cv2.fillPoly(mask, [polygon(points)], 255, cv2.LINE_AA)
    elif shape == 'frame':
        cv2.polylines(mask, [rect(half, half * aspect)], True, 255,
                      max(1, round(0.06 * size)), cv2.LINE_AA)
    elif shape == 'half_disc':
        ellipse(end=180)
    elif shape == 'bar':
        cv2.fillPoly(mask, [rect(half, 0.1 * size, rng.uniform(0, 180))], 255,
                     cv2.LINE_AA)
    else:
        raise ValueError(f'Unknown shape {shape}')
    return mask


def _mask_box(mask: np.ndarray):
    """Return the (x1, y1, x2, y2) first and last pixel of ``mask``, or
    None if it is empty."""
    xs = np.flatnonzero(mask.any(0))
    ys = np.flatnonzero(mask.any(1))
    if len(xs) == 0:
        return None
    return (int(xs[0]), int(ys[0]), int(xs[-1]), int(ys[-1]))


def _jitter(rng: np.random.Generator, boxes: np.ndarray,
            sigmas: Tuple[float, ...], per_sigma: int) -> np.ndarray:
    """Shift and rescale each box by Gaussian noise relative to its size.

    Args:
        rng (np.random.Generator): Source of randomness.
        boxes (np.ndarray): float64 (n, 4) boxes, x1y1x2y2.
        sigmas (tuple[float]): Noise levels; larger means lower IoU.
        per_sigma (int): Boxes drawn per box and noise level.

    Returns:
        np.ndarray: float64 (n * len(sigmas) * per_sigma, 4) boxes.
    """
    sigma = np.repeat(np.tile(sigmas, len(boxes)), per_sigma)[:, None]
    boxes = np.repeat(boxes, len(sigmas) * per_sigma, axis=0)
    size = boxes[:, 2:] - boxes[:, :2]
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    centre = centre + rng.normal(size=centre.shape) * sigma * size
    size = size * np.exp(rng.normal(size=size.shape) * sigma)
    return np.concatenate([centre - size / 2, centre + size / 2], axis=1)


def _make_proposals(rng: np.random.Generator, shape: Tuple[int, ...],
                    gt_boxes: np.ndarray, distractor_boxes: np.ndarray,
                    max_proposals: int) -> dict:
    """Make Selective Search stand-in proposals for one image.

    Args:
        rng (np.random.Generator): Source of randomness.
        shape (tuple[int]): Image shape ``(h, w, 3)``.
        gt_boxes (np.ndarray): float64 (n, 4) ground truth boxes.
        distractor_boxes (np.ndarray): float64 (m, 4) distractor boxes.
        max_proposals (int): Maximum number of proposals.

    Returns:
        dict: ``bboxes`` float32 (k, 4) and ``scores`` float32 (k,), with
        ``k <= max_proposals``, sorted by descending score.
    """
    h, w = shape[:2]
    targeted = np.concatenate([
        _jitter(rng, gt_boxes, (0.04, 0.1, 0.2, 0.35, 0.5), 3),
        _jitter(rng, distractor_boxes, (0.04, 0.15, 0.3), 2)
    ])
    targeted = _clean_boxes(targeted, h, w)
    rng.shuffle(targeted)
    targeted = targeted[:max_proposals]

    num_random = 2 * max_proposals
    size = np.exp(rng.uniform(np.log(4), np.log([w, h]), size=(num_random, 2)))
    x1y1 = rng.uniform(0, 1, size=(num_random, 2)) * ([w, h] - size)
    random_boxes = _clean_boxes(
        np.concatenate([x1y1, x1y1 + size], axis=1), h, w)
    # Drop random boxes that repeat a targeted one, keeping their order.
    _, first = np.unique(
        np.concatenate([targeted, random_boxes]), axis=0, return_index=True)
    first = np.sort(first[first >= len(targeted)]) - len(targeted)
    random_boxes = random_boxes[first][:max_proposals - len(targeted)]

    bboxes = np.concatenate([targeted, random_boxes]).astype(np.float32)
    scores = rng.random(len(bboxes)).astype(np.float32)
    order = np.argsort(-scores, kind='stable')
    return dict(bboxes=bboxes[order], scores=scores[order])


def _clean_boxes(boxes: np.ndarray, h: int, w: int) -> np.ndarray:
    """Clip boxes to the image, round them to whole pixels and keep the
    distinct ones at least 2 px a side, in first-seen order."""
    boxes = boxes.copy()
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w - 1)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h - 1)
    boxes = np.round(boxes)
    keep = ((boxes[:, 2] - boxes[:, 0] >= 1) &
            (boxes[:, 3] - boxes[:, 1] >= 1))
    boxes = boxes[keep]
    _, first = np.unique(boxes, axis=0, return_index=True)
    return boxes[np.sort(first)]
