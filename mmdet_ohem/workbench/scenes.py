"""The scenes of the synthetic VOC-style dataset: one image with its
objects and distractors, and the proposals around them."""
from typing import Tuple

import cv2
import numpy as np

CLASSES = ('square', 'disc', 'triangle', 'cross', 'ring')
# Frequencies of CLASSES: the last two are rare.
_CLASS_PROBS = (0.35, 0.25, 0.2, 0.12, 0.08)
# OpenCV hues (0-179) of CLASSES, and hues no class uses, for distractors
# that copy a class outline in another colour.
_CLASS_HUES = (0, 110, 60, 30, 145)
_OTHER_HUES = (87, 127)
_DISTRACTOR_SHAPES = ('star', 'frame', 'half_disc', 'bar')
MIN_OBJ_SIZE = 10
_P_FADED = 0.08
_MIN_VISIBLE = 0.4
_MIN_EASY_SIDE = 6


def make_image(rng: np.random.Generator, img_size: Tuple[int, int]):
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
        size = np.exp(rng.uniform(np.log(MIN_OBJ_SIZE), np.log(max_obj_size)))
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


def make_proposals(rng: np.random.Generator, shape: Tuple[int, ...],
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
