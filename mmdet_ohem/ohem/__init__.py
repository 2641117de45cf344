"""OHEM itself, in the order of a training step of the RoI head:
``roi_head`` gathers the candidates, ``sampler`` mines them through the
``readonly`` pass and the ``selection`` functions, and the head trains on
the hard ones."""
from .candidates import CandidateRoIs
from .readonly import ReadOnlyPass
from .roi_head import OHEMRoIHead  # registers OHEMRoIHead in MODELS
from .sampler import OnlineHardExampleSampler  # registers it in TASK_UTILS
from .selection import per_roi_loss, select_hard_examples

__all__ = [
    'CandidateRoIs', 'OHEMRoIHead', 'OnlineHardExampleSampler', 'ReadOnlyPass',
    'per_roi_loss', 'select_hard_examples'
]
