"""Results of runs: per-class VOC AP as a metric, tables against the
paper's numbers, training curves, and suites of runs."""
from .curves import plot_training_curves
from .results import (RunResult, class_ap_table, config_stem, load_manifest,
                      manifest_tables, method_table, read_run, read_scalars)
from .suite import SuiteRun, final_checkpoint, mim_commands, plan_suite
from .voc_metric import PerClassVOCMetric

__all__ = [
    'PerClassVOCMetric', 'RunResult', 'SuiteRun', 'class_ap_table',
    'config_stem', 'final_checkpoint', 'load_manifest', 'manifest_tables',
    'method_table', 'mim_commands', 'plan_suite', 'plot_training_curves',
    'read_run', 'read_scalars'
]
