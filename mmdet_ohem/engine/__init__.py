"""Training-loop pieces: hooks and safe checkpoint loading."""
from . import checkpoint  # noqa: F401  (weights_only loading for mmengine)
from .exact_resume import ExactResumeHook  # registers in mmdet's HOOKS
from .hard_example_hook import HardExampleHook  # registers in HOOKS
from .non_finite import NonFiniteLossHook  # registers in HOOKS

__all__ = ['ExactResumeHook', 'HardExampleHook', 'NonFiniteLossHook']
