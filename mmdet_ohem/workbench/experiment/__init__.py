"""Running experiments, in one place: methods x seeds through ``mim train``
with test evaluations along each run (:class:`Experiment`, ``runs.py``),
their report (``report.py``), the presets this project publishes
(``presets.py``: ``make demo``, BCCD) and the paper's tables as a suite of
``mim train``/``mim test`` runs (``suite.py``)."""
from .report import (Curve, mean_curve, plot_curves, read_curve, summarize,
                     time_to_reach)
from .runs import (Experiment, config_path, experiment_config,
                   final_checkpoint, mim_path, scale_schedule)
from .suite import SuiteRun, mim_commands, plan_suite, run_suite

__all__ = [
    'Curve', 'Experiment', 'SuiteRun', 'config_path', 'experiment_config',
    'final_checkpoint', 'mean_curve', 'mim_commands', 'mim_path', 'plan_suite',
    'plot_curves', 'read_curve', 'run_suite', 'scale_schedule', 'summarize',
    'time_to_reach'
]
