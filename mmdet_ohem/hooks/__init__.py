from .exact_resume import ExactResumeHook
from .non_finite import (NonFiniteInputError, NonFiniteLossError,
                         NonFiniteLossHook)

__all__ = [
    'ExactResumeHook', 'NonFiniteInputError', 'NonFiniteLossError',
    'NonFiniteLossHook'
]
