"""Pictures of the RoIs that OHEM picks: every candidate faint, the hard
ones coloured by their loss, foreground solid and background dashed."""
from typing import List, Optional, Sequence

import numpy as np
import torch
from torch import nn

from ..fileio import atomic_path
from ..ohem.sampler import OnlineHardExampleSampler

CMAP = 'plasma'


def split_mined(records: Sequence[dict]) -> List[dict]:
    """Cut the sampler's records into one entry per image of the batch.

    Args:
        records (Sequence[dict]): What the sampler's ``recording()`` kept:
            one record per ``mine()`` call, for all images of a step
            (``OHEMRoIHead``) or for one image each (the drop-in sampler),
            in batch order.

    Returns:
        list[dict]: Per image, numpy ``rois`` (n, 4) every candidate RoI,
        ``losses`` (n, ), ``labels`` (n, ) and ``hard`` (n, ) bool.
    """
    images = []
    for rec in records:
        rois, losses, labels = (
            rec[key].detach().cpu() for key in ('rois', 'losses', 'labels'))
        hard = torch.zeros(len(rois), dtype=torch.bool)
        hard[rec['hard'].cpu()] = True
        for i in range(rec['num_imgs']):
            mine = rois[:, 0] == i
            images.append(
                dict(
                    rois=rois[mine, 1:].numpy(),
                    losses=losses[mine].float().numpy(),
                    labels=labels[mine].numpy(),
                    hard=hard[mine].numpy()))
    return images


def draw_hard_examples(images: Sequence[np.ndarray],
                       mined: Sequence[dict],
                       num_classes: int,
                       out_file: str,
                       gt_bboxes: Optional[Sequence[np.ndarray]] = None,
                       titles: Optional[Sequence[str]] = None,
                       suptitle: Optional[str] = None) -> str:
    """Draw the hard RoIs of some images into one PNG.

    mmdet's ``DetLocalVisualizer`` draws boxes in one colour per class; here
    the colour encodes a continuous loss that needs a colour bar, so the
    figure is drawn with matplotlib directly.

    Args:
        images (Sequence[np.ndarray]): uint8 (h, w, 3) RGB images, in the
            coordinates of the RoIs (i.e. as the network saw them).
        mined (Sequence[dict]): Per image, as :func:`split_mined` returns.
        num_classes (int): Label of background RoIs.
        out_file (str): PNG to write; its folder is created.
        gt_bboxes (Sequence[np.ndarray], optional): Per image, (g, 4)
            ground truth boxes, drawn dotted.
        titles (Sequence[str], optional): Per image.
        suptitle (str, optional): Title of the figure.

    Returns:
        str: ``out_file``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import PatchCollection
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    def rects(boxes):
        return [
            Rectangle((x1, y1), x2 - x1, y2 - y1) for x1, y1, x2, y2 in boxes
        ]

    num = len(images)
    cols = min(num, 2)
    rows = (num + cols - 1) // cols
    fig = Figure(figsize=(5 * cols + 1, 4.4 * rows), dpi=100)
    FigureCanvasAgg(fig)
    hard_losses = [m['losses'][m['hard']] for m in mined]
    vmax = max([float(x.max()) for x in hard_losses if len(x)] or [1.0])
    norm = Normalize(vmin=0, vmax=vmax)
    cmap = ScalarMappable(norm=norm, cmap=CMAP)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i, (ax, img, rec) in enumerate(zip(axes, images, mined)):
        ax.imshow(img)
        ax.add_collection(
            PatchCollection(
                rects(rec['rois']),
                facecolor='none',
                edgecolor='white',
                linewidth=0.5,
                alpha=0.15))
        # the hardest on top
        idx = np.flatnonzero(rec['hard'])
        idx = idx[np.argsort(rec['losses'][idx], kind='stable')]
        is_fg = rec['labels'][idx] < num_classes
        colours = cmap.to_rgba(rec['losses'][idx])
        for fg, style, width in ((False, '--', 1.0), (True, '-', 1.6)):
            sel = is_fg == fg
            ax.add_collection(
                PatchCollection(
                    rects(rec['rois'][idx[sel]]),
                    facecolor='none',
                    edgecolor=colours[sel],
                    linestyle=style,
                    linewidth=width))
        if gt_bboxes is not None:
            ax.add_collection(
                PatchCollection(
                    rects(gt_bboxes[i]),
                    facecolor='none',
                    edgecolor='lime',
                    linestyle=':',
                    linewidth=1.2))
        title = titles[i] if titles else f'image {i}'
        ax.set_title(
            f'{title}: {len(idx)} hard ({int(is_fg.sum())} fg) of '
            f'{len(rec["rois"])} RoIs',
            fontsize=9)
        ax.set_axis_off()
    for ax in axes[num:]:
        ax.set_axis_off()
    legend = [
        Line2D([], [], color='grey', alpha=0.5, lw=0.8, label='all RoIs'),
        Line2D([], [], color='k', lw=1.6, label='hard, foreground'),
        Line2D([], [], color='k', lw=1.0, ls='--', label='hard, background'),
    ]
    if gt_bboxes is not None:
        legend.append(
            Line2D([], [], color='lime', lw=1.2, ls=':', label='ground truth'))
    fig.legend(handles=legend, loc='lower center', ncol=len(legend))
    fig.colorbar(cmap, ax=list(axes), label='RoI loss', shrink=0.8)
    if suptitle:
        fig.suptitle(suptitle)
    with atomic_path(out_file) as tmp:
        fig.savefig(tmp, format='png')
    return out_file


def batch_images(data_batch: dict, channel_order: str = 'bgr') -> list:
    """The images of a collated batch as uint8 (h, w, 3) RGB arrays."""
    images = []
    for img in data_batch['inputs']:
        img = img.detach().cpu().permute(1, 2, 0).numpy()
        if channel_order == 'bgr':
            img = img[..., ::-1]
        images.append(np.ascontiguousarray(img.clip(0, 255).astype(np.uint8)))
    return images


def find_ohem_sampler(model: nn.Module) -> OnlineHardExampleSampler:
    """The ``OnlineHardExampleSampler`` of a detector's RoI head.

    Raises:
        TypeError: The model trains with another sampler, or none.
    """
    sampler = getattr(getattr(model, 'roi_head', None), 'bbox_sampler', None)
    if not isinstance(sampler, OnlineHardExampleSampler):
        raise TypeError(
            'Hard examples are the RoIs that OnlineHardExampleSampler picks, '
            'but this model\'s roi_head.bbox_sampler is '
            f'{type(sampler).__name__}; use an OHEM config')
    return sampler
