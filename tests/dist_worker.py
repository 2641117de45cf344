"""One process of the 2-process CPU DDP run of test_distributed.py.

Launched by ``torchrun``; trains the OHEM demo config through mmengine's
Runner with ``launcher='pytorch'`` (so DDP wraps the model) and writes what
it saw to ``WORK_DIR/rank{RANK}.json`` and its parameters to ``.pth``.
"""
import json
import os.path as osp
import sys

import torch
import torch.distributed as dist
from mmengine.runner import Runner
from tiny_runs import RecordHook, demo_cfg, skip_config_formatting
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks

import mmdet_ohem  # noqa: F401


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
        model_wrapper_cfg=dict(
            type='MMDistributedDataParallel',
            device_ids=None,  # CPU
            broadcast_buffers=False,
            find_unused_parameters=False))
    runner = Runner.from_cfg(cfg)
    record = RecordHook()
    runner.register_hook(record)

    reduced = []

    def counting_allreduce(state, bucket):
        reduced.append(bucket.buffer().numel())
        return default_hooks.allreduce_hook(state, bucket)

    runner.model.register_comm_hook(None, counting_allreduce)
    model = runner.model.module
    sampler = model.roi_head.bbox_sampler
    readonly_losses = sampler.readonly_losses
    local = []

    def spy(*args, **kwargs):
        losses = readonly_losses(*args, **kwargs)
        local.append((losses.sum().item(), len(losses)))
        return losses

    sampler.readonly_losses = spy
    runner.train()

    # Parameters; batch-norm statistics stay per process, as mmengine's
    # default broadcast_buffers=False leaves them.
    params = {k: p.detach() for k, p in model.named_parameters()}
    torch.save(params, osp.join(work_dir, f'rank{rank}.pth'))
    with open(osp.join(work_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(
            dict(
                wrapper=type(runner.model).__name__,
                reduced=reduced,
                trainable=sum(p.numel() for p in model.parameters()
                              if p.requires_grad),
                local_all_loss=local,
                stats=record.stats,
                losses=record.losses),
            f,
            default=float)  # numpy scalars of the message hub
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
