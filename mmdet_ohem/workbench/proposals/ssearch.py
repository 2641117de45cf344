"""Selective Search proposals (Uijlings et al., IJCV 2013) with OpenCV.

R-CNN and Fast R-CNN ran the MATLAB Selective Search in its fast mode on
each image resized to a width of 500 pixels (R-CNN's
``selective_search_boxes.m``), dropped boxes under 20 pixels a side there,
and ranked boxes pseudo-randomly by hierarchy level. This module does the
same with ``cv2.ximgproc.segmentation`` (``opencv-contrib-python``), whose
grouping and ranking follow the paper.
"""
import ctypes
import hashlib
import json
import multiprocessing
import os.path as osp
import shutil
from typing import Iterator, Optional

import cv2
import numpy as np
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from ...errors import DataFileError, MissingDataError
from ...fileio import read_image, write_atomic
from ...proposals import load_proposals, save_proposals
from .splits import Split

MODES = ('fast', 'quality')
# Bump when the boxes for given settings change, so that the partial
# results of an older version are not mixed in.
_VERSION = 1
_PARAMS_FILE = 'params.json'


def _seed_ranking(seed: int) -> None:
    """Seed OpenCV's Selective Search ranking.

    It ranks boxes by hierarchy level times C's ``rand()``, which neither
    ``cv2.setRNGSeed`` nor numpy reaches.
    """
    ctypes.CDLL(None).srand(seed)


def selective_search(img: np.ndarray,
                     mode: str = 'fast',
                     resize_width: Optional[int] = 500,
                     min_box_size: int = 20,
                     max_boxes: Optional[int] = 2000,
                     pixel_inclusive: bool = False,
                     seed: int = 0) -> np.ndarray:
    """Selective Search boxes of one image, best-ranked first.

    Args:
        img (np.ndarray): uint8 (h, w, 3) BGR image.
        mode (str): ``'fast'`` (the papers') or ``'quality'``.
        resize_width (int, optional): Run on the image resized to this
            width (aspect kept) and scale the boxes back. None or 0 runs
            on the image as it is. Defaults to 500, as R-CNN did.
        min_box_size (int): Drop boxes narrower or lower than this, in
            pixels of the resized image. Defaults to 20, as R-CNN did.
        max_boxes (int, optional): Keep at most this many boxes.
        pixel_inclusive (bool): Give ``x2, y2`` as the last pixel inside
            the box (PASCAL VOC in mmdet) instead of the edge after it
            (COCO).
        seed (int): Seed of the pseudo-random ranking; the same image and
            seed give the same boxes.

    Returns:
        np.ndarray: float32 (n, 4) ``(x1, y1, x2, y2)`` in pixels of
        ``img``, inside the image, distinct, best-ranked first.
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, not {mode!r}.')
    if not hasattr(cv2, 'ximgproc'):
        raise ImportError(
            'Selective Search needs OpenCV\'s contrib modules: pip install '
            f'opencv-contrib-python-headless=={_opencv_pip_version()}')
    h, w = img.shape[:2]
    scale = 1.0
    if resize_width and w != resize_width:
        scale = w / resize_width
        img = cv2.resize(
            img, (resize_width, max(1, round(h / scale))),
            interpolation=cv2.INTER_AREA if scale > 1 else cv2.INTER_LINEAR)
    search = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
    search.setBaseImage(img)
    if mode == 'fast':
        search.switchToSelectiveSearchFast()
    else:
        search.switchToSelectiveSearchQuality()
    _seed_ranking(seed)
    rects = search.process().reshape(-1, 4).astype(np.float64)
    rects = rects[(rects[:, 2] >= min_box_size)
                  & (rects[:, 3] >= min_box_size)]
    end = 1 if pixel_inclusive else 0
    boxes = np.stack([
        rects[:, 0], rects[:, 1], rects[:, 0] + rects[:, 2] - end,
        rects[:, 1] + rects[:, 3] - end
    ], 1) * scale
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w - end)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h - end)
    boxes = boxes.astype(np.float32)
    # Distinct boxes, first (best-ranked) occurrence kept.
    _, first = np.unique(boxes, axis=0, return_index=True)
    boxes = boxes[np.sort(first)]
    if max_boxes:
        boxes = boxes[:max_boxes]
    return boxes


def _opencv_pip_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    for name in ('opencv-python', 'opencv-python-headless'):
        try:
            return version(name)
        except PackageNotFoundError:
            pass
    return cv2.__version__


def rank_scores(num: int) -> np.ndarray:
    """Scores for boxes that have only a rank: 1 for the first, falling
    linearly towards 0, so that mmdet's top-k keeps the best-ranked."""
    return (1 - np.arange(num) / max(num, 1)).astype(np.float32)


def _chunk_entries(work_dir: str, num_chunks: int,
                   counts: list) -> Iterator[tuple]:
    """Yield ``(key, proposals)`` of all chunk files in order, appending
    each image's number of boxes to ``counts``."""
    for chunk in range(num_chunks):
        for key, entry in load_proposals(_chunk_file(work_dir, chunk)).items():
            counts.append(len(entry['bboxes']))
            yield key, entry


def _num_chunks(num_images: int, chunk_size: int) -> int:
    return -(-num_images // chunk_size)


def _chunk_file(work_dir: str, chunk: int) -> str:
    return osp.join(work_dir, f'chunk_{chunk:06d}.npz')


def _run_chunk(task: tuple) -> int:
    """Compute and write the proposals of one chunk of images."""
    out_file, keys, img_paths, kwargs = task
    proposals = {}
    for key, img_path in zip(keys, img_paths):
        # OpenCV fills a truncated JPEG with grey and goes on; refuse it
        # as check_dataset.py does, naming it.
        try:
            read_image(img_path)
        except (DataFileError, MissingDataError) as e:
            raise type(e)(
                f'{e} (image {key!r}). Replace the file or remove it from '
                'the split; finished images are kept, run again to '
                'resume.') from e
        img = cv2.imread(img_path, cv2.IMREAD_COLOR)
        bboxes = selective_search(img, **kwargs)
        proposals[key] = dict(bboxes=bboxes, scores=rank_scores(len(bboxes)))
    save_proposals(out_file, proposals)
    return len(keys)


def _init_worker() -> None:
    # One process per core is faster than OpenCV threads in each.
    cv2.setNumThreads(1)


def generate_selective_search(split: Split,
                              out_file: str,
                              mode: str = 'fast',
                              resize_width: Optional[int] = 500,
                              min_box_size: int = 20,
                              max_boxes: Optional[int] = 2000,
                              workers: int = 1,
                              chunk_size: int = 32) -> dict:
    """Write Selective Search proposals of a split, resumably.

    Images are processed in chunks of ``chunk_size`` (in split order,
    each chunk written atomically to ``<out_file>.parts/``), by
    ``workers`` processes. Running again with the same settings after an
    interruption computes only the missing chunks. When all are done they
    are joined into ``out_file`` (written atomically, in split order) and
    the work folder is removed. The result depends neither on
    ``workers`` nor on interruptions.

    Args:
        split (Split): The images.
        out_file (str): ``.npz`` (ours) or ``.pkl`` (mmdet) output.
        mode (str): See :func:`selective_search`.
        resize_width (int, optional): See :func:`selective_search`.
        min_box_size (int): See :func:`selective_search`.
        max_boxes (int, optional): See :func:`selective_search`.
        workers (int): Processes. Defaults to 1 (this process).
        chunk_size (int): Images per work file.

    Returns:
        dict: ``images``, ``computed`` (images computed in this run),
        ``boxes`` (mean boxes per image) and ``out_file``.

    Raises:
        DataFileError: An image cannot be read, or the work folder was
            made with other settings.
    """
    if osp.isfile(out_file):
        print_log(
            f'{out_file} exists; remove it to make it again.',
            logger='current')
        return dict(
            images=len(split.keys), computed=0, boxes=None, out_file=out_file)
    kwargs = dict(
        mode=mode,
        resize_width=resize_width,
        min_box_size=min_box_size,
        max_boxes=max_boxes,
        pixel_inclusive=split.pixel_inclusive)
    params = dict(
        version=_VERSION,
        images=hashlib.sha256('\n'.join(split.keys).encode()).hexdigest(),
        chunk_size=chunk_size,
        **kwargs)
    work_dir = f'{out_file}.parts'
    _claim_work_dir(work_dir, params)

    num_chunks = _num_chunks(len(split.keys), chunk_size)
    tasks = []
    for chunk in range(num_chunks):
        chunk_file = _chunk_file(work_dir, chunk)
        if osp.isfile(chunk_file):
            continue  # done in an earlier run
        part = slice(chunk * chunk_size, (chunk + 1) * chunk_size)
        tasks.append(
            (chunk_file, split.keys[part], split.img_paths[part], kwargs))
    num_todo = sum(len(task[1]) for task in tasks)
    print_log(
        f'Selective Search ({mode}) on {split.name}: {num_todo} of '
        f'{len(split.keys)} images to do, {workers} worker(s).',
        logger='current')
    progress = ProgressBar(num_todo)
    if workers > 1:
        # spawn: a forked child of a process whose OpenCV thread pool has
        # run can deadlock in it.
        context = multiprocessing.get_context('spawn')
        with context.Pool(workers, initializer=_init_worker) as pool:
            for done in pool.imap_unordered(_run_chunk, tasks):
                progress.update(done)
    else:
        for task in tasks:
            progress.update(_run_chunk(task))
    progress.file.write('\n')

    counts = []
    save_proposals(out_file, _chunk_entries(work_dir, num_chunks, counts))
    shutil.rmtree(work_dir)
    num_boxes = sum(counts)
    print_log(
        f'Wrote {out_file}: {len(split.keys)} images, '
        f'{num_boxes / max(len(split.keys), 1):.0f} boxes per image.',
        logger='current')
    return dict(
        images=len(split.keys),
        computed=num_todo,
        boxes=num_boxes / max(len(split.keys), 1),
        out_file=out_file)


def _claim_work_dir(work_dir: str, params: dict) -> None:
    """Create the work folder, or check that it holds work of the same
    settings."""
    params_file = osp.join(work_dir, _PARAMS_FILE)
    text = json.dumps(params, indent=2, sort_keys=True) + '\n'
    if osp.isfile(params_file):
        with open(params_file) as f:
            if f.read() != text:
                raise DataFileError(
                    f'{work_dir} holds partial results made with other '
                    f'settings (see its {_PARAMS_FILE}). Run with those '
                    'settings to finish it, or remove the folder.')
        return
    write_atomic(params_file, text)
