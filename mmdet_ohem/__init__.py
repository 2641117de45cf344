"""Online Hard Example Mining for MMDetection 3.x.

Importing the package registers everything a config refers to by ``type=``.
"""
from . import analysis  # registers PerClassVOCMetric
from . import checkpoint  # lets torch>=2.6 load our checkpoints safely
from . import datasets  # registers ProposalVOCDataset, ProposalCocoDataset
from . import evaluation  # registers VOCSubmissionMetric
from . import hooks  # registers NonFiniteLossHook, ExactResumeHook
from . import models  # registers the VGG trunks and the dropout box head
from . import roi_heads  # registers OHEMRoIHead
from . import samplers  # registers OnlineHardExampleSampler
from . import visualization  # registers HardExampleHook
from .excepthook import report_without_traceback
from .selection import per_roi_loss, select_hard_examples
from .version import __version__

checkpoint.register_safe_checkpoints()
report_without_traceback(datasets.MissingDataError, datasets.DataFileError,
                         checkpoint.UnsafeCheckpointError)

__all__ = [
    '__version__', 'per_roi_loss', 'select_hard_examples', 'roi_heads',
    'samplers', 'checkpoint', 'hooks', 'datasets', 'evaluation', 'models',
    'analysis', 'visualization'
]
