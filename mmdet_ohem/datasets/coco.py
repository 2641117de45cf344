"""COCO with checked, lean proposal loading."""
import os.path as osp
import re

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from .mixin import ProposalDatasetMixin

DATA_HINT = ('Download COCO as README, section "Data", describes '
             '(coco/ under data_root).')


@DATASETS.register_module()
class ProposalCocoDataset(ProposalDatasetMixin, CocoDataset):
    """mmdet's ``CocoDataset`` with :class:`ProposalDatasetMixin`'s
    proposal loading.

    Args:
        missing_proposals (str): See :class:`ProposalDatasetMixin`.
        max_proposals (int, optional): See :class:`ProposalDatasetMixin`.
        min_proposal_size (float): See :class:`ProposalDatasetMixin`.
        **kwargs: Passed to ``CocoDataset``.
    """

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
        split, year = found.groups() if found else ('<split>', '<year>')
        root = self.data_root or '.'
        return (
            'Make it with Selective Search: python tools/selective_search.py '
            f'coco --data-root {root} --year {year} --split {split} '
            f'--ann-file {osp.relpath(self.ann_file, root)} --img-prefix '
            f'{osp.relpath(self.data_prefix.get("img", ""), root)} --out '
            f'{self.proposal_file}\nor dump an RPN\'s '
            '(tools/dump_rpn_proposals.py); see README, section "Making '
            'proposals".')
