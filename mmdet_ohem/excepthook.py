"""Report our self-explaining errors as their message, not a traceback.

A missing dataset or proposal file, a corrupt data file or a refused
checkpoint surfaces from deep inside mmengine's runner; its message already
says what is wrong and how to fix it, so the traceback only hides it. Other
exceptions keep Python's report; ``MMDET_OHEM_TRACEBACK=1`` restores it for
ours too.
"""
import os
import sys

_USER_ERRORS = []


def report_without_traceback(*error_types: type) -> None:
    """Print uncaught ``error_types`` as ``Name: message`` only."""
    _USER_ERRORS.extend(error_types)
    if getattr(sys.excepthook, '_mmdet_ohem', False):
        return
    previous = sys.excepthook

    def excepthook(exc_type, exc, tb):
        if (issubclass(exc_type, tuple(_USER_ERRORS))
                and not os.environ.get('MMDET_OHEM_TRACEBACK')):
            print(
                f'\n{exc_type.__name__}: {exc}\n(MMDET_OHEM_TRACEBACK=1 '
                'shows the traceback)',
                file=sys.stderr)
        else:
            previous(exc_type, exc, tb)

    excepthook._mmdet_ohem = True
    sys.excepthook = excepthook
