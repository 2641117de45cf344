"""Online Hard Example Mining for MMDetection 3.x.

Importing the package (what ``custom_imports`` does in every training
process) registers everything a config refers to by ``type=`` and loads
nothing else: the tools' libraries live in :mod:`mmdet_ohem.workbench`.

Two things are process-wide, because ``mim test`` and ``mim train`` give a
config no other hook into them:

- checkpoints load with ``torch.load(weights_only=True)`` through
  mmengine's loaders, with mmengine's own objects allow-listed
  (:func:`mmdet_ohem.engine.checkpoint.register_safe_checkpoints`);
- the errors in :data:`mmdet_ohem.errors.USER_ERRORS`, whose messages name
  the file at fault and the fix, are printed without a traceback when
  uncaught (:func:`mmdet_ohem.errors.report_without_traceback`).
"""
from . import datasets  # registers ProposalVOCDataset, ProposalCocoDataset
from . import engine  # registers the hooks; safe checkpoint loading
from . import evaluation  # registers PerClassVOCMetric, VOCSubmissionMetric
from . import models  # registers the VGG trunks and the dropout box head
from . import ohem  # registers the OHEM heads and OnlineHardExampleSampler
from .engine.checkpoint import register_safe_checkpoints
from .errors import USER_ERRORS, report_without_traceback
from .ohem import per_roi_loss, select_hard_examples
from .version import __version__

register_safe_checkpoints()
report_without_traceback(*USER_ERRORS)

__all__ = [
    '__version__', 'datasets', 'engine', 'evaluation', 'models', 'ohem',
    'per_roi_loss', 'select_hard_examples'
]
