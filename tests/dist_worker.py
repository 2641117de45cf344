"""One process of the 2-process CPU DDP run of test_distributed.py.

Launched by ``torchrun``; trains the OHEM demo config through mmengine's
Runner with ``launcher='pytorch'`` (so DDP wraps the model) and writes what
it saw to ``WORK_DIR/rank{RANK}.json`` and its parameters to ``.pth``.
At iteration ``NAN_ITER`` rank 1 alone gets a NaN loss (with finite
gradients), which ``NonFiniteLossHook(action='skip')`` must skip on both.
"""
import json
import os.path as osp
import sys

import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.runner import Runner
from tiny_runs import RecordHook, demo_cfg, skip_config_formatting
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks

import mmdet_ohem  # noqa: F401

NAN_ITER = 2


class NaNLossOnRank1(Hook):
    """Adds NaN to rank 1's loss at NAN_ITER; records whether the
    parameters changed in that step."""

    def before_train(self, runner):
        # before NonFiniteLossHook's own forward hook, so that it sees NaN
        runner.model.module.register_forward_hook(
            self.poison, with_kwargs=True)

    def poison(self, module, args, kwargs, losses):
        if (self.at_nan_iter and dist.get_rank() == 1
                and kwargs.get('mode') == 'loss'):
            losses['loss_cls'] = losses['loss_cls'] + float('nan')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.at_nan_iter = runner.iter + 1 == NAN_ITER
        if self.at_nan_iter:
            self.before = _params(runner.model.module)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if self.at_nan_iter:
            after = _params(runner.model.module)
            self.changed = [
                k for k, v in after.items()
                if not torch.equal(v, self.before[k])
            ]


def _params(model):
    return {k: p.detach().clone() for k, p in model.named_parameters()}


def main(data_root, work_dir, iters):
    # mmengine's own init for the pytorch launcher calls
    # torch.cuda.set_device, which CPU builds of torch lack; the Runner
    # uses a process group that already exists.
    dist.init_process_group('gloo')
    skip_config_formatting()
    rank = dist.get_rank()
    cfg = demo_cfg(
        'ohem',
        data_root,
        work_dir,
        iters,
        launcher='pytorch',
        custom_hooks=[
            dict(type='NonFiniteLossHook', action='skip'),
            dict(type='ExactResumeHook')
        ],
        model_wrapper_cfg=dict(
            type='MMDistributedDataParallel',
            device_ids=None,  # CPU
            broadcast_buffers=False,
            find_unused_parameters=False))
    runner = Runner.from_cfg(cfg)
    record = RecordHook()
    runner.register_hook(record)
    nan_loss = NaNLossOnRank1()
    runner.register_hook(nan_loss, priority='HIGHEST')

    reduced = []

    def counting_allreduce(state, bucket):
        reduced.append(bucket.buffer().numel())
        return default_hooks.allreduce_hook(state, bucket)

    runner.model.register_comm_hook(None, counting_allreduce)
    model = runner.model.module
    sampler = model.roi_head.bbox_sampler
    with sampler.recording() as records:
        runner.train()
    local = [(r['losses'].sum().item(), len(r['losses'])) for r in records]

    # Parameters; batch-norm statistics stay per process, as mmengine's
    # default broadcast_buffers=False leaves them.
    torch.save(_params(model), osp.join(work_dir, f'rank{rank}.pth'))
    with open(osp.join(work_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(
            dict(
                wrapper=type(runner.model).__name__,
                reduced=reduced,
                trainable=sum(p.numel() for p in model.parameters()
                              if p.requires_grad),
                local_all_loss=local,
                stats=record.stats,
                skipped=runner.message_hub.get_info('nonfinite_skipped_steps'),
                changed_in_nan_iter=nan_loss.changed,
                losses=record.losses),
            f,
            default=float)  # numpy scalars of the message hub
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
