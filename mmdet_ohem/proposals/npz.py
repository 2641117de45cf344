"""Our ``.npz`` proposal format: plain arrays, no pickle, memory-mapped.

Members (stored uncompressed, so ``bboxes`` and ``scores`` are
memory-mapped straight from the file):

- ``keys``: (N,) str, the image keys;
- ``offsets``: (N + 1,) int64, image ``i`` owns rows
  ``offsets[i]:offsets[i + 1]``;
- ``bboxes``: (M, 4) float32 ``(x1, y1, x2, y2)``;
- ``scores``: (M,) float32.
"""
import os.path as osp
import shutil
import struct
import tempfile
import zipfile
from contextlib import contextmanager
from typing import Iterable, Iterator, Mapping, Tuple

import numpy as np

from ..errors import DataFileError
from .table import ProposalTable, entry_arrays

# Members of the npz format, in the order they are written.
_NPZ_MEMBERS = ('bboxes', 'scores', 'keys', 'offsets')
_ZIP_LOCAL_HEADER = struct.Struct('<4s5H3I2H')
_COPY_BLOCK = 16 << 20


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
            'memory-mapped; write it with mmdet_ohem.proposals.'
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


def npz_memmap(path: str, name: str) -> np.ndarray:
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


def open_npz(path: str) -> ProposalTable:
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
    return ProposalTable(
        path, keys, offsets.astype(np.int64), load_array=npz_memmap)


def write_npz(f, proposals: Iterable[Tuple[str, Mapping]], folder: str,
              where: str) -> None:
    """Stream ``proposals`` into an npz written to the open file ``f``.

    Boxes and scores are spooled to temporary files in ``folder`` in one
    pass, then copied into the zip behind their npy headers.
    """
    keys, counts = [], []
    with tempfile.TemporaryFile(dir=folder) as box_spool, \
            tempfile.TemporaryFile(dir=folder) as score_spool:
        for key, entry in proposals:
            bboxes, scores = entry_arrays(where, key, entry)
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
