from .coco import ProposalCocoDataset  # registers ProposalCocoDataset
from .proposals import (DataFileError, MissingDataError, ProposalDatasetMixin,
                        load_proposals, open_proposals, save_proposals)
from .synthetic import (ANN_FILES, CLASSES, PROPOSAL_FILES, SUB_DATA_ROOT,
                        SyntheticVOC, make_voc_dataset)
from .voc import ProposalVOCDataset  # registers ProposalVOCDataset

__all__ = [
    'ANN_FILES', 'CLASSES', 'PROPOSAL_FILES', 'SUB_DATA_ROOT', 'SyntheticVOC',
    'make_voc_dataset', 'DataFileError', 'MissingDataError',
    'ProposalCocoDataset', 'ProposalDatasetMixin', 'ProposalVOCDataset',
    'load_proposals', 'open_proposals', 'save_proposals'
]
