"""Training-loop pieces: hooks and safe checkpoint loading."""
from . import checkpoint  # noqa: F401  (weights_only loading for mmengine)
from .eval_curve_hook import EvalCurveHook  # registers in mmdet's HOOKS
from .exact_resume import ExactResumeHook  # registers in HOOKS
from .hard_example_hook import HardExampleHook  # registers in HOOKS
from .non_finite import NonFiniteLossHook  # registers in HOOKS

__all__ = [
    'EvalCurveHook', 'ExactResumeHook', 'HardExampleHook', 'NonFiniteLossHook'
]
