"""Stop a run, or skip a step, when training meets NaN or infinity."""
from typing import List, Sequence

import torch
from mmdet.registry import HOOKS
from mmdet.structures.bbox import get_box_tensor
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from torch import Tensor

from ..errors import NonFiniteInputError, NonFiniteLossError

ACTIONS = ('raise', 'skip')
SKIPPED_INFO = 'nonfinite_skipped_steps'


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Never let a NaN or an infinity into the weights.

    Three checks, all before the optimizer touches anything:

    * **Inputs**, before the forward: non-finite pixels, non-finite GT boxes
      or proposals, and GT boxes with x2 < x1 or y2 < y1 raise
      :class:`NonFiniteInputError` naming the image and the field. Bad input
      always raises: it must be fixed in the data, not skipped.
    * **Losses**, after the forward: a non-finite loss term.
    * **Gradients**, before the optimizer step: a non-finite gradient (with
      ``AmpOptimWrapper`` the loss scaler skips such steps itself).

    With ``action='raise'`` a bad loss or gradient raises
    :class:`NonFiniteLossError` naming the iteration, the loss terms and the
    images of the batch; since nothing was updated, the last checkpoint is
    the last good state. With ``action='skip'`` the step is skipped: all
    gradients are dropped, so the optimizer changes neither the weights nor
    its state (momentum, weight decay), and the buffers the forward updated
    (batch-norm statistics) are put back; a warning names the iteration and
    the images, and the count is kept in the message hub's runtime info
    ``nonfinite_skipped_steps`` (saved in checkpoints). Under DDP every
    process skips if any process saw a bad loss (one all-reduce per step,
    in skip mode only).

    A non-finite loss in OHEM's read-only pass raises
    :class:`~mmdet_ohem.errors.NonFiniteRoILossError` from inside the
    forward whatever the action: no hard RoI can be chosen from it.

    Args:
        action (str): ``'raise'`` or ``'skip'``.
        check_inputs (bool): Check the batch before the forward.
    """

    priority = 'VERY_HIGH'

    def __init__(self, action: str = 'raise', check_inputs: bool = True):
        if action not in ACTIONS:
            raise ValueError(f'NonFiniteLossHook: action={action!r}, '
                             f'expected one of {ACTIONS}')
        self.action = action
        self.check_inputs = check_inputs
        self._handles = []
        self._runner = None
        self._bad_loss = None
        self._buffers = None

    def before_train(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        self._runner = runner
        self._handles = [
            model.register_forward_pre_hook(
                self._check_batch, with_kwargs=True),
            model.register_forward_hook(self._check_losses, with_kwargs=True)
        ]
        for optim_wrapper in _optim_wrappers(runner.optim_wrapper):
            self._handles.append(
                optim_wrapper.optimizer.register_step_pre_hook(
                    self._check_grads))

    def after_train(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        self._bad_loss = None
        self._buffers = None

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if self._bad_loss is not None:
            # AMP's loss scaler skipped the step before _check_grads
            self._skipped(self._bad_loss)

    @property
    def _where(self) -> str:
        # 1-based, as in the training log and the checkpoint names
        return f'iteration {self._runner.iter + 1}'

    def _check_batch(self, module, args, kwargs) -> None:
        inputs, samples, mode = _forward_args(args, kwargs)
        if mode != 'loss':
            return
        if self.action == 'skip':
            # batch-norm statistics, so that a skipped step leaves no trace
            self._buffers = [b.detach().clone() for b in module.buffers()]
        if not self.check_inputs:
            return
        names = _image_names(samples)
        problems = []
        if isinstance(inputs, Tensor) and inputs.is_floating_point():
            finite = torch.isfinite(inputs.flatten(1)).all(dim=1).tolist()
            problems += [
                f'{names[i]}: non-finite pixels' for i, ok in enumerate(finite)
                if not ok
            ]
        for i, sample in enumerate(samples):
            for field in ('gt_instances', 'proposals'):
                if field not in sample or 'bboxes' not in sample.get(field):
                    continue
                boxes = get_box_tensor(sample.get(field).bboxes)
                num_bad = int((~torch.isfinite(boxes)).any(dim=1).sum())
                if num_bad:
                    problems.append(f'{names[i]}: {num_bad} {field} boxes '
                                    'with non-finite coordinates')
                if field == 'gt_instances':
                    num_inv = int(((boxes[:, 2] < boxes[:, 0]) |
                                   (boxes[:, 3] < boxes[:, 1])).sum())
                    if num_inv:
                        problems.append(
                            f'{names[i]}: {num_inv} gt_instances boxes with '
                            'x2 < x1 or y2 < y1')
        if problems:
            raise NonFiniteInputError(
                f'Bad training input at {self._where}: ' +
                '; '.join(problems) + '. Nothing was trained on this batch.')

    def _check_losses(self, module, args, kwargs, losses) -> None:
        _, samples, mode = _forward_args(args, kwargs)
        if mode != 'loss' or not isinstance(losses, dict):
            return
        terms = {
            name: value
            for name, value in losses.items() if 'loss' in name
        }
        tensors = [
            t for value in terms.values()
            for t in (value if isinstance(value, (list, tuple)) else [value])
        ]
        if not tensors or bool(
                torch.stack([torch.isfinite(t).all() for t in tensors]).all()):
            return
        bad = ', '.join(f'{name}={_show(value)}'
                        for name, value in terms.items()
                        if not _all_finite(value))
        names = ', '.join(_image_names(samples))
        self._bad_loss = (f'non-finite loss at {self._where} ({bad}) on the '
                          f'batch of images [{names}]')
        if self.action == 'raise':
            raise NonFiniteLossError(
                _sentence(self._bad_loss) + '. The run stopped before the '
                'update, so the last checkpoint holds the last good weights. '
                'Check these images and their boxes (tools/check_dataset.py '
                'scans a whole split) and the learning rate, or skip such '
                "steps with NonFiniteLossHook(action='skip').")

    def _check_grads(self, optimizer, args, kwargs) -> None:
        params = [
            p for group in optimizer.param_groups for p in group['params']
        ]
        grads = [p.grad for p in params if p.grad is not None]
        reason = self._bad_loss
        if reason is None and grads and not bool(
                torch.stack([torch.isfinite(g).all() for g in grads]).all()):
            reason = (f'non-finite gradients at {self._where} although the '
                      'loss was finite')
        if self.action == 'skip':
            # Gradients are all-reduced already; a bad loss seen by one
            # process is not, and all processes must skip together.
            flag = torch.tensor(
                float(reason is not None), device=params[0].device)
            all_reduce(flag, op='max')
            if reason is None and flag:
                reason = f'non-finite loss in another process at {self._where}'
        self._bad_loss = None
        if reason is None:
            return
        if self.action == 'raise':
            raise NonFiniteLossError(
                _sentence(reason) + '. The run stopped before the update, '
                'so the last checkpoint holds the last good weights.')
        # SGD, Adam and the like leave a parameter without gradient alone
        for p in params:
            p.grad = None
        self._skipped(reason)

    def _skipped(self, reason: str) -> None:
        """Undo the forward's buffer updates; count and report the skip."""
        self._bad_loss = None
        model = self._runner.model
        if is_model_wrapper(model):
            model = model.module
        if self._buffers is not None:
            for buffer, saved in zip(model.buffers(), self._buffers):
                buffer.copy_(saved)
        hub = self._runner.message_hub
        num_skipped = hub.get_info(SKIPPED_INFO, 0) + 1
        hub.update_info(SKIPPED_INFO, num_skipped)
        self._runner.logger.warning(f'Skipped the update: {reason} '
                                    f'({num_skipped} skipped so far)')


def _optim_wrappers(optim_wrapper) -> list:
    if isinstance(optim_wrapper, OptimWrapperDict):
        return list(optim_wrapper.values())
    return [optim_wrapper]


def _forward_args(args: tuple, kwargs: dict) -> tuple:
    """``inputs``, ``data_samples`` (a list) and ``mode`` of a detector's
    ``forward(inputs, data_samples=None, mode='tensor')`` call."""
    names = ('inputs', 'data_samples', 'mode')
    bound = dict(zip(names, args), **kwargs)
    return (bound.get('inputs'), bound.get('data_samples')
            or [], bound.get('mode', 'tensor'))


def _image_names(samples: Sequence) -> List[str]:
    return [
        repr(s.metainfo.get('img_path'))
        if 'img_path' in s.metainfo else f'image {i} of the batch'
        for i, s in enumerate(samples)
    ]


def _all_finite(value) -> bool:
    values = value if isinstance(value, (list, tuple)) else [value]
    return all(bool(torch.isfinite(v).all()) for v in values)


def _show(value) -> str:
    values = value if isinstance(value, (list, tuple)) else [value]
    return '/'.join(f'{float(v.detach().float().sum()):g}' for v in values)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
