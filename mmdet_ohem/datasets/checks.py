"""The annotation checks of every dataset of this package and of
``tools/check_dataset.py``: labels outside ``classes``, boxes outside their
image, a split with no object left, a COCO class order that is not the
file's, and a test pipeline that hands the metric ground truth in another
frame than the detections."""
import logging
from collections import Counter, defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import print_log

from ..errors import DataFileError, PipelineOrderError

UNKNOWN_CLASSES = ('error', 'skip')
# Files named in a message per kind of finding, at most.
MAX_NAMES = 10


def _names(files: Sequence[str], limit: int = MAX_NAMES) -> str:
    files = sorted(set(files))
    text = ', '.join(files[:limit])
    if len(files) > limit:
        text += f' and {len(files) - limit} more'
    return text


class AnnotationCheck:
    """Checks the objects of one split as they are loaded, then reports.

    A dataset calls :meth:`keep` for each object it reads, and
    :meth:`finish` once all are read. Boxes partly outside their image are
    clipped to it; boxes with nothing left inside it are dropped; both are
    counted and logged with the files. Labels outside ``classes`` raise one
    error listing them, or, with ``unknown_classes='skip'``, are dropped,
    counted and logged. A split with no object of ``classes`` left raises.

    Args:
        source (str): The annotation file or split list, for messages.
        classes (Sequence[str]): The classes to train on.
        unknown_classes (str): ``'error'`` (default) or ``'skip'``.
        test_mode (bool): A split without any object is then allowed
            (images to run a detector on); one whose objects were all
            dropped or skipped still raises.
    """

    def __init__(self,
                 source: str,
                 classes: Sequence[str],
                 unknown_classes: str = 'error',
                 test_mode: bool = False) -> None:
        if unknown_classes not in UNKNOWN_CLASSES:
            raise ValueError("unknown_classes must be 'error' or 'skip', "
                             f'not {unknown_classes!r}.')
        self.source = source
        self.classes = tuple(classes)
        self.unknown_classes = unknown_classes
        self.test_mode = test_mode
        self.unknown: Counter = Counter()  # label -> objects
        self.unknown_files: Dict[str, List[str]] = defaultdict(list)
        self.clipped: List[str] = []  # a file per clipped box
        self.dropped: Dict[str, List[str]] = defaultdict(list)  # why->files
        self.kept = 0  # objects left, ignored ones included

    def keep(self, label: str, bbox: Sequence[float], width: float,
             height: float, file: str) -> Optional[List[float]]:
        """Return the box ``(x1, y1, x2, y2)`` clipped to the image, or None
        if the object is dropped (its label is not in ``classes``, or no
        part of its box lies inside the image)."""
        if label not in self.classes:
            self.unknown[label] += 1
            self.unknown_files[label].append(file)
            return None
        x1, y1, x2, y2 = (float(v) for v in bbox)
        if not np.isfinite([x1, y1, x2, y2]).all():
            self.dropped['not finite'].append(file)
            return None
        if x2 <= x1 or y2 <= y1:
            why = 'zero size' if x2 == x1 or y2 == y1 else 'inverted'
            self.dropped[why].append(file)
            return None
        clipped = [
            min(max(x1, 0.), width),
            min(max(y1, 0.), height),
            min(max(x2, 0.), width),
            min(max(y2, 0.), height)
        ]
        if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
            self.dropped['outside the image'].append(file)
            return None
        if clipped != [x1, y1, x2, y2]:
            self.clipped.append(file)
        self.kept += 1
        return clipped

    @property
    def num_dropped(self) -> int:
        return sum(len(files) for files in self.dropped.values())

    def summary(self) -> Dict[str, int]:
        """Return the counts: objects kept, clipped, dropped per reason,
        and with each unknown label."""
        counts = dict(objects=self.kept, clipped=len(self.clipped))
        counts.update({
            f'dropped ({why})': len(f)
            for why, f in self.dropped.items()
        })
        counts.update({f'unknown {k!r}': n for k, n in self.unknown.items()})
        return counts

    def messages(self) -> List[str]:
        """Return one line per kind of finding, with counts and files."""
        lines = []
        if self.clipped:
            lines.append(f'{len(self.clipped)} boxes partly outside their '
                         'image were clipped to it: '
                         f'{_names(self.clipped)}.')
        for why, files in sorted(self.dropped.items()):
            lines.append(f'{len(files)} boxes were dropped ({why}): '
                         f'{_names(files)}.')
        return lines

    def unknown_message(self) -> str:
        total = sum(self.unknown.values())
        files = [f for fs in self.unknown_files.values() for f in fs]
        labels = ', '.join(
            f'{label!r} ({n} objects, e.g. {self.unknown_files[label][0]})'
            for label, n in self.unknown.most_common())
        return (f'{self.source}: {total} objects in {len(set(files))} files '
                f'have labels that are not in classes {self.classes}: '
                f'{labels}.')

    def finish(self) -> None:
        """Log what was clipped, dropped or skipped; raise for unknown
        labels (``unknown_classes='error'``) or an empty split.

        Raises:
            DataFileError: A label is not in ``classes`` and
                ``unknown_classes='error'``, or no object is left (see
                ``test_mode``).
        """
        if self.unknown and self.unknown_classes == 'error':
            raise DataFileError(
                f'{self.unknown_message()}\nAdd them to classes (and set the '
                "head's num_classes), correct the labels, or set "
                "unknown_classes='skip' in the dataset to train without "
                'them.')
        lines = self.messages()
        if self.unknown:
            lines.append(f"Skipped (unknown_classes='skip'): "
                         f'{self.unknown_message()}')
        if lines:
            print_log(
                f'{self.source}: ' + ' '.join(lines),
                logger='current',
                level=logging.WARNING)
        found = self.kept + self.num_dropped + sum(self.unknown.values())
        if not self.kept and (found or not self.test_mode):
            raise DataFileError(
                f'{self.source}: no object of classes {self.classes} is '
                'left to train or test on (' +
                (' '.join(self.messages()) or 'none was found') + ') ' +
                'Check classes against the labels of the annotations.')


def coco_class_order(file_names: Sequence[str], classes: Sequence[str],
                     ann_file: str) -> None:
    """Raise unless ``classes`` lists the file's category names in the
    file's order (a subset may leave names out).

    mmdet numbers a COCO file's categories in the file's order, whatever
    the order of ``classes``; another order would silently give each
    class the label of another.

    Args:
        file_names (Sequence[str]): The file's category names, in order.
        classes (Sequence[str]): ``metainfo['classes']``.
        ann_file (str): The annotation file, for the message.

    Raises:
        DataFileError: A class is not in the file, or the order differs.
    """
    missing = [name for name in classes if name not in file_names]
    if missing:
        raise DataFileError(
            f'{ann_file}: classes {missing} are not categories of the file; '
            f'its categories are {list(file_names)}.')
    in_file_order = tuple(name for name in file_names if name in classes)
    if in_file_order != tuple(classes):
        raise DataFileError(
            f'{ann_file}: classes {tuple(classes)} are not in the order of '
            "the file's categories; labels follow the file's order, so "
            f'use classes={in_file_order}.')


def _rounded(box: np.ndarray) -> list:
    return [round(float(v), 1) for v in box]


def ground_truth_boxes(data_info: dict) -> np.ndarray:
    """Return the ``(n, 4)`` float32 boxes of a data info's objects that a
    metric scores (``ignore_flag`` 0), in the original image's frame."""
    boxes = [
        instance['bbox'] for instance in data_info.get('instances', [])
        if not instance.get('ignore_flag', 0)
    ]
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4)


def check_ground_truth_frame(truth: np.ndarray, data: dict, image: str,
                             dataset: str, pipeline) -> None:
    """Raise if a test sample's packed ground truth is not ``truth``.

    mmdet's detectors map their test detections back to the original
    image (``predict(rescale=True)``), and ``VOCMetric`` reads the ground
    truth from the packed sample. A test pipeline that loads the
    annotations before it resizes (or flips) the image hands the metric
    boxes in the resized frame: the mAP it prints is wrong, silently,
    whenever the scale factor is not 1. mmdet's test pipelines load the
    annotations last for this reason; this check makes any other order
    loud instead of wrong.

    Args:
        truth (np.ndarray): ``(n, 4)`` boxes of the sample's scored
            objects as the dataset loaded them (:func:`ground_truth_boxes`).
        data (dict): The pipeline's output, ``data_samples`` packed by
            ``PackDetInputs``. A sample without ``gt_instances`` (a
            pipeline without ``LoadAnnotations``) has nothing to check.
        image (str): The image's path, for the message.
        dataset (str): The dataset's class name, for the message.
        pipeline: The dataset's ``Compose``, whose transforms the message
            lists.

    Raises:
        PipelineOrderError: The packed boxes differ from ``truth``.
    """
    from mmdet.structures.bbox import get_box_tensor
    sample = data.get('data_samples') if isinstance(data, dict) else None
    if sample is None or 'gt_instances' not in sample:
        return
    packed = get_box_tensor(sample.gt_instances.bboxes)
    packed = packed.numpy().astype(np.float32).reshape(-1, 4)
    if packed.shape == truth.shape and np.allclose(
            packed, truth, rtol=1e-5, atol=1e-3):
        return
    steps = [type(t).__name__ for t in getattr(pipeline, 'transforms', [])]
    if packed.shape == truth.shape and len(truth):
        example = (f'the box {_rounded(truth[0])} of the annotation '
                   f'became {_rounded(packed[0])}')
    else:
        example = (f'{len(truth)} boxes of the annotation became '
                   f'{len(packed)}')
    raise PipelineOrderError(
        f'{dataset} (test_mode): the test pipeline changes the ground '
        f'truth of {image} ({example}; scale_factor '
        f'{sample.metainfo.get("scale_factor")}). The detector maps its '
        'detections back to the original image, so the metric would '
        'compare boxes in two frames and print a wrong mAP. Pipeline: '
        f'{" -> ".join(steps)}. Put LoadAnnotations after the transforms '
        'that resize or flip (just before PackDetInputs), as mmdet\'s '
        'test pipelines do.')
