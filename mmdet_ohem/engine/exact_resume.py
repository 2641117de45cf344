"""Random numbers per training step, so that a resumed run is exact."""
import random

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.dist import get_rank
from mmengine.hooks import Hook


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Make ``--resume`` continue exactly as the uninterrupted run would.

    mmengine saves the weights, the optimizer, the schedulers and the log in
    a checkpoint, and on resume replays the dataloader up to the saved
    iteration, but it saves no random state: whatever the training step
    draws (dropout masks, mmdet's ``RandomSampler``, OHEM's read-only pass
    in ``'train'`` mode) would continue from a different state.

    So every training step draws from its own generator state, seeded from
    (``randomness.seed``, rank, iteration) before the step; after the step
    the state the data pipeline had is put back. The step's random numbers
    then depend only on where it is in the run, and the data pipeline's
    (``RandomFlip``, ...) only on the batches loaded before, which the
    dataloader replay reproduces. Nothing is added to checkpoints, and each
    DDP process has its own stream without any communication.

    With a fixed seed and ``deterministic=True``, K iterations, ``--resume``
    and K more give the weights and the losses of 2K iterations in one go.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._data_states = None

    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        self._data_states = (torch.get_rng_state(), np.random.get_state(),
                             random.getstate())
        seed = np.random.SeedSequence(
            [runner.seed or 0, get_rank(), runner.iter]).generate_state(2)
        torch.manual_seed(int(seed[0]) << 32 | int(seed[1]))  # and CUDA
        np.random.seed(seed)
        random.seed(int(seed[0]) << 32 | int(seed[1]))

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        torch_state, np_state, py_state = self._data_states
        torch.set_rng_state(torch_state)
        np.random.set_state(np_state)
        random.setstate(py_state)
