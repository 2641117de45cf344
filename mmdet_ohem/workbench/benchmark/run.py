"""One benchmark run, from its settings to the results that
``tools/benchmark.py`` prints and writes.

Workloads (presets of the settings; a setting given explicitly wins):

- ``paper`` (default): VGG16 Fast R-CNN, 2 images of 600x1000, 2000
  proposals each, 64 RoIs per image (B = 128), all five variants;
- ``light``: the demo's tiny trunk (stride 8, 256-unit fcs), 2 images of
  400x560, 1000 proposals each, variants (a), (d), (e), 3 + 20 steps:
  where OHEM's fixed cost per candidate RoI is not hidden by the trunk;
- ``fpn``: mmdet's Faster R-CNN R50-FPN (a learned RPN, 1000 proposals per
  image, 512 RoIs per image), 2 images of 512x768, variants (a)-(d), 2 +
  10 steps: the two-stage detector mmdet users train, where mmdet reported
  +7.8 % per step for its ``OHEMSampler`` (1080 Ti, 800x1333).
"""
import os

from . import measure, report
from .processes import run_variants
from .variants import VARIANTS

#: Each setting where neither the caller nor a preset gives it.
DEFAULTS = dict(
    device='cpu',
    model='vgg16',
    size=(600, 1000),
    imgs=2,
    proposals=2000,
    # the first step after one warm-up step was still the slowest of
    # every variant
    warmup=2,
    iters=5,
    roi_layer=None,
    variants=list(VARIANTS),
    sequential=False,
    caching_malloc=False,
    seed=0)
#: development preset (``--quick``): about 2 minutes
QUICK = dict(size=(240, 400), proposals=400, warmup=1, iters=2)
WORKLOADS = dict(
    paper=dict(),
    light=dict(
        model='tiny',
        size=(400, 560),
        proposals=1000,
        variants=['frcn', 'ohem_head', 'ohem_head_bf16'],
        warmup=3,
        iters=20),
    # proposals: the RPN's (its max_per_img); the floor counts them
    fpn=dict(
        model='r50_fpn',
        size=(512, 768),
        proposals=1000,
        variants=['frcn', 'mmdet_ohem', 'ohem_sampler', 'ohem_head'],
        warmup=2,
        iters=10))


def settings(workload: str = 'paper', quick: bool = False, **given) -> dict:
    """The settings of a run.

    Args:
        workload (str): A key of :data:`WORKLOADS`.
        quick (bool): Apply :data:`QUICK` over the workload.
        **given: Settings named as in :data:`DEFAULTS` (and any others,
            e.g. ``out``, which are kept for the record); None means not
            given.

    Returns:
        dict: ``given`` where not None, else :data:`QUICK` (if ``quick``),
        else the workload's preset, else :data:`DEFAULTS`; ``size`` as a
        tuple.
    """
    presets = dict(DEFAULTS, **WORKLOADS[workload])
    if quick:
        presets.update(QUICK)
    out = dict(given, workload=workload, quick=quick)
    for key, value in presets.items():
        if out.get(key) is None:
            out[key] = value
    out['size'] = tuple(out['size'])
    return out


def run_benchmark(settings: dict) -> dict:
    """Time the variants (:func:`run_variants`) and evaluate them.

    Args:
        settings (dict): From :func:`settings`.

    Returns:
        dict: ``args`` (the settings), ``environment``, ``load_start`` and
        ``load_end`` (load averages), ``variants``, ``extras`` (FLOPs, GEMM
        throughput, bf16 overlap), ``ratios``, ``readonly_limits`` and
        ``targets`` (see :mod:`.report`).
    """
    environment = measure.environment()
    environment['malloc'] = (
        measure.MALLOC_TUNABLES if settings['caching_malloc'] else 'system')
    results = dict(
        args=settings, environment=environment, load_start=os.getloadavg())
    results['variants'] = run_variants(settings)
    # the first worker also counted the floor and measured the overlap
    results['extras'] = results['variants'][settings['variants'][0]].pop(
        'extras')
    results['load_end'] = os.getloadavg()
    results['ratios'] = report.ratios(results['variants'])
    results['readonly_limits'] = report.readonly_limits(results)
    results['targets'] = report.targets(results)
    return results
