"""What the benchmark measures besides time: peak memory, page faults,
the malloc setting, and the machine and versions, for the record."""
import contextlib
import os
import platform
import resource
import time
from typing import Optional

import torch

from ..version import __version__

#: glibc malloc settings of ``tools/benchmark.py --caching-malloc``: keep
#: freed memory for reuse instead of handing every large block back to the
#: kernel. With glibc's defaults each VGG16 step on CPU maps and unmaps its
#: large tensors afresh, about 1.6 M page faults and a fifth of the step in
#: the kernel, for every variant; this is the caching that PyTorch's CPU
#: tuning guide gets from jemalloc or tcmalloc. Peak RSS then counts the
#: cached memory too.
MALLOC_TUNABLES = ('glibc.malloc.mmap_threshold=4294967296:'
                   'glibc.malloc.trim_threshold=17179869184')


def caching_malloc_env(env: Optional[dict] = None) -> dict:
    """A copy of ``env`` (default: ``os.environ``) whose ``GLIBC_TUNABLES``
    add :data:`MALLOC_TUNABLES`. It takes effect in processes started with
    it; other C libraries ignore it."""
    env = dict(os.environ if env is None else env)
    tunables = [t for t in env.get('GLIBC_TUNABLES', '').split(':') if t]
    env['GLIBC_TUNABLES'] = ':'.join(tunables + [MALLOC_TUNABLES])
    return env


class Peak:
    """Peak memory of the code run since :meth:`reset`, in MiB.

    CUDA: ``max_memory_allocated``. CPU: the resident set's high-water mark
    (``VmHWM``, reset through ``/proc/self/clear_refs``); where that cannot
    be reset, the process's peak RSS.
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self.kind = ('cuda_max_allocated'
                     if device == 'cuda' else 'cpu_peak_rss')

    def reset(self) -> None:
        if self.device == 'cuda':
            torch.cuda.reset_peak_memory_stats()
            return
        with contextlib.suppress(OSError):
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')

    def read(self) -> float:
        if self.device == 'cuda':
            return torch.cuda.max_memory_allocated() / 2**20
        with contextlib.suppress(OSError):
            with open('/proc/self/status') as f:
                for line in f:
                    if line.startswith('VmHWM:'):
                        return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def minor_faults() -> int:
    """Minor page faults of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def environment() -> dict:
    """Date, device and versions, for the record."""
    import mmcv
    import mmdet
    import mmengine

    cpu = platform.processor()
    flags = ''
    with contextlib.suppress(OSError):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                if line.startswith('flags'):
                    flags = line
                    break
    env = dict(
        date=time.strftime('%Y-%m-%d %H:%M:%S %Z'),
        cpu=cpu,
        cpu_count=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        amx_bf16='amx_bf16' in flags.split(),
        avx512_bf16='avx512_bf16' in flags.split(),
        torch=torch.__version__,
        mmcv=mmcv.__version__,
        mmdet=mmdet.__version__,
        mmengine=mmengine.__version__,
        mmdet_ohem=__version__)
    if torch.cuda.is_available():
        env['gpu'] = torch.cuda.get_device_name()
        env['cuda'] = torch.version.cuda
    return env
