"""Proposal files: which file holds which image's boxes, read and written.

Two formats, chosen by the file's extension:

- ``.pkl`` / ``.pickle``: mmdet's format, a pickled dict that maps each
  image's key to ``dict(bboxes=(n, 4), scores=(n,))`` (or an
  ``InstanceData`` with those fields, as mmdet's ``DumpProposals`` writes).
  Unpickling runs whatever code the file names: only load pickles you made
  or trust.
- ``.npz``: ours, plain arrays and no pickle, memory-mapped
  (:mod:`mmdet_ohem.proposals.npz`): a dataset reads one image's rows when
  it needs them, and no process holds the whole set in memory.

An image's key is ``'<image folder>/<file name>'`` of its path, e.g.
``'JPEGImages/000001.jpg'`` or ``'train2017/000000000009.jpg'``, as mmdet's
``BaseDetDataset.load_proposals`` looks them up. Within an image, boxes are
in rank order (best first): ``LoadProposals(num_max_proposals=k)`` keeps
the first ``k``.
"""
import ctypes
import itertools
import os.path as osp
import pickle
from typing import Dict, Iterable, Mapping, Optional, Tuple, Union

import numpy as np

from ..errors import DataFileError, MissingDataError
from ..fileio import atomic_open
from .npz import open_npz, write_npz
from .table import ProposalTable, check_values, entry_arrays

PICKLE_EXTS = ('.pkl', '.pickle')
NPZ_EXT = '.npz'


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
        return open_npz(path)
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
        data[key] = entry_arrays(path, key, data[key])
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
            check_values(bboxes, f'{path}, image {key!r}', 0)
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
    if isinstance(proposals, Mapping):
        proposals = proposals.items()
    with atomic_open(path, 'wb') as f:
        if path.endswith(NPZ_EXT):
            write_npz(f, proposals, folder, where=path)
        else:
            data = {}
            for key, entry in proposals:
                bboxes, scores = entry_arrays(path, key, entry)
                data[key] = dict(bboxes=bboxes, scores=scores)
            pickle.dump(data, f, protocol=4)
