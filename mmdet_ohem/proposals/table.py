"""The proposal table (all boxes of a file, packed, one row range per
image) and the checks every box passes on its way in."""
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from ..errors import DataFileError


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
            example_keys: Sequence[str] = (),
            load_array: Optional[Callable[[str, str],
                                          np.ndarray]] = None) -> None:
        self.path = path
        self.keys = keys
        self.offsets = offsets
        self.num_file_keys = (
            len(keys) if num_file_keys is None else num_file_keys)
        self.example_keys = list(example_keys) or keys[:3].tolist()
        # None: mapped from `path` on first use by `load_array(path, name)`
        # (the npz format's memory map).
        self._bboxes = bboxes
        self._scores = scores
        self._load_array = load_array
        self._mapped = bboxes is None

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def bboxes(self) -> np.ndarray:
        """(M, 4) float32 boxes of all images."""
        if self._bboxes is None:
            self._bboxes = self._load_array(self.path, 'bboxes')
        return self._bboxes

    @property
    def scores(self) -> np.ndarray:
        """(M,) float32 scores of all images."""
        if self._scores is None:
            self._scores = self._load_array(self.path, 'scores')
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
    check_values(bboxes, where, first_row=0)
    return bboxes, scores


def check_values(bboxes: np.ndarray, where: str, first_row: int) -> None:
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
            check_values(bboxes, table.path, 0)
        except DataFileError:
            for i in block:
                check_values(
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


def entry_arrays(path: str, key: str, entry) -> Tuple[np.ndarray, np.ndarray]:
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
