"""Make mmengine checkpoints loadable with ``torch.load(weights_only=True)``.

Since torch 2.6 ``torch.load`` only unpickles allow-listed globals by
default. An mmengine checkpoint has two kinds of foreign objects in it:

* ``HistoryBuffer`` in ``message_hub``. Its ``__getstate__`` stores the
  class functions ``min``/``max``/``current``/``mean``, which pickle as
  ``builtins.getattr(HistoryBuffer, 'min')``; allowing ``getattr`` would let
  a file call any method of any allowed object, so instead a ``copyreg``
  reducer saves a buffer as ``HistoryBuffer(logs, counts, max_length)`` with
  plain Python numbers. Its statistics methods are class-level and restored
  on import, so nothing is lost. A checkpoint saved by a process that never
  imported this package (plain mmdet training) has those ``getattr`` calls:
  it loads too, once an inert dry run of its pickle
  (:func:`only_history_buffer_getattr`) has shown that every ``getattr`` in
  it is exactly ``getattr(HistoryBuffer, <one of its four statistics>)``;
  any other ``getattr`` is refused as before.
* numpy scalars and arrays, e.g. ``eta`` in ``message_hub.runtime_info``,
  which ``IterTimerHook`` computes from ``HistoryBuffer.mean()`` as
  ``np.float64``, or an ``np.int64`` or an array a user's hook puts in
  ``meta``. Converting these at save time would need a ``copyreg`` entry
  for numpy's types, which every pickle in the process uses (DataLoader
  workers, result collection). So the numpy globals that rebuild a
  *numeric* scalar or array are allow-listed instead: ``scalar(dtype,
  raw_bytes)``, ``_reconstruct(ndarray, shape, dtype)`` and ``dtype(...)``
  only construct numbers, and each numeric dtype's class (``Int64DType``,
  ...) must be allowed because the dtype's state is applied to an instance
  of it. Object, string and structured arrays stay refused: their dtype
  classes are not allowed, and an object array is how a file could smuggle
  arbitrary objects in.

Loading through mmengine (``load_from``, ``resume``, ``--checkpoint``) goes
through :func:`load_from_local_weights_only`, which keeps
``weights_only=True`` and explains a refusal. Files written by older code
are converted once, on explicit trust, by :func:`convert_trusted_checkpoint`
(``tools/trust_checkpoint.py``).
"""
import copy
import copyreg
import os.path as osp
import pickle
import shutil
import zipfile
from io import BytesIO

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from ..errors import UnsafeCheckpointError
from ..fileio import atomic_path
from ..models.pretrained import how_to_make

#: numpy dtypes whose scalars and arrays load with ``weights_only=True``
NUMERIC_DTYPES = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
                  np.uint16, np.uint32, np.uint64, np.float16, np.float32,
                  np.float64, np.complex64, np.complex128)
# What numeric scalars and arrays pickle as: ``multiarray.scalar``,
# ``multiarray._reconstruct``, ``ndarray`` and the dtypes' classes. Taken
# from objects because numpy 1.x and 2.x differ in the module paths.
SAFE_GLOBALS = [
    HistoryBuffer,
    np.dtype,
    np.ndarray,
    np.float64(0).__reduce__()[0],
    np.arange(1).__reduce__()[0],
] + [type(np.dtype(dtype)) for dtype in NUMERIC_DTYPES]

TRUST_COMMAND = 'mmdet-ohem trust_checkpoint {} OUT --trust'
#: What mmengine pickles as ``getattr(HistoryBuffer, name)``.
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _reduce_history_buffer(buffer):
    logs, counts = buffer.data
    return HistoryBuffer, (logs.tolist(), counts.tolist(), buffer.max_length)


def missing_checkpoint_message(filename: str) -> str:
    """Say that ``filename`` is missing and, if a config expects users to
    make it (converted ImageNet weights), how."""
    msg = f'checkpoint file {filename} does not exist'
    hint = how_to_make(filename)
    return f'{msg}. {hint}' if hint else f'{msg}.'


def load_from_local_weights_only(filename, map_location):
    """Load a local checkpoint with ``torch.load(weights_only=True)``.

    Replaces mmengine's ``load_from_local`` (scheme ``''``), whose bare
    ``torch.load`` fails with advice to turn the check off.

    Args:
        filename (str): Local checkpoint path.
        map_location (str | callable, optional): Same as :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: If ``filename`` does not exist.
        UnsafeCheckpointError: If the file needs globals that are not
            allowed.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(missing_checkpoint_message(filename))
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if only_history_buffer_getattr(filename):
            # saved by plain mmengine: its HistoryBuffers' statistics
            with torch.serialization.safe_globals([getattr]):
                return torch.load(
                    filename, map_location=map_location, weights_only=True)
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint {filename} with weights_only=True, '
            'because loading it could run arbitrary code: it needs '
            f'{_describe_refusal(filename, err)}. If you trust where the '
            'file came from, convert it once with: '
            f'{TRUST_COMMAND.format(filename)}') from err


class _Inert:
    """What every global of a pickle becomes in a dry run: constructs,
    takes state and items, does nothing."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        pass

    def __setitem__(self, key, value) -> None:
        pass

    def append(self, value) -> None:
        pass

    def extend(self, values) -> None:
        pass


class _HistoryBufferClass(_Inert):
    """Stands in for ``HistoryBuffer`` in a dry run."""


class _DryUnpickler(pickle.Unpickler):
    """Unpickles with an inert stand-in for every global, so nothing of the
    file runs; ``getattr`` is allowed only on ``HistoryBuffer`` for one of
    its statistics, anything else raises."""

    def find_class(self, module: str, name: str):
        # protocol 2 spells builtins Python 2's way
        if (module, name) in (('builtins', 'getattr'), ('__builtin__',
                                                        'getattr')):
            return _statistic_getattr
        if (module, name) == (HistoryBuffer.__module__, 'HistoryBuffer'):
            return _HistoryBufferClass
        return type(name, (_Inert, ), {})

    def persistent_load(self, pid):
        return None


def _statistic_getattr(obj, name):
    if obj is _HistoryBufferClass and name in HISTORY_BUFFER_STATISTICS:
        return _Inert()
    raise pickle.UnpicklingError(f'getattr({obj!r}, {name!r})')


def only_history_buffer_getattr(filename: str) -> bool:
    """Whether a checkpoint (torch's zip format) needs ``builtins.getattr``
    and calls it only as ``getattr(HistoryBuffer, name)`` for one of
    :data:`HISTORY_BUFFER_STATISTICS`, as mmengine's ``HistoryBuffer``
    pickles. Found by a dry run of the pickle in which every global is an
    inert stand-in: no code of the file runs."""
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except ValueError:  # legacy non-zip format, cannot be inspected
        return False
    if set(unsafe) != {'builtins.getattr'}:
        return False
    try:
        with zipfile.ZipFile(filename) as archive:
            (data, ) = [
                n for n in archive.namelist() if n.endswith('/data.pkl')
            ]
            _DryUnpickler(BytesIO(archive.read(data))).load()
    except Exception:  # any failure: not that shape, refused as before
        return False
    return True


def _describe_refusal(file, err):
    """Say what in ``file`` made ``torch.load`` raise ``err``."""
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(file)
    except ValueError:  # legacy non-zip format, cannot be inspected
        names = []
    if names:
        return 'globals that are not allow-listed: ' + ', '.join(sorted(names))
    # Types only created while unpickling are not listed, but torch's own
    # message names them; its advice to disable weights_only is dropped.
    detail = str(err).partition('WeightsUnpickler error:')[2].strip()
    return 'an object torch refuses: ' + (detail or str(err)).splitlines()[0]


def register_safe_checkpoints():
    """Register the reducer, the allowlist and the loader; idempotent."""
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    torch.serialization.add_safe_globals(SAFE_GLOBALS)
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_weights_only, force=True)


def _refusal(obj):
    """Return why ``weights_only=True`` refuses ``obj``, or None."""
    buffer = BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    try:
        torch.load(buffer, weights_only=True)
    except pickle.UnpicklingError as err:
        buffer.seek(0)
        return _describe_refusal(buffer, err)
    return None


def _find_refused(obj, reason, path=()):
    """Yield ``(key_path, reason)`` for the innermost refused items."""
    if isinstance(obj, dict):
        items = list(obj.items())
    elif isinstance(obj, (list, tuple)):
        items = list(enumerate(obj))
    else:
        items = []
    found = False
    for key, value in items:
        child_reason = _refusal(value)
        if child_reason:
            found = True
            yield from _find_refused(value, child_reason, path + (key, ))
    if not found:
        yield '/'.join(map(str, path)) or '<root>', reason


def convert_trusted_checkpoint(src, dst):
    """Re-save a checkpoint the user trusts so that it loads safely.

    Only call this on explicit user trust: ``src`` is loaded with
    ``weights_only=False``, which runs any code the file contains. Tensors
    are mapped to CPU so that any machine can convert.

    Args:
        src (str): Trusted checkpoint to convert.
        dst (str): Output path; written atomically, only on success.

    Raises:
        UnsafeCheckpointError: If the re-saved checkpoint still needs
            globals outside the allowlist; ``dst`` is left untouched.
    """
    register_safe_checkpoints()
    checkpoint = torch.load(src, map_location='cpu', weights_only=False)
    save_checkpoint_safely(plain_numpy(checkpoint), dst, source=src)


def plain_numpy(obj):
    """``obj`` with the numpy values ``weights_only=True`` refuses turned
    into Python ones: arrays of objects, strings or records into (nested)
    lists, such scalars into Python scalars. Numeric numpy values, which
    load safely, and everything else stay as they are; a container is
    copied (keeping its type and attributes) only where a value changed.
    """
    if isinstance(obj, (np.ndarray, np.generic)):
        if obj.dtype.type in NUMERIC_DTYPES:
            return obj
        return plain_numpy(obj.tolist())
    if isinstance(obj, dict):
        items = {key: plain_numpy(value) for key, value in obj.items()}
        if all(items[key] is value for key, value in obj.items()):
            return obj
        out = copy.copy(obj)
        out.update(items)
        return out
    if isinstance(obj, (list, tuple)):
        items = [plain_numpy(value) for value in obj]
        if all(new is old for new, old in zip(items, obj)):
            return obj
        if isinstance(obj, list):
            return items
        return type(obj)(*items) if hasattr(obj, '_fields') else tuple(items)
    return obj


def save_checkpoint_safely(checkpoint, dst, source=None):
    """Save a checkpoint that is sure to load with ``weights_only=True``.

    It is written to a temporary file beside ``dst``, loaded back with
    ``weights_only=True``, and only then renamed to ``dst``: no half-written
    or unloadable file is ever left at ``dst``.

    Args:
        checkpoint (dict): What to save.
        dst (str): Output path.
        source (str, optional): File it was converted from, for messages;
            ``dst`` gets its permissions.

    Raises:
        UnsafeCheckpointError: If the checkpoint needs globals outside the
            allowlist; ``dst`` is left untouched.
    """
    with atomic_path(dst) as tmp:
        torch.save(checkpoint, tmp)
        try:
            torch.load(tmp, weights_only=True)
        except pickle.UnpicklingError as err:
            where = '; '.join(f'{path} needs {reason}'
                              for path, reason in _find_refused(
                                  checkpoint, _describe_refusal(tmp, err)))
            raise UnsafeCheckpointError(
                f'Converted {source or "checkpoint"} still does not load '
                f'with weights_only=True ({where}); {dst} was not '
                'written.') from err
        if source is not None:
            shutil.copymode(source, tmp)
