"""Fast R-CNN's legacy Selective Search files (``selective_search_data/
voc_2007_trainval.mat`` and the like)."""
from typing import Dict, Sequence

import numpy as np
import scipy.io

from ...errors import DataFileError, MissingDataError
from ...proposals.table import check_boxes
from .ssearch import rank_scores


def convert_ss_mat(mat_file: str,
                   keys: Sequence[str],
                   pixel_inclusive: bool = True) -> Dict[str, dict]:
    """Read a legacy ``.mat`` of Selective Search boxes into our format.

    The file holds ``boxes``: one cell per image, in the order of the
    split's image list, each an (n, 4) array of 1-based ``(y1, x1, y2,
    x2)`` pixels, best-ranked first; some files also hold ``images``,
    the image ids in that order. The boxes become 0-based ``(x1, y1, x2,
    y2)`` whose ``x2, y2`` is the last pixel, as mmdet reads VOC's ground
    truth (and as Fast R-CNN read these files).

    Args:
        mat_file (str): The ``.mat`` file (MATLAB v5, as distributed).
        keys (Sequence[str]): Proposal key of each image of the split, in
            split order, e.g. ``'JPEGImages/000005.jpg'``.
        pixel_inclusive (bool): Keep ``x2, y2`` the last pixel (True, for
            VOC) or add 1 to make them the edge after it (COCO).

    Returns:
        dict[str, dict]: Key to ``dict(bboxes=float32 (n, 4),
        scores=float32 (n,))`` with scores falling with rank.

    Raises:
        MissingDataError: ``mat_file`` does not exist.
        DataFileError: The file is unreadable, its number or ids of images
            do not match ``keys``, or an image's boxes are malformed.
    """
    try:
        mat = scipy.io.loadmat(mat_file)
    except FileNotFoundError as e:
        raise MissingDataError(f'{mat_file} does not exist.') from e
    except NotImplementedError as e:
        raise DataFileError(
            f'{mat_file}: a MATLAB v7.3 (HDF5) file, which scipy cannot '
            'read; re-save it in MATLAB with save(..., "-v7").') from e
    except Exception as e:  # scipy raises many types for a corrupt file
        raise DataFileError(
            f'{mat_file}: cannot read it as a .mat file '
            f'({type(e).__name__}: {e}); it is truncated or corrupt.') from e
    if 'boxes' not in mat:
        raise DataFileError(
            f'{mat_file}: has no variable "boxes" (it has '
            f'{sorted(k for k in mat if not k.startswith("__"))}).')
    cells = np.asarray(mat['boxes']).ravel()
    if len(cells) != len(keys):
        raise DataFileError(
            f'{mat_file}: boxes of {len(cells)} images, but the split has '
            f'{len(keys)}. Is it the file of this split?')
    if 'images' in mat:
        _check_image_ids(mat_file, np.asarray(mat['images']).ravel(), keys)
    end = 0 if pixel_inclusive else 1
    proposals = {}
    for i, (key, cell) in enumerate(zip(keys, cells)):
        where = f'{mat_file}, image {i + 1} ({key!r})'
        raw = np.asarray(cell)
        if raw.size == 0:
            raw = raw.reshape(0, 4)
        if raw.ndim != 2 or raw.shape[1] != 4:
            raise DataFileError(f'{where}: boxes have shape {raw.shape}, '
                                'expected (n, 4) (y1, x1, y2, x2).')
        # (y1, x1, y2, x2), 1-based -> (x1, y1, x2, y2), 0-based
        bboxes = raw[:, [1, 0, 3, 2]].astype(np.float64) - 1
        bboxes[:, 2:] += end
        bboxes, scores = check_boxes(bboxes, rank_scores(len(bboxes)), where)
        proposals[key] = dict(bboxes=bboxes, scores=scores)
    return proposals


def _check_image_ids(mat_file: str, ids: np.ndarray,
                     keys: Sequence[str]) -> None:
    """Check the ``images`` variable against the split's keys."""
    for i, (img_id, key) in enumerate(zip(ids, keys)):
        img_id = str(np.asarray(img_id).ravel()[0]).strip()
        stem = key.rsplit('/', 1)[-1].rsplit('.', 1)[0]
        if img_id != stem:
            raise DataFileError(
                f'{mat_file}: image {i + 1} is {img_id!r} but the split '
                f'lists {stem!r} there; the boxes would go to the wrong '
                'images.')
