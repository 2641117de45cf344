"""The errors this package raises for bad data, checkpoints or training
values, and the one place that reports them to a user.

Each error's message names the file, image, key or iteration at fault and
the fix, so an uncaught one is printed as ``Name: message`` without the
traceback from deep inside mmengine's runner
(:func:`report_without_traceback`, installed on import of the package;
``MMDET_OHEM_TRACEBACK=1`` restores the traceback). Other exceptions keep
Python's report.
"""
import os
import pickle
import sys
from typing import Optional, Sequence


class MissingDataError(FileNotFoundError):
    """A file or folder that the data needs does not exist.

    The message names each missing path, what it is and how to get it.
    """

    def __init__(self, message: str) -> None:
        # One argument, so that mmengine's registry can re-raise it with
        # the class name prepended.
        super().__init__(message)


class DataFileError(ValueError):
    """A data file exists but its content is unusable.

    The message names the file and, where it applies, the image.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)


class PipelineOrderError(ValueError):
    """A test pipeline hands the metric ground truth in another frame than
    the detections (it loads the annotations before resizing the image).

    The message names the dataset, the image, the pipeline and the fix.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs globals that ``weights_only=True`` refuses."""


class NonFiniteInputError(ValueError):
    """A training batch has non-finite pixels or boxes, or inverted GT."""


class NonFiniteLossError(FloatingPointError):
    """A training loss or gradient is NaN or infinite."""


class NonFiniteRoILossError(FloatingPointError):
    """A per-RoI loss of OHEM's read-only pass is NaN or infinite.

    Args:
        bad (dict[int, tuple[int, int]]): Batch index of each offending
            image -> (number of non-finite losses, number of RoIs).
        img_names (Sequence[str], optional): Names of the batch's images.
        iteration (int, optional): 0-based training iteration, if known.
    """

    def __init__(self,
                 bad: dict,
                 img_names: Optional[Sequence] = None,
                 iteration: Optional[int] = None):
        self.bad = bad
        self.img_names = img_names
        self.iteration = iteration
        # 1-based, as in the training log
        when = '' if iteration is None else f' at iteration {iteration + 1}'
        where = []
        for idx, (num_bad, num_rois) in bad.items():
            name = (f'image {img_names[idx]!r}'
                    if img_names else f'image {idx} of the batch')
            where.append(f'{name}: {num_bad} of {num_rois} RoIs')
        super().__init__(
            f'OHEM read-only pass produced non-finite RoI losses{when}, so '
            'no hard example can be chosen (' + '; '.join(where) + '). '
            'Check the learning rate, the input images and the proposals.')


#: Reported as their message alone when uncaught.
USER_ERRORS = (MissingDataError, DataFileError, PipelineOrderError,
               UnsafeCheckpointError)


def report_without_traceback(*error_types: type) -> None:
    """Print uncaught ``error_types`` as ``Name: message`` only."""
    if getattr(sys.excepthook, '_mmdet_ohem', False):
        return
    previous = sys.excepthook

    def excepthook(exc_type, exc, tb):
        if (issubclass(exc_type, error_types)
                and not os.environ.get('MMDET_OHEM_TRACEBACK')):
            print(
                f'\n{exc_type.__name__}: {exc}\n(MMDET_OHEM_TRACEBACK=1 '
                'shows the traceback)',
                file=sys.stderr)
        else:
            previous(exc_type, exc, tb)

    excepthook._mmdet_ohem = True
    sys.excepthook = excepthook
