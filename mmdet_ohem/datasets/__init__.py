from .synthetic import (ANN_FILES, CLASSES, PROPOSAL_FILES, SUB_DATA_ROOT,
                        SyntheticVOC, make_voc_dataset)

__all__ = [
    'ANN_FILES', 'CLASSES', 'PROPOSAL_FILES', 'SUB_DATA_ROOT', 'SyntheticVOC',
    'make_voc_dataset'
]
