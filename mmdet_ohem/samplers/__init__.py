from .ohem_sampler import (CandidateRoIs, NonFiniteRoILossError,
                           OnlineHardExampleSampler, roi_forward)

__all__ = [
    'CandidateRoIs', 'NonFiniteRoILossError', 'OnlineHardExampleSampler',
    'roi_forward'
]
