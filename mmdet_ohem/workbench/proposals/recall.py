"""Recall of proposals against ground truth boxes, and of a proposal file
on a split (``tools/proposal_recall.py``)."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmdet.evaluation.functional import bbox_overlaps
from mmdet.registry import DATASETS
from mmengine.registry import DefaultScope
from mmengine.utils import ProgressBar

from .splits import Split

# IoU thresholds of average recall (AR), 0.5:0.05:0.95.
RECALL_IOUS = tuple(np.round(np.arange(0.5, 0.951, 0.05), 2).tolist())
TABLE_NUMS = (100, 300, 1000, 2000)


def best_overlaps(gt_boxes: Sequence[np.ndarray],
                  proposals: Sequence[np.ndarray],
                  nums: Sequence[int]) -> np.ndarray:
    """Each ground truth box's best IoU among the top proposals.

    Args:
        gt_boxes (Sequence[np.ndarray]): Per image, (g, 4) boxes.
        proposals (Sequence[np.ndarray]): Per image, (k, 4) boxes, best
            first.
        nums (Sequence[int]): Numbers of top proposals to consider.

    Returns:
        np.ndarray: (G, len(nums)) best IoU of each of the G boxes of all
        images with any of the first ``nums[j]`` proposals of its image
        (0 where there are none).
    """
    nums = np.asarray(nums, np.int64)
    best = []
    for gts, props in zip(gt_boxes, proposals):
        gts = np.asarray(gts, np.float32).reshape(-1, 4)
        props = np.asarray(props, np.float32).reshape(-1, 4)[:nums.max()]
        if len(props) == 0:
            best.append(np.zeros((len(gts), len(nums)), np.float32))
            continue
        # (g, k): best IoU with the first 1, 2, ..., k proposals
        ious = np.maximum.accumulate(bbox_overlaps(gts, props), axis=1)
        best.append(ious[:, np.minimum(nums, len(props)) - 1])
    if not best:
        return np.zeros((0, len(nums)), np.float32)
    return np.concatenate(best)


def proposal_recall(gt_boxes: Sequence[np.ndarray],
                    proposals: Sequence[np.ndarray],
                    nums: Sequence[int] = TABLE_NUMS,
                    ious: Sequence[float] = RECALL_IOUS) -> np.ndarray:
    """Recall of the top proposals at IoU thresholds.

    A ground truth box counts as found at threshold ``t`` if one of the
    top ``n`` proposals of its image overlaps it by IoU >= ``t``.
    Average recall is the mean over ``RECALL_IOUS``.

    Args:
        gt_boxes (Sequence[np.ndarray]): Per image, (g, 4) boxes.
        proposals (Sequence[np.ndarray]): Per image, (k, 4), best first.
        nums (Sequence[int]): Numbers of top proposals.
        ious (Sequence[float]): IoU thresholds.

    Returns:
        np.ndarray: (len(nums), len(ious)) recall; NaN without ground
        truth.
    """
    best = best_overlaps(gt_boxes, proposals, nums)
    if len(best) == 0:
        return np.full((len(nums), len(ious)), np.nan)
    return (best[:, :, None] >= np.asarray(ious)).mean(0)


def recall_table(recalls: np.ndarray,
                 nums: Sequence[int],
                 ious: Sequence[float] = RECALL_IOUS) -> str:
    """Format recall at IoU 0.5 and 0.7 and average recall as a table.

    Args:
        recalls (np.ndarray): (len(nums), len(ious)), from
            :func:`proposal_recall` with ``ious`` containing 0.5 and 0.7.
        nums (Sequence[int]): Numbers of top proposals, one per row.
        ious (Sequence[float]): The IoU thresholds of ``recalls``.

    Returns:
        str: The table, one row per number of proposals.
    """
    ious = np.round(np.asarray(ious, np.float64), 2).tolist()
    rows = [('#proposals', 'R@0.5', 'R@0.7', 'AR')]
    for num, recall in zip(nums, recalls):
        rows.append((str(num), f'{recall[ious.index(0.5)]:.3f}',
                     f'{recall[ious.index(0.7)]:.3f}', f'{recall.mean():.3f}'))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        ' | '.join(c.rjust(w) for c, w in zip(row, widths)) for row in rows
    ]
    lines.insert(1, '-+-'.join('-' * w for w in widths))
    return '\n'.join(lines)


def plot_recall(out_file: str,
                curves: Dict[str, tuple],
                title: str = '') -> None:
    """Plot recall at IoU 0.5 and 0.7 and AR against #proposals to a PNG.

    Args:
        out_file (str): The image file.
        curves (dict[str, tuple]): Label to ``(nums, recalls)`` as
            :func:`proposal_recall` gives them with ``RECALL_IOUS``.
        title (str): Figure title.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharey=True)
    for label, (nums, recalls) in curves.items():
        columns = (recalls[:, RECALL_IOUS.index(0.5)],
                   recalls[:, RECALL_IOUS.index(0.7)], recalls.mean(1))
        for ax, values in zip(axes, columns):
            ax.plot(nums, values, label=label)
    for ax, name in zip(axes, ('recall at IoU 0.5', 'recall at IoU 0.7',
                               'average recall (IoU 0.5:0.95)')):
        ax.set_xscale('log')
        ax.set_xlabel('#proposals per image')
        ax.set_title(name)
        ax.set_ylim(0, 1)
        ax.grid(True, which='both', alpha=0.3)
    axes[0].set_ylabel('recall')
    axes[0].legend(loc='upper left')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def read_split(split: Split, proposal_file: str, classes: Sequence[str],
               missing_proposals: str) -> Tuple[List, List, List]:
    """Read a split as training reads it (proposals clipped, degenerate
    ones dropped).

    Returns:
        tuple[list]: Per image, the (g, 4) boxes and (g, ) labels of the
        objects of ``classes`` that are not ignored (difficult, crowd), and
        the (k, 4) proposals, best first.
    """
    kwargs = dict(
        proposal_file=osp.abspath(proposal_file),
        missing_proposals=missing_proposals,
        metainfo=dict(classes=tuple(classes)),
        test_mode=True,
        pipeline=[])
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(split.dataset_cfg(**kwargs))
    gt_boxes, gt_labels, proposals = [], [], []
    progress = ProgressBar(len(dataset))
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        kept = [i for i in info['instances'] if not i['ignore_flag']]
        gt_boxes.append(
            np.array([i['bbox'] for i in kept], np.float32).reshape(-1, 4))
        gt_labels.append(np.array([i['bbox_label'] for i in kept], int))
        proposals.append(info['proposals']['bboxes'])
        progress.update()
    progress.file.write('\n')
    return gt_boxes, gt_labels, proposals


def class_recall_table(gt_boxes: Sequence[np.ndarray],
                       gt_labels: Sequence[np.ndarray],
                       proposals: Sequence[np.ndarray], classes: Sequence[str],
                       num: int) -> str:
    """Markdown: each class's objects and recall of the top ``num``."""
    rows = [
        f'| class | objects | R@0.5 | R@0.7 | AR (top {num}) |',
        '|---|---|---|---|---|'
    ]
    for label, name in enumerate(classes):
        boxes = [b[lab == label] for b, lab in zip(gt_boxes, gt_labels)]
        count = sum(map(len, boxes))
        if not count:
            rows.append(f'| {name} | 0 | | | |')
            continue
        recall = proposal_recall(boxes, proposals, [num])[0]
        ious = np.round(RECALL_IOUS, 2).tolist()
        rows.append(f'| {name} | {count} | {recall[ious.index(0.5)]:.3f} | '
                    f'{recall[ious.index(0.7)]:.3f} | {recall.mean():.3f} |')
    return '\n'.join(rows)


def file_recall(split: Split,
                proposal_file: str,
                classes: Sequence[str],
                nums: Sequence[int] = TABLE_NUMS,
                missing_proposals: str = 'error') -> Optional[tuple]:
    """Recall of one proposal file on a split.

    Args:
        split (Split): The images and their annotations.
        proposal_file (str): The proposals.
        classes (Sequence[str]): The objects to find.
        nums (Sequence[int]): Numbers of top proposals in the tables.
        missing_proposals (str): ``'error'`` or ``'skip'`` images without
            proposals.

    Returns:
        tuple | None: The report (a summary line, :func:`recall_table` of
        ``nums``, :func:`class_recall_table` at the largest of them) and
        the curve for :func:`plot_recall` (``(nums, recalls)`` at up to 60
        log-spaced numbers of proposals); None if the split has no object
        of ``classes`` to find.
    """
    gt_boxes, gt_labels, proposals = read_split(split, proposal_file, classes,
                                                missing_proposals)
    num_objects = sum(map(len, gt_boxes))
    if not num_objects:
        return None
    report = '\n'.join([
        f'{proposal_file} on {split.name}: {len(gt_boxes)} images, '
        f'{num_objects} objects, '
        f'{np.mean([len(p) for p in proposals]):.0f} proposals per image',
        recall_table(proposal_recall(gt_boxes, proposals, nums), nums),
        class_recall_table(gt_boxes, gt_labels, proposals, classes, max(nums))
    ])
    most = max(max(len(p) for p in proposals), 1)
    curve_nums = np.unique(
        np.round(np.logspace(0, np.log10(most), 60)).astype(int))
    return report, (curve_nums,
                    proposal_recall(gt_boxes, proposals, curve_nums,
                                    RECALL_IOUS))
