from .coco import ProposalCocoDataset  # registers in mmdet's DATASETS
from .mixin import ProposalDatasetMixin
from .voc import ProposalVOCDataset  # registers in DATASETS

__all__ = ['ProposalCocoDataset', 'ProposalDatasetMixin', 'ProposalVOCDataset']
