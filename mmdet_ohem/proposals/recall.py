"""Recall of proposals against ground truth boxes."""
from typing import Dict, Sequence

import numpy as np
from mmdet.evaluation.functional import bbox_overlaps

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
