"""What the benchmark measures besides time: peak memory, page faults,
the malloc setting, and the machine and versions, for the record."""
import contextlib
import os
import platform
import resource
import time
from typing import Optional

import torch
import torch.nn.functional as F

from ...version import __version__

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


def gemm_tflops(device: str,
                dtype: torch.dtype,
                k: int = 25088,
                n: int = 4096,
                m: int = 1024) -> float:
    """Attainable matrix-product throughput of this machine, in TFLOP/s.

    ``F.linear`` of an (m, k) input with (n, k) weights in ``dtype``, the
    op the fc layers run (also under autocast), with all of torch's
    threads. The defaults are fc6 of VGG16 over a chunk of 1024 RoIs, the
    GEMM that dominates the read-only pass. (On a CPU without bf16 units,
    torch.mm in bf16 is far slower still than this linear.) A probe of 64
    rows first: where it takes over 0.25 s (bf16 emulated on such a CPU),
    its own rate is returned instead of running the full size.
    """
    gen = torch.Generator(device=device).manual_seed(0)
    weight = torch.randn(n, k, generator=gen, device=device).to(dtype)
    probe = torch.randn(64, k, generator=gen, device=device).to(dtype)
    _time_linear(probe, weight, device, repeats=1)  # warm-up
    seconds = _time_linear(probe, weight, device, repeats=1)
    if seconds > 0.25:
        return 2 * 64 * k * n / seconds / 1e12
    a = torch.randn(m, k, generator=gen, device=device).to(dtype)
    _time_linear(a, weight, device, repeats=1)
    seconds = _time_linear(a, weight, device, repeats=2)
    return 2 * m * k * n * 2 / seconds / 1e12


def _time_linear(a: torch.Tensor, weight: torch.Tensor, device: str,
                 repeats: int) -> float:
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        F.linear(a, weight)
    _sync(device)
    return time.perf_counter() - start


def _sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()
