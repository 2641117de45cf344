"""Training curves from mmengine's ``vis_data/scalars.json`` logs: the loss
of each run, and the hard-set statistics that OHEM logs."""
import os
import os.path as osp
from typing import Optional, Sequence, Tuple

# FRCN's heuristic sampler: fg:bg = 1:3
HEURISTIC_FG_FRACTION = 0.25


def _series(records: Sequence[dict], key: str):
    points = [(r['step'], r[key]) for r in records if key in r and 'step' in r]
    return [p[0] for p in points], [p[1] for p in points]


def plot_training_curves(runs: Sequence[Tuple[str, Sequence[dict]]],
                         out_file: str,
                         title: Optional[str] = None) -> str:
    """Plot three panels into a PNG: training loss of every run; the
    foreground share of the hard RoIs against that of all RoIs; the mean
    loss of the hard RoIs against that of all RoIs.

    Runs without OHEM statistics (baselines) appear in the loss panel
    only. Note that the losses of OHEM and of a baseline are means over
    different RoIs (the hard ones, or a 1:3 sample), so the loss panel
    compares trends, not levels.

    Args:
        runs (Sequence[tuple[str, Sequence[dict]]]): Label and records
            (:func:`~mmdet_ohem.workbench.results.read_scalars`) of each run.
        out_file (str): PNG to write; its folder is created.
        title (str, optional): Title of the figure.

    Returns:
        str: ``out_file``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax_loss, ax_fg, ax_hard = fig.subplots(1, 3)
    colours = [f'C{i}' for i in range(10)]
    with_stats = False
    for (label, records), colour in zip(runs, colours * len(runs)):
        ax_loss.plot(*_series(records, 'loss'), color=colour, label=label)
        steps, hard_fg = _series(records, 'ohem_hard_fg_frac')
        if not steps:
            continue
        with_stats = True
        ax_fg.plot(steps, hard_fg, color=colour, label=f'{label}: hard RoIs')
        ax_fg.plot(
            *_series(records, 'ohem_all_fg_frac'),
            color=colour,
            ls='--',
            label=f'{label}: all RoIs')
        ax_hard.plot(
            *_series(records, 'ohem_hard_loss'),
            color=colour,
            label=f'{label}: hard RoIs')
        ax_hard.plot(
            *_series(records, 'ohem_all_loss'),
            color=colour,
            ls='--',
            label=f'{label}: all RoIs')
    ax_loss.set(title='training loss', xlabel='iteration', ylabel='loss')
    ax_fg.set(title='foreground share', xlabel='iteration', ylabel='fraction')
    ax_hard.set(
        title='mean RoI loss (ranking loss)',
        xlabel='iteration',
        ylabel='loss')
    if with_stats:
        ax_fg.axhline(
            HEURISTIC_FG_FRACTION,
            color='grey',
            ls=':',
            label='FRCN heuristic (1:3)')
    else:
        for ax in (ax_fg, ax_hard):
            ax.text(
                0.5,
                0.5,
                'no OHEM statistics in these logs',
                ha='center',
                va='center',
                transform=ax.transAxes)
    for ax in (ax_loss, ax_fg, ax_hard):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file)
    return out_file
