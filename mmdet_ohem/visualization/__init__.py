"""Pictures of OHEM at work: the hard RoIs of a step (a training hook and a
function for a checkpoint)."""
from .hard_example_hook import HardExampleHook
from .hard_examples import (draw_hard_examples, find_ohem_sampler, mine_batch,
                            show_dataset_hard_examples, split_mined)

__all__ = [
    'HardExampleHook', 'draw_hard_examples', 'find_ohem_sampler', 'mine_batch',
    'show_dataset_hard_examples', 'split_mined'
]
