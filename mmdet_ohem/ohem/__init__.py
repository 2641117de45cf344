"""OHEM itself, in the order of a training step of the RoI head:
``roi_head`` gathers the candidates, ``sampler`` mines them through the
``readonly`` pass (through the head's ``branch``) and the ``selection``
functions, and the head trains on the hard ones; ``cascade`` does so at
every stage of Cascade R-CNN."""
from .branch import BoxBranch
from .candidates import CandidateRoIs
from .cascade import OHEMCascadeRoIHead  # registers it in MODELS
from .readonly import ReadOnlyPass
from .roi_head import OHEMRoIHead  # registers OHEMRoIHead in MODELS
from .sampler import OnlineHardExampleSampler  # registers it in TASK_UTILS
from .selection import per_roi_loss, select_hard_examples

__all__ = [
    'BoxBranch', 'CandidateRoIs', 'OHEMCascadeRoIHead', 'OHEMRoIHead',
    'OnlineHardExampleSampler', 'ReadOnlyPass', 'per_roi_loss',
    'select_hard_examples'
]
