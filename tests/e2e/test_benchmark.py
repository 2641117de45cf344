"""tools/benchmark.py: the --quick path on a tiny model, and its FLOP count.

No timing is asserted: the figures depend on the machine and its load.
"""
import importlib.util
import json
import os
import os.path as osp
import platform
import subprocess
import sys

import pytest
import torch
from tiny import REPO

from mmdet_ohem.workbench import benchmark, measure


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'benchmark_tool', osp.join(REPO, 'tools/benchmark.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_quick_run_reports_every_variant_ratio_and_the_limits(tmp_path):
    out = tmp_path / 'bench.json'
    load_tool().main([
        '--quick', '--model', 'tiny', '--size', '64', '96', '--proposals',
        '40', '--warmup', '0', '--iters', '1', '--caching-malloc', '--out',
        str(out)
    ])
    results = json.loads(out.read_text())
    assert list(results['variants']) == list(benchmark.VARIANTS)
    for key, res in results['variants'].items():
        assert len(res['times']) == 1
        assert res['median_s'] > 0 and res['peak_mem_mib'] > 0, key
        assert set(results['ratios'][key]) == {
            'to_frcn', 'min_to_frcn', 'to_mmdet_ohem', 'min_to_mmdet_ohem'
        }
        # only our samplers have an NMS + top-k to time
        assert (res['selection_s'] is not None) == key.startswith('ohem_')
    assert results['ratios']['frcn']['to_frcn'] == 1
    assert results['extras']['floor']['floor'] > 1
    # the read-only pass against its ideal time, from the measured GEMMs
    gemm = results['extras']['gemm_tflops']
    assert set(gemm) == {'float32', 'bfloat16'} and min(gemm.values()) > 0
    limits = results['readonly_limits']
    # mmdet's sampler mines only where an image has more candidates than
    # its budget: not on this tiny batch
    assert results['variants']['mmdet_ohem']['readonly_s'] == 0
    assert set(limits) == {'ohem_sampler', 'ohem_head', 'ohem_head_bf16'}
    for key, lim in limits.items():
        assert lim['ideal_s'] == pytest.approx(
            results['extras']['floor']['readonly_tflop'] / gemm[lim['dtype']])
        assert lim['efficiency'] == pytest.approx(
            lim['ideal_s'] / results['variants'][key]['readonly_s'])
        assert lim['ideal_step_ratio'] > 1
    assert limits['ohem_head_bf16']['dtype'] == 'bfloat16'
    assert 'ohem_head_readonly_efficiency' in results['targets']
    overlap = results['extras']['overlap']
    assert 0 <= overlap['fraction'] <= 1 and overlap['num_exact'] > 0
    assert 'fast_time' in results['targets']
    assert results['environment']['torch'] == torch.__version__
    assert results['environment']['malloc'] == measure.MALLOC_TUNABLES
    for res in results['variants'].values():
        assert len(res['minor_faults']) == 1 and res['minor_faults'][0] >= 0


def test_caching_malloc_env_keeps_other_tunables():
    env = measure.caching_malloc_env({'GLIBC_TUNABLES': 'glibc.a=1'})
    assert env['GLIBC_TUNABLES'] == 'glibc.a=1:' + measure.MALLOC_TUNABLES
    assert measure.caching_malloc_env({})['GLIBC_TUNABLES'] == \
        measure.MALLOC_TUNABLES


FAULTS_OF_REPEATED_ALLOCATIONS = """
import resource, torch
torch.empty(1).fill_(0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):
    torch.empty(16 * 2**20).fill_(1)  # 64 MiB, freed at once
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(
    platform.libc_ver()[0] != 'glibc', reason='GLIBC_TUNABLES is glibc')
def test_caching_malloc_env_reuses_freed_memory():
    """With glibc's defaults each 64 MiB tensor is mapped afresh and
    faulted in page by page; under the workers' settings glibc keeps the
    freed blocks (it grows its heap for the first few, then reuses)."""

    def faults(env):
        out = subprocess.run(
            [sys.executable, '-c', FAULTS_OF_REPEATED_ALLOCATIONS],
            env=env,
            capture_output=True,
            text=True,
            check=True).stdout
        return int(out)

    system = dict(os.environ)
    system.pop('GLIBC_TUNABLES', None)
    pages = 64 * 2**20 // 4096
    assert faults(system) >= 30 * pages
    assert faults(measure.caching_malloc_env(system)) < 15 * pages


def test_floor_counts_vgg16_as_the_paper_arithmetic():
    """VGG16, 2 x 600x1000, 2 x 2000 RoIs: ~0.96 TFLOP read-only against
    ~1.9 TFLOP for the step with conv1-2 frozen (docs/benchmarks.md)."""
    floor = benchmark.floor_for('vgg16', size=(600, 1000), num_proposals=2000)
    assert floor['batch_shape'] == [608, 1008]  # padded to 16
    # fc6 + fc7 + cls + reg of one RoI, 2 FLOPs per multiply-add
    per_roi = 2 * (25088 * 4096 + 4096 * 4096 + 4096 * 21 + 4096 * 80)
    assert floor['head_forward_gflop_per_roi'] * 1e9 == pytest.approx(per_roi)
    assert floor['readonly_tflop'] == pytest.approx(
        per_roi * 2 * (2000 + benchmark.NUM_GTS) / 1e12)
    assert floor['readonly_tflop'] == pytest.approx(0.97, abs=0.02)
    assert floor['baseline_step_tflop'] == pytest.approx(1.9, abs=0.1)
    assert 1.45 < floor['floor'] < 1.55


def test_light_workload_presets_and_explicit_flags():
    tool = load_tool()
    args = tool.parse_args(['--workload', 'light'])
    assert (args.model, args.size, args.proposals,
            args.iters) == ('tiny', (400, 560), 1000, 20)
    assert args.variants == ['frcn', 'ohem_head', 'ohem_head_bf16']
    # a flag given on the command line wins over the preset
    assert tool.parse_args(['--workload', 'light', '--iters', '7']).iters == 7
    assert tool.parse_args([]).model == 'vgg16'
