"""Proposal files: formats, reading, writing and validation.

Two formats, chosen by the file's extension:

- ``.pkl`` / ``.pickle``: mmdet's format, a pickled dict that maps each
  image's key to ``dict(bboxes=(n, 4), scores=(n,))`` (or an
  ``InstanceData`` with those fields, as mmdet's ``DumpProposals`` writes).
  Unpickling runs whatever code the file names: only load pickles you made
  or trust.
- ``.npz``: ours, plain arrays and no pickle. Its members are

  - ``keys``: (N,) str, the image keys;
  - ``offsets``: (N + 1,) int64, image ``i`` owns rows
    ``offsets[i]:offsets[i + 1]``;
  - ``bboxes``: (M, 4) float32 ``(x1, y1, x2, y2)``;
  - ``scores``: (M,) float32.

  The members are stored uncompressed, so ``bboxes`` and ``scores`` are
  memory-mapped straight from the file: a dataset reads one image's rows
  when it needs them, and no process holds the whole set in memory.

An image's key is ``'<image folder>/<file name>'`` of its path, e.g.
``'JPEGImages/000001.jpg'`` or ``'train2017/000000000009.jpg'``, as mmdet's
``BaseDetDataset.load_proposals`` looks them up. Within an image, boxes are
in rank order (best first): ``LoadProposals(num_max_proposals=k)`` keeps
the first ``k``.
"""
import ctypes
import itertools
import logging
import os
import os.path as osp
import pickle
import shutil
import struct
import tempfile
import zipfile
from contextlib import contextmanager
from typing import (Dict, Iterable, Iterator, Mapping, Optional, Sequence,
                    Tuple, Union)

import numpy as np
from mmengine.logging import print_log
from mmengine.utils import is_abs

PICKLE_EXTS = ('.pkl', '.pickle')
NPZ_EXT = '.npz'
# Members of the npz format, in the order they are written.
_NPZ_MEMBERS = ('bboxes', 'scores', 'keys', 'offsets')
_ZIP_LOCAL_HEADER = struct.Struct('<4s5H3I2H')
_COPY_BLOCK = 16 << 20


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


def proposal_key(img_path: str) -> str:
    """Return the key of an image in a proposal file, as mmdet forms it.

    Args:
        img_path (str): Path of the image, e.g.
            ``'data/VOCdevkit/VOC2007/JPEGImages/000001.jpg'``.

    Returns:
        str: ``'<image folder>/<file name>'``, e.g.
        ``'JPEGImages/000001.jpg'``.
    """
    folder, name = osp.split(img_path)
    return osp.join(osp.basename(folder), name)


def proposal_file_name(method: str,
                       dataset: str,
                       year: str,
                       split: str,
                       ext: str = NPZ_EXT) -> str:
    """Return our name of a proposal file, e.g.
    ``'selective_search_voc_2007_trainval.npz'``."""
    return f'{method}_{dataset}_{year}_{split}{ext}'


def check_boxes(bboxes, scores, where: str) -> Tuple[np.ndarray, np.ndarray]:
    """Check one image's proposals and return them as float32 arrays.

    Args:
        bboxes (array-like): (n, 4) ``(x1, y1, x2, y2)``.
        scores (array-like, optional): (n,); None gives zeros.
        where (str): The file and image, for error messages.

    Returns:
        tuple[np.ndarray, np.ndarray]: float32 (n, 4) boxes and (n,)
        scores.

    Raises:
        DataFileError: The shape is not (n, 4), a coordinate is not finite
            or a box is inverted (x2 < x1 or y2 < y1).
    """
    bboxes = np.asarray(bboxes)
    if bboxes.size == 0:
        # MATLAB and some writers store an empty set as (0,) or (0, 0).
        bboxes = bboxes.reshape(0, 4)
    if bboxes.ndim != 2 or bboxes.shape[1] != 4:
        raise DataFileError(
            f'{where}: boxes have shape {bboxes.shape}, expected (n, 4) '
            '(x1, y1, x2, y2). A fifth column (e.g. a score) belongs in '
            '`scores`.')
    if not np.issubdtype(bboxes.dtype, np.number):
        raise DataFileError(f'{where}: boxes are of type {bboxes.dtype}, '
                            'expected numbers.')
    bboxes = bboxes.astype(np.float32, copy=False)
    if scores is None:
        scores = np.zeros(len(bboxes), np.float32)
    scores = np.asarray(scores).astype(np.float32, copy=False).reshape(-1)
    if len(scores) != len(bboxes):
        raise DataFileError(f'{where}: {len(bboxes)} boxes but '
                            f'{len(scores)} scores.')
    _check_values(bboxes, where, first_row=0)
    return bboxes, scores


def _check_values(bboxes: np.ndarray, where: str, first_row: int) -> None:
    """Raise DataFileError naming the first non-finite or inverted box."""
    bad = ~np.isfinite(bboxes).all(1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataFileError(
            f'{where}: box {first_row + row} is {bboxes[row].tolist()}, not '
            f'finite ({int(bad.sum())} such boxes).')
    bad = (bboxes[:, 2] < bboxes[:, 0]) | (bboxes[:, 3] < bboxes[:, 1])
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataFileError(
            f'{where}: box {first_row + row} is {bboxes[row].tolist()}, '
            f'inverted: x2 < x1 or y2 < y1 ({int(bad.sum())} such boxes). '
            'Expected (x1, y1, x2, y2); legacy files store (y1, x1, y2, '
            'x2): convert them with tools/convert_ss_mat.py.')


class ProposalTable:
    """All proposals of a file, packed: boxes of image ``i`` are rows
    ``offsets[i]:offsets[i + 1]`` of ``bboxes`` and ``scores``.

    Built by :func:`open_proposals`. A table read from an npz file maps
    its arrays lazily, per process, and pickles without them, so that a
    dataloader worker re-maps the file instead of receiving a copy.

    Attributes:
        path (str): The file it was read from.
        keys (np.ndarray): (N,) str image keys.
        offsets (np.ndarray): (N + 1,) int64 row offsets.
        num_file_keys (int): Images in the file, N or more when only some
            were kept.
        example_keys (list[str]): A few keys of the file, for messages.
    """

    def __init__(
        self,
        path: str,
        keys: np.ndarray,
        offsets: np.ndarray,
        bboxes: Optional[np.ndarray] = None,
        scores: Optional[np.ndarray] = None,
        num_file_keys: Optional[int] = None,
        example_keys: Sequence[str] = ()
    ) -> None:
        self.path = path
        self.keys = keys
        self.offsets = offsets
        self.num_file_keys = (
            len(keys) if num_file_keys is None else num_file_keys)
        self.example_keys = list(example_keys) or keys[:3].tolist()
        # None: mapped from `path` on first use (npz format).
        self._bboxes = bboxes
        self._scores = scores
        self._mapped = bboxes is None

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def bboxes(self) -> np.ndarray:
        """(M, 4) float32 boxes of all images."""
        if self._bboxes is None:
            self._bboxes = _npz_memmap(self.path, 'bboxes')
        return self._bboxes

    @property
    def scores(self) -> np.ndarray:
        """(M,) float32 scores of all images."""
        if self._scores is None:
            self._scores = _npz_memmap(self.path, 'scores')
        return self._scores

    def __getitem__(self, i: int) -> Tuple[np.ndarray, np.ndarray]:
        """Return copies of image ``i``'s boxes (n, 4) and scores (n,)."""
        start, end = self.offsets[i], self.offsets[i + 1]
        return (np.array(self.bboxes[start:end], np.float32),
                np.array(self.scores[start:end], np.float32))

    def drop_mapping(self) -> None:
        """Unmap the arrays of an npz table; they are re-mapped on use."""
        if self._mapped:
            self._bboxes = self._scores = None

    def __deepcopy__(self, memo: dict) -> 'ProposalTable':
        # Read-only: copies of a dataset (mmengine's get_subset) share it.
        return self

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        if self._mapped:
            state['_bboxes'] = state['_scores'] = None
        return state


def open_proposals(path: str,
                   wanted: Optional[Iterable[str]] = None) -> ProposalTable:
    """Read a proposal file into a :class:`ProposalTable`.

    An npz file is checked for consistency and mapped, not read. A pickle
    is read whole; with ``wanted``, only the images named there are kept
    (and checked), so that a file made for a larger set costs no memory
    for the rest.

    Args:
        path (str): A ``.pkl``/``.pickle`` or ``.npz`` file.
        wanted (Iterable[str], optional): Keys to keep from a pickle.

    Returns:
        ProposalTable: The proposals.

    Raises:
        MissingDataError: ``path`` does not exist.
        DataFileError: The file is truncated or corrupt, of an unknown
            extension, or holds boxes of a wrong shape, non-finite or
            inverted boxes.
    """
    if not osp.isfile(path):
        raise MissingDataError(f'Proposal file {path} does not exist.')
    if path.endswith(NPZ_EXT):
        return _open_npz(path)
    if path.endswith(PICKLE_EXTS):
        table = _table_from_mapping(path, load_pickle(path), wanted)
        _return_freed_memory()
        return table
    raise DataFileError(
        f'{path}: unknown proposal format; expected a file ending in '
        f'{", ".join(PICKLE_EXTS + (NPZ_EXT, ))}.')


def _return_freed_memory() -> None:
    """Hand the heap freed by unpickling back to the OS.

    glibc keeps it otherwise: the process, and every dataloader worker
    forked from it, would go on counting an unused copy of the proposals.
    """
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to do


def load_pickle(path: str) -> dict:
    """Unpickle an mmdet proposal file and check that it is a dict."""
    try:
        with open(path, 'rb') as f:
            data = pickle.load(f)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError,
            IndexError, TypeError, ValueError) as e:
        raise DataFileError(
            f'{path}: cannot unpickle it ({type(e).__name__}: {e}); the file '
            'is truncated or corrupt. Make it again.') from e
    if not isinstance(data, Mapping):
        raise DataFileError(
            f'{path}: holds a {type(data).__name__}, expected a dict that '
            "maps image keys ('<image folder>/<file name>') to proposals.")
    return data


def _entry_arrays(path: str, key: str, entry) -> Tuple[np.ndarray, np.ndarray]:
    """Return the checked arrays of one value of an mmdet pickle."""
    where = f'{path}, image {key!r}'
    if isinstance(entry, np.ndarray):
        return check_boxes(entry, None, where)
    try:
        bboxes = entry['bboxes']
    except (KeyError, TypeError, IndexError) as e:
        raise DataFileError(
            f'{where}: entry of type {type(entry).__name__} has no '
            "'bboxes'.") from e
    scores = entry['scores'] if 'scores' in entry else None
    # `InstanceData` (mmdet's DumpProposals) may hold tensors.
    if hasattr(bboxes, 'numpy'):
        bboxes = bboxes.detach().cpu().numpy()
    if hasattr(scores, 'numpy'):
        scores = scores.detach().cpu().numpy()
    return check_boxes(bboxes, scores, where)


def _table_from_mapping(path: str, data: dict,
                        wanted: Optional[Iterable[str]]) -> ProposalTable:
    """Pack the entries of ``data`` (emptied on the way) into a table."""
    num_file_keys = len(data)
    example_keys = [str(key) for key in itertools.islice(data, 3)]
    if wanted is None:
        keys = list(data)
    else:
        keys = [key for key in dict.fromkeys(wanted) if key in data]
    counts = np.zeros(len(keys), np.int64)
    for i, key in enumerate(keys):
        data[key] = _entry_arrays(path, key, data[key])
        counts[i] = len(data[key][0])
    offsets = np.zeros(len(keys) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    bboxes = np.empty((offsets[-1], 4), np.float32)
    scores = np.empty(offsets[-1], np.float32)
    # Entries are freed as they are copied: the peak stays near one copy.
    for i, key in enumerate(keys):
        bboxes[offsets[i]:offsets[i + 1]], scores[
            offsets[i]:offsets[i + 1]] = data.pop(key)
    data.clear()
    return ProposalTable(
        path,
        np.array(keys, dtype=str).reshape(-1),
        offsets,
        bboxes=bboxes,
        scores=scores,
        num_file_keys=num_file_keys,
        example_keys=example_keys)


def _npz_member_layout(path: str, zf: zipfile.ZipFile,
                       name: str) -> Tuple[tuple, np.dtype, int]:
    """Return shape, dtype and file offset of the data of an npz member."""
    try:
        info = zf.getinfo(f'{name}.npy')
    except KeyError:
        raise DataFileError(
            f'{path}: has no member {name!r}; members are '
            f'{sorted(n[:-4] for n in zf.namelist())}, expected '
            f'{list(_NPZ_MEMBERS)}. Is it a proposal file made by this '
            'package?') from None
    if info.compress_type != zipfile.ZIP_STORED:
        raise DataFileError(
            f'{path}: member {name!r} is compressed and cannot be '
            'memory-mapped; write it with mmdet_ohem.datasets.proposals.'
            'save_proposals (or numpy.savez, not savez_compressed).')
    with open(path, 'rb') as f:
        f.seek(info.header_offset)
        header = f.read(_ZIP_LOCAL_HEADER.size)
        if len(header) < _ZIP_LOCAL_HEADER.size:
            raise DataFileError(f'{path}: truncated (member {name!r}).')
        fields = _ZIP_LOCAL_HEADER.unpack(header)
        f.seek(info.header_offset + _ZIP_LOCAL_HEADER.size + fields[-2] +
               fields[-1])
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        except ValueError as e:
            raise DataFileError(
                f'{path}: member {name!r} is not a numpy array ({e}).') from e
        offset = f.tell()
    if dtype.hasobject or fortran:
        raise DataFileError(f'{path}: member {name!r} holds objects or is '
                            'Fortran-ordered; expected plain arrays.')
    if offset + dtype.itemsize * int(np.prod(shape)) > osp.getsize(path):
        raise DataFileError(f'{path}: truncated (member {name!r} ends past '
                            'the end of the file).')
    return shape, dtype, offset


def _npz_memmap(path: str, name: str) -> np.ndarray:
    with _open_zip(path) as zf:
        shape, dtype, offset = _npz_member_layout(path, zf, name)
    if int(np.prod(shape)) == 0:
        return np.zeros(shape, dtype)
    return np.memmap(path, dtype, 'r', offset=offset, shape=shape)


@contextmanager
def _open_zip(path: str) -> Iterator[zipfile.ZipFile]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DataFileError(
            f'{path}: not a readable npz file ({e}); it is truncated or '
            'corrupt. Make it again.') from e
    with zf:
        yield zf


def _open_npz(path: str) -> ProposalTable:
    with _open_zip(path) as zf:
        layouts = {
            name: _npz_member_layout(path, zf, name)
            for name in _NPZ_MEMBERS
        }
        try:
            keys = np.lib.format.read_array(
                zf.open('keys.npy'), allow_pickle=False)
            offsets = np.lib.format.read_array(
                zf.open('offsets.npy'), allow_pickle=False)
        except (ValueError, zipfile.BadZipFile, OSError) as e:
            raise DataFileError(
                f'{path}: cannot read its keys or offsets ({e}).') from e
    (num_boxes, *box_dims), box_dtype, _ = layouts['bboxes']
    score_shape = layouts['scores'][0]
    problem = None
    if keys.ndim != 1 or keys.dtype.kind != 'U':
        problem = f'keys: {keys.dtype} {keys.shape}, expected (N,) str'
    elif box_dims != [4]:
        problem = (f'bboxes: shape {layouts["bboxes"][0]}, expected '
                   '(M, 4) (x1, y1, x2, y2)')
    elif box_dtype.kind != 'f' or layouts['scores'][1].kind != 'f':
        problem = 'bboxes and scores must be floating point'
    elif score_shape != (num_boxes, ):
        problem = (f'scores: shape {score_shape}, expected ({num_boxes},) '
                   'like bboxes')
    elif (offsets.shape != (len(keys) + 1, ) or offsets.dtype.kind not in 'iu'
          or offsets[0] != 0 or offsets[-1] != num_boxes
          or (np.diff(offsets) < 0).any()):
        problem = (f'offsets: expected {len(keys) + 1} non-decreasing '
                   f'integers from 0 to {num_boxes}')
    if problem is not None:
        raise DataFileError(f'{path}: {problem}.')
    return ProposalTable(path, keys, offsets.astype(np.int64))


def load_proposals(path: str) -> Dict[str, dict]:
    """Read a whole proposal file as mmdet's dict format.

    Meant for tools and small files; datasets use :func:`open_proposals`.

    Returns:
        dict[str, dict]: Key to ``dict(bboxes=float32 (n, 4),
        scores=float32 (n,))``, in file order.
    """
    table = open_proposals(path)
    result = {}
    for i, key in enumerate(table.keys.tolist()):
        bboxes, scores = table[i]
        if table._mapped:
            _check_values(bboxes, f'{path}, image {key!r}', 0)
        result[key] = dict(bboxes=bboxes, scores=scores)
    table.drop_mapping()
    return result


def save_proposals(
    path: str, proposals: Union[Mapping[str, Mapping],
                                Iterable[Tuple[str, Mapping]]]
) -> None:
    """Write proposals atomically, in the format ``path``'s extension
    names.

    Every image is checked (shape, finite, not inverted); the file
    appears complete or not at all. ``proposals`` is read once, one image
    at a time, so it may be a generator reading files on disk; an npz is
    written without holding all boxes in memory.

    Args:
        path (str): Output ``.npz``, ``.pkl`` or ``.pickle`` file.
        proposals (Mapping | Iterable): Image key to
            ``dict(bboxes=(n, 4), scores=(n,))`` (boxes best first), or
            ``(key, dict)`` pairs.

    Raises:
        DataFileError: An entry is unusable, or the extension unknown.
    """
    if not path.endswith(PICKLE_EXTS + (NPZ_EXT, )):
        raise DataFileError(
            f'{path}: unknown proposal format; name it *.npz (ours, no '
            'pickle) or *.pkl (mmdet).')
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if isinstance(proposals, Mapping):
        proposals = proposals.items()
    fd, tmp_path = tempfile.mkstemp(
        prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            if path.endswith(NPZ_EXT):
                _write_npz(f, proposals, folder, where=path)
            else:
                data = {}
                for key, entry in proposals:
                    bboxes, scores = _entry_arrays(path, key, entry)
                    data[key] = dict(bboxes=bboxes, scores=scores)
                pickle.dump(data, f, protocol=4)
        os.replace(tmp_path, path)
    finally:
        if osp.exists(tmp_path):
            os.remove(tmp_path)


def _write_npz(f, proposals: Iterable[Tuple[str, Mapping]], folder: str,
               where: str) -> None:
    """Stream ``proposals`` into an npz written to the open file ``f``.

    Boxes and scores are spooled to temporary files in ``folder`` in one
    pass, then copied into the zip behind their npy headers.
    """
    keys, counts = [], []
    with tempfile.TemporaryFile(dir=folder) as box_spool, \
            tempfile.TemporaryFile(dir=folder) as score_spool:
        for key, entry in proposals:
            bboxes, scores = _entry_arrays(where, key, entry)
            box_spool.write(bboxes.tobytes())
            score_spool.write(scores.tobytes())
            keys.append(key)
            counts.append(len(bboxes))
        num_boxes = int(sum(counts))
        offsets = np.zeros(len(keys) + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        with zipfile.ZipFile(
                f, 'w', zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, shape, spool in (('bboxes', (num_boxes, 4), box_spool),
                                       ('scores', (num_boxes, ), score_spool)):
                spool.seek(0)
                with zf.open(f'{name}.npy', 'w', force_zip64=True) as out:
                    np.lib.format.write_array_header_2_0(
                        out,
                        dict(
                            descr=np.lib.format.dtype_to_descr(
                                np.dtype(np.float32)),
                            fortran_order=False,
                            shape=shape))
                    shutil.copyfileobj(spool, out, _COPY_BLOCK)
            for name, array in (('keys', np.array(keys,
                                                  dtype=str).reshape(-1)),
                                ('offsets', offsets)):
                with zf.open(f'{name}.npy', 'w', force_zip64=True) as out:
                    np.lib.format.write_array(out, array, allow_pickle=False)


def clip_and_filter(bboxes: np.ndarray, scores: np.ndarray, width: float,
                    height: float, min_size: float,
                    max_num: Optional[int]) -> Tuple[np.ndarray, np.ndarray]:
    """Clip boxes to the image, drop the degenerate ones, keep the first
    ``max_num``.

    Args:
        bboxes (np.ndarray): float32 (n, 4), finite, not inverted.
        scores (np.ndarray): float32 (n,).
        width (float): Image width; x is clipped to ``[0, width]``.
        height (float): Image height; y is clipped to ``[0, height]``.
        min_size (float): Boxes narrower or lower than this after
            clipping (``x2 - x1`` or ``y2 - y1``) are dropped.
        max_num (int, optional): Keep at most this many of the remaining
            boxes, the first ones.

    Returns:
        tuple[np.ndarray, np.ndarray]: The kept boxes (k, 4) and scores
        (k,), in input order.
    """
    bboxes = bboxes.copy()
    bboxes[:, 0::2] = bboxes[:, 0::2].clip(0, width)
    bboxes[:, 1::2] = bboxes[:, 1::2].clip(0, height)
    keep = ((bboxes[:, 2] - bboxes[:, 0] >= min_size) &
            (bboxes[:, 3] - bboxes[:, 1] >= min_size))
    bboxes, scores = bboxes[keep], scores[keep]
    if max_num is not None:
        bboxes, scores = bboxes[:max_num], scores[:max_num]
    return bboxes, scores


def scan_proposals(table: ProposalTable,
                   rows: Sequence[int],
                   widths: Sequence[float],
                   heights: Sequence[float],
                   min_size: float,
                   max_num: Optional[int],
                   block_rows: int = 1 << 22) -> Dict[str, int]:
    """Check the proposals of some images and count what loading drops.

    Reads the table in blocks of about ``block_rows`` boxes, so that a
    memory-mapped table is never read whole into memory.

    Args:
        table (ProposalTable): The proposals.
        rows (Sequence[int]): Table row of each image to check.
        widths (Sequence[float]): Width of each image.
        heights (Sequence[float]): Height of each image.
        min_size (float): As in :func:`clip_and_filter`.
        max_num (int, optional): As in :func:`clip_and_filter`.
        block_rows (int): Boxes read at a time.

    Returns:
        dict[str, int]: ``boxes`` (all boxes of these images), ``clipped``
        (boxes reaching out of their image), ``degenerate`` (dropped
        after clipping) and ``capped`` (dropped by ``max_num``).

    Raises:
        DataFileError: Naming the file and the image of the first
            non-finite or inverted box.
    """
    stats = dict(boxes=0, clipped=0, degenerate=0, capped=0)
    rows = np.asarray(rows, np.int64)
    starts, ends = table.offsets[rows], table.offsets[rows + 1]
    counts = ends - starts
    widths = np.asarray(widths, np.float32)
    heights = np.asarray(heights, np.float32)
    # Images in file order, so that blocks read the file front to back.
    order = np.argsort(starts, kind='stable')
    begin = 0
    while begin < len(order):
        end = begin + 1
        total = counts[order[begin]]
        while end < len(order) and total + counts[order[end]] <= block_rows:
            total += counts[order[end]]
            end += 1
        block = order[begin:end]
        bboxes = np.concatenate([
            table.bboxes[starts[i]:ends[i]] for i in block
        ]).astype(np.float32).reshape(-1, 4)
        image = np.repeat(np.arange(len(block)), counts[block])
        try:
            _check_values(bboxes, table.path, 0)
        except DataFileError:
            for i in block:
                _check_values(
                    np.asarray(table.bboxes[starts[i]:ends[i]], np.float32),
                    f'{table.path}, image {str(table.keys[rows[i]])!r}', 0)
            raise
        w = widths[block][image]
        h = heights[block][image]
        stats['boxes'] += len(bboxes)
        stats['clipped'] += int(
            ((bboxes[:, 0] < 0) | (bboxes[:, 1] < 0) | (bboxes[:, 2] > w) |
             (bboxes[:, 3] > h)).sum())
        x1, x2 = bboxes[:, 0].clip(0, w), bboxes[:, 2].clip(0, w)
        y1, y2 = bboxes[:, 1].clip(0, h), bboxes[:, 3].clip(0, h)
        keep = (x2 - x1 >= min_size) & (y2 - y1 >= min_size)
        stats['degenerate'] += int((~keep).sum())
        if max_num is not None:
            kept = np.bincount(image, weights=keep, minlength=len(block))
            stats['capped'] += int(np.maximum(kept - max_num, 0).sum())
        begin = end
    return stats


class ProposalDatasetMixin:
    """Lean, checked proposal loading for mmdet's detection datasets.

    Put it before an mmdet dataset class. It replaces
    ``BaseDetDataset.load_proposals``: a proposal file may cover more
    images than the split; images without proposals raise an error naming
    them, or are skipped and logged; boxes are checked, clipped to the
    image, freed of degenerate ones and capped per image. The data list
    (and mmengine's serialized copy of it, shared by dataloader workers)
    holds only each image's row in the file; ``get_data_info`` attaches
    ``proposals = dict(bboxes=float32 (n, 4), scores=float32 (n,))`` per
    sample, as mmdet's ``LoadProposals`` expects. An npz file is
    memory-mapped, a pickle packed into two arrays.

    Every path the dataset needs is checked when it is built; what is
    missing raises one :class:`MissingDataError`.

    Args:
        missing_proposals (str): ``'error'`` (default) raises if an image
            of the split has no proposals; ``'skip'`` drops such images
            from the dataset and logs how many and which.
        max_proposals (int, optional): Keep at most this many proposals
            per image, the first (best-ranked) ones. Defaults to None.
        min_proposal_size (float): Drop proposals narrower or lower than
            this after clipping. Defaults to 1.
    """
    # Images named in a log message, at most.
    _MAX_NAMES = 100

    def __init__(self,
                 *args,
                 missing_proposals: str = 'error',
                 max_proposals: Optional[int] = None,
                 min_proposal_size: float = 1,
                 **kwargs) -> None:
        if missing_proposals not in ('error', 'skip'):
            raise ValueError("missing_proposals must be 'error' or 'skip', "
                             f'not {missing_proposals!r}.')
        if max_proposals is not None and max_proposals < 1:
            raise ValueError(f'max_proposals must be positive or None, not '
                             f'{max_proposals}.')
        self.missing_proposals = missing_proposals
        self.max_proposals = max_proposals
        self.min_proposal_size = min_proposal_size
        self.proposal_stats: Dict[str, int] = {}
        self._proposal_table: Optional[ProposalTable] = None
        super().__init__(*args, **kwargs)

    def _data_paths(self) -> list:
        """Return ``(kind, path, what, how)`` of each file (``kind``
        'file') or folder ('dir') the annotations need; ``how`` tells how
        to get it."""
        raise NotImplementedError

    def _proposal_hint(self) -> str:
        """Return how to make the proposal file, for messages."""
        raise NotImplementedError

    def _join_prefix(self) -> None:
        super()._join_prefix()
        if self.proposal_file and not is_abs(self.proposal_file):
            self.proposal_file = osp.join(self.data_root, self.proposal_file)
        # Fail before any slow work, once, for everything that is missing.
        if self.backend_args is None:
            self._check_data_exists()

    def _check_data_exists(self) -> None:
        needed = self._data_paths()
        if self.proposal_file:
            needed.append(('file', self.proposal_file, 'proposal file',
                           self._proposal_hint()))
        missing = [
            (path, what, how) for kind, path, what, how in needed
            if not (osp.isfile(path) if kind == 'file' else osp.isdir(path))
        ]
        if missing:
            lines = [f'{type(self).__name__} is missing data:']
            for i, (path, what, how) in enumerate(missing):
                lines.append(f'- {what}: {path}')
                # one hint under a run of items it covers
                if i + 1 == len(missing) or missing[i + 1][2] != how:
                    lines += ['  ' + line for line in how.split('\n')]
            raise MissingDataError('\n'.join(lines))

    def load_proposals(self) -> None:
        """Attach each image's row of the proposal file to its data info.

        Raises:
            MissingDataError: An image has no proposals and
                ``missing_proposals='error'``.
            DataFileError: The file is unusable, or none of its keys names
                an image of the split.
        """
        keys = [proposal_key(info['img_path']) for info in self.data_list]
        table = open_proposals(self.proposal_file, wanted=keys)
        row_of = {key: row for row, key in enumerate(table.keys.tolist())}
        rows = [row_of.get(key, -1) for key in keys]
        missing = [key for key, row in zip(keys, rows) if row < 0]
        if keys and len(missing) == len(keys):
            raise DataFileError(
                f'{self.proposal_file}: none of its {table.num_file_keys} '
                f'keys names an image of {self.ann_file}. Its keys look '
                f'like {table.example_keys}; this split needs keys like '
                f'{keys[:3]} (image folder / file name, as mmdet forms '
                'them).')
        if missing:
            names = ', '.join(missing[:self._MAX_NAMES])
            if len(missing) > self._MAX_NAMES:
                names += f' and {len(missing) - self._MAX_NAMES} more'
            message = (f'{len(missing)} of the {len(keys)} images of '
                       f'{self.ann_file} have no proposals in '
                       f'{self.proposal_file}: {names}.')
            if self.missing_proposals == 'error':
                raise MissingDataError(
                    f'{message}\n{self._proposal_hint()}\nOr set '
                    "missing_proposals='skip' to train without them.")
            print_log(
                f'Skipping them (missing_proposals=skip): {message}',
                logger='current',
                level=logging.WARNING)
            kept = [i for i, row in enumerate(rows) if row >= 0]
            self.data_list = [self.data_list[i] for i in kept]
            rows = [rows[i] for i in kept]
        stats = scan_proposals(table, rows,
                               [info['width'] for info in self.data_list],
                               [info['height'] for info in self.data_list],
                               self.min_proposal_size, self.max_proposals)
        # The scan's pages stay out of this process (and its workers'
        # inherited memory) until samples are read.
        table.drop_mapping()
        for info, row in zip(self.data_list, rows):
            info['proposal_index'] = row
        self._proposal_table = table
        self.proposal_stats = dict(
            images=len(rows),
            skipped_images=len(missing),
            unused_file_images=table.num_file_keys - len(set(rows)),
            **stats)
        print_log(
            f'Proposals from {self.proposal_file}: {len(rows)} images, '
            f'{stats["boxes"]} boxes; {stats["clipped"]} clipped to their '
            f'image, {stats["degenerate"]} dropped as degenerate (side < '
            f'{self.min_proposal_size}), {stats["capped"]} beyond '
            f'max_proposals={self.max_proposals}; '
            f'{self.proposal_stats["unused_file_images"]} images of the '
            'file are not in this split.',
            logger='current')

    def get_data_info(self, idx: int) -> dict:
        """Return the ``idx``-th data info with its ``proposals``."""
        info = super().get_data_info(idx)
        row = info.pop('proposal_index', None)
        if row is not None:
            bboxes, scores = clip_and_filter(*self._proposal_table[row],
                                             info['width'], info['height'],
                                             self.min_proposal_size,
                                             self.max_proposals)
            info['proposals'] = dict(bboxes=bboxes, scores=scores)
        return info
