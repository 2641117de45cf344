"""Checked, lean proposal loading for mmdet's detection datasets."""
import logging
import os.path as osp
from typing import Dict, Optional, Set

from mmengine.logging import print_log
from mmengine.utils import is_abs

from ..errors import DataFileError, MissingDataError
from ..proposals.formats import open_proposals, proposal_key
from ..proposals.table import ProposalTable, clip_and_filter, scan_proposals
from .checks import (UNKNOWN_CLASSES, AnnotationCheck,
                     check_ground_truth_frame, ground_truth_boxes)


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
    missing raises one :class:`MissingDataError`. The annotations go
    through :class:`AnnotationCheck` as they load: objects with a label
    outside ``classes`` raise an error naming them (or are skipped and
    counted), boxes are clipped to their image or dropped, counted and
    logged with the files; a split with no object left raises.

    Args:
        missing_proposals (str): ``'error'`` (default) raises if an image
            of the split has no proposals; ``'skip'`` drops such images
            from the dataset and logs how many and which.
        max_proposals (int, optional): Keep at most this many proposals
            per image, the first (best-ranked) ones. Defaults to None.
        min_proposal_size (float): Drop proposals narrower or lower than
            this after clipping. Defaults to 1.
        unknown_classes (str): ``'error'`` (default) raises if an object's
            label is not in ``classes``; ``'skip'`` drops such objects and
            logs how many of each label.
    """
    # Images named in a log message, at most.
    _MAX_NAMES = 100

    def __init__(self,
                 *args,
                 missing_proposals: str = 'error',
                 max_proposals: Optional[int] = None,
                 min_proposal_size: float = 1,
                 unknown_classes: str = 'error',
                 **kwargs) -> None:
        if unknown_classes not in UNKNOWN_CLASSES:
            raise ValueError("unknown_classes must be 'error' or 'skip', "
                             f'not {unknown_classes!r}.')
        if missing_proposals not in ('error', 'skip'):
            raise ValueError("missing_proposals must be 'error' or 'skip', "
                             f'not {missing_proposals!r}.')
        if max_proposals is not None and max_proposals < 1:
            raise ValueError(f'max_proposals must be positive or None, not '
                             f'{max_proposals}.')
        self.missing_proposals = missing_proposals
        self.max_proposals = max_proposals
        self.min_proposal_size = min_proposal_size
        self.unknown_classes = unknown_classes
        self.annotation_check: Optional[AnnotationCheck] = None
        self.proposal_stats: Dict[str, int] = {}
        self._proposal_table: Optional[ProposalTable] = None
        self._wrong_sizes: Set[str] = set()  # images warned about
        super().__init__(*args, **kwargs)

    def _data_paths(self) -> list:
        """Return ``(kind, path, what, how)`` of each file (``kind``
        'file') or folder ('dir') the annotations need; ``how`` tells how
        to get it."""
        raise NotImplementedError

    def _proposal_hint(self) -> str:
        """Return how to make the proposal file, for messages."""
        raise NotImplementedError

    def _annotation_check(self) -> AnnotationCheck:
        """Return a fresh check for the split's objects."""
        return AnnotationCheck(self.ann_file, self._metainfo['classes'],
                               self.unknown_classes, self.test_mode)

    @property
    def annotation_stats(self) -> Dict[str, int]:
        """What the annotation checks counted; see
        :meth:`AnnotationCheck.summary`."""
        return self.annotation_check.summary() if self.annotation_check \
            else {}

    def _short(self, path: str) -> str:
        """Return ``path`` relative to ``data_root``, for messages."""
        return osp.relpath(path, self.data_root) if self.data_root else path

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

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Return the ``idx``-th sample through the pipeline.

        An image that does not decode raises one error naming it and the
        fix (not mmcv's bare assertion, mid-run); an image whose size is
        not the annotation's is named in a warning, once (its boxes and
        proposals were clipped to the annotation's size). In test mode
        the packed ground truth must be the annotation's.

        Raises:
            DataFileError: The image does not decode.
            PipelineOrderError: See :func:`check_ground_truth_frame`.
        """
        info = self.get_data_info(idx)
        # what the metric must get back; training needs no copy
        truth = ground_truth_boxes(info) if self.test_mode else None
        image = self._short(info['img_path'])
        try:
            data = self.pipeline(info)
        except AssertionError as e:
            if 'failed to load image' not in str(e):
                raise
            raise DataFileError(
                f'{image}: the image does not decode (OpenCV read nothing '
                f'from it: a truncated or corrupt file), image of '
                f'{self.ann_file}. Replace it or remove its id from the '
                'split; `mmdet-ohem check_dataset config <your config>` '
                'lists every such image before training.') from e
        if data is None:  # a transform dropped the sample
            return None
        # packed by PackDetInputs, or the transforms' own dict
        sample = data.get('data_samples', data)
        height, width = sample.get('ori_shape',
                                   (info['height'], info['width']))[:2]
        if (width, height) != (info['width'], info['height']) and \
                image not in self._wrong_sizes:
            self._wrong_sizes.add(image)
            print_log(
                f'{image} is {width}x{height}, but its annotation says '
                f'{info["width"]}x{info["height"]}: its boxes and proposals '
                "were clipped to the annotation's size. Correct the size in "
                'the annotation; `mmdet-ohem check_dataset config <your '
                "config>` lists every such image.",
                logger='current',
                level=logging.WARNING)
        if self.test_mode:
            check_ground_truth_frame(truth, data, image,
                                     type(self).__name__, self.pipeline)
        return data

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
