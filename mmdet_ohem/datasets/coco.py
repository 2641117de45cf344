"""COCO with checked annotations and lean proposal loading."""
import os.path as osp
import re
import shlex
from typing import List

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from .checks import coco_class_order
from .mixin import ProposalDatasetMixin

DATA_HINT = ('Download COCO as README, section "Data", describes '
             '(coco/ under data_root).')


@DATASETS.register_module()
class ProposalCocoDataset(ProposalDatasetMixin, CocoDataset):
    """mmdet's ``CocoDataset`` with :class:`ProposalDatasetMixin`'s
    proposal loading and annotation checks, and a check that ``classes``
    follow the file's category order (mmdet labels them in that order).

    Args:
        missing_proposals (str): See :class:`ProposalDatasetMixin`.
        max_proposals (int, optional): See :class:`ProposalDatasetMixin`.
        min_proposal_size (float): See :class:`ProposalDatasetMixin`.
        unknown_classes (str): See :class:`ProposalDatasetMixin`.
        **kwargs: Passed to ``CocoDataset``.
    """

    def load_data_list(self) -> List[dict]:
        """Load the split as mmdet does, its objects through
        :class:`AnnotationCheck`.

        Raises:
            DataFileError: See :func:`coco_class_order` and
                :meth:`AnnotationCheck.finish`.
        """
        self.annotation_check = self._annotation_check()
        self._category_names = None
        data_list = super().load_data_list()
        self.annotation_check.finish()
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """Parse one image as mmdet does, except its objects: each passes
        :meth:`AnnotationCheck.keep` (mmdet drops boxes outside the image
        and unknown categories without a word, and keeps boxes partly
        outside as they are)."""
        if self._category_names is None:
            categories = self.coco.load_cats(self.coco.get_cat_ids())
            coco_class_order([c['name'] for c in categories],
                             self._metainfo['classes'], self.ann_file)
            self._category_names = {c['id']: c['name'] for c in categories}
        info = super().parse_data_info(dict(raw_data_info, raw_ann_info=[]))
        file = self._short(info['img_path'])
        for ann in raw_data_info['raw_ann_info']:
            if ann.get('ignore', False):
                continue
            x, y, w, h = ann['bbox']
            category = ann['category_id']
            bbox = self.annotation_check.keep(
                self._category_names.get(category, f'category {category}'),
                [x, y, x + w, y + h], info['width'], info['height'], file)
            if bbox is None:
                continue
            instance = dict(
                ignore_flag=int(bool(ann.get('iscrowd', False))),
                bbox=bbox,
                bbox_label=self.cat2label[category])
            if ann.get('segmentation'):
                instance['mask'] = ann['segmentation']
            info['instances'].append(instance)
        return info

    def _data_paths(self) -> list:
        paths = [('file', self.ann_file, 'COCO annotation json', DATA_HINT)]
        if self.data_prefix.get('img'):
            paths.append(('dir', self.data_prefix['img'], 'COCO image folder',
                          DATA_HINT))
        return paths

    def _proposal_hint(self) -> str:
        # instances_train2017.json -> split 'train', year '2017'
        name = osp.splitext(osp.basename(self.ann_file))[0]
        found = re.search(r'([a-z]+)(\d{4})$', name)
        # --year and --split only name the default output, given here
        names = (f'--year {found.group(2)} --split {found.group(1)} '
                 if found else '')
        root = self.data_root or '.'
        img_prefix = osp.relpath(self.data_prefix.get('img', root), root)
        return (
            'Make it with Selective Search: mmdet-ohem selective_search '
            f'coco --data-root {root} {names}'
            f'--ann-file {osp.relpath(self.ann_file, root)} --img-prefix '
            f"{shlex.quote('' if img_prefix == '.' else img_prefix)} --out "
            f'{self.proposal_file}\nor dump an RPN\'s '
            '(mmdet-ohem dump_rpn_proposals); see README, section "Making '
            'proposals".')
