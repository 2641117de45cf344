"""Making and judging proposals: Selective Search, Fast R-CNN's legacy
``.mat`` files, RPN dumps and recall. The tools in ``tools/`` are thin
command lines over these functions."""
from .legacy import convert_ss_mat
from .recall import RECALL_IOUS, plot_recall, proposal_recall, recall_table
from .splits import (Split, add_split_arguments, coco_split, split_from_args,
                     voc_split)
from .ssearch import generate_selective_search, selective_search

__all__ = [
    'RECALL_IOUS', 'Split', 'add_split_arguments', 'coco_split',
    'convert_ss_mat', 'generate_selective_search', 'plot_recall',
    'proposal_recall', 'recall_table', 'selective_search', 'split_from_args',
    'voc_split'
]
