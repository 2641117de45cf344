"""What the benchmark's measurements mean: ratios between the variants,
the read-only pass against its ideal time, the issue's targets, and the
table ``tools/benchmark.py`` prints.

Each function reads the results dict of
:func:`~mmdet_ohem.workbench.benchmark.run.run_benchmark` (``variants``,
``extras``, ``args``, and what the functions before it added).
"""
import statistics

from .variants import VARIANTS

#: Limits of the targets per workload: the step time of (d) and (e) over
#: (a), the selection's share of the step, the read-only pass's efficiency
#: (None: not a target). Wherever (b) runs, (d) over (a) must not exceed
#: (b) over (a).
LIMITS = dict(
    paper=dict(exact=None, fast=1.15, selection_share=0.02, efficiency=0.6),
    light=dict(exact=1.3, fast=1.3, selection_share=0.03, efficiency=0.6),
    fpn=dict(exact=None, fast=None, selection_share=0.02, efficiency=None))
#: the read-only pass's dtype per variant, for its ideal time
READONLY_DTYPE = dict(
    mmdet_ohem='float32',
    ohem_sampler='float32',
    ohem_head='float32',
    ohem_head_bf16='bfloat16')


def ratios(variants: dict) -> dict:
    """Median (and min) s/iter of each variant over (a) and (b).

    Args:
        variants (dict): Variant key -> ``median_s`` and ``min_s``.

    Returns:
        dict: Variant key -> ``to_frcn`` and ``min_to_frcn`` (median over
        (a)'s median, min over (a)'s min), and the same ``*_mmdet_ohem``
        over (b), for each of (a) and (b) that ran.
    """
    out = {}
    for ref in ('frcn', 'mmdet_ohem'):
        if ref not in variants:
            continue
        for key, res in variants.items():
            out.setdefault(key, {})[f'to_{ref}'] = (
                res['median_s'] / variants[ref]['median_s'])
            out[key][f'min_to_{ref}'] = (res['min_s'] / variants[ref]['min_s'])
    return out


def readonly_limits(results: dict) -> dict:
    """The read-only pass of each variant against its ideal time.

    ideal = the pass's FLOPs / the GEMM throughput of its dtype on this
    machine; efficiency = ideal / measured; ideal step ratio = 1 + ideal /
    (a)'s median step: what the variant would cost if its read-only pass
    ran at the machine's GEMM rate and nothing else were added.
    """
    var, ext = results['variants'], results['extras']
    out = {}
    for key, res in var.items():
        if not res.get('readonly_s') or key not in READONLY_DTYPE:
            continue  # no read-only pass, or it never ran
        dtype = READONLY_DTYPE[key]
        ideal = ext['floor']['readonly_tflop'] / ext['gemm_tflops'][dtype]
        out[key] = dict(
            dtype=dtype,
            ideal_s=ideal,
            measured_s=res['readonly_s'],
            efficiency=ideal / res['readonly_s'])
        if 'frcn' in var:
            out[key]['ideal_step_ratio'] = 1 + ideal / var['frcn']['median_s']
    return out


def targets(results: dict) -> dict:
    """The issue's targets, each with its measured value and verdict."""
    var, rat = results['variants'], results['ratios']
    limits = LIMITS[results['args']['workload']]
    checks = {}

    def check(name, value, limit, ok):
        checks[name] = dict(value=value, limit=limit, met=bool(ok))

    for key, lim in results['readonly_limits'].items():
        if key.startswith('ohem_head') and limits['efficiency'] is not None:
            value, limit = lim['efficiency'], limits['efficiency']
            check(f'{key}_readonly_efficiency', value, limit, value >= limit)
    if 'ohem_head' in rat and 'to_frcn' in rat['ohem_head']:
        value = rat['ohem_head']['to_frcn']
        if limits['exact'] is not None:
            check('exact_time', value, limits['exact'], value
                  <= limits['exact'])
        if 'to_mmdet_ohem' in rat['ohem_head']:
            check('exact_not_slower_than_mmdet', value,
                  rat['mmdet_ohem']['to_frcn'],
                  rat['ohem_head']['to_mmdet_ohem'] <= 1)
    if 'ohem_head_bf16' in rat and 'to_frcn' in rat['ohem_head_bf16'] \
            and limits['fast'] is not None:
        value = rat['ohem_head_bf16']['to_frcn']
        check('fast_time', value, limits['fast'], value <= limits['fast'])
    # "identical on at least 98% of hard RoIs": |fp32 & bf16| / |fp32|
    overlap = results['extras']['overlap']['fraction']
    check('fast_selection_overlap', overlap, 0.98, overlap >= 0.98)
    if 'frcn' in var:
        limit = 1.1 * var['frcn']['peak_mem_mib']
        for key in ('ohem_head', 'ohem_head_bf16'):
            if key in var:
                value = var[key]['peak_mem_mib']
                check(f'{key}_memory', value, limit, value <= limit)
    for key, res in var.items():
        if res.get('selection_s') is not None:
            value = res['selection_s'] / res['median_s']
            limit = limits['selection_share']
            check(f'{key}_selection_share', value, limit, value <= limit)
    return checks


def table(results: dict) -> str:
    """The results as the tool prints them: a row per variant, then the
    legend, the FLOPs, the GEMM throughput, the bf16 overlap and a line
    per target."""
    var, rat = results['variants'], results['ratios']
    mem = next(iter(var.values()))['peak_mem_kind']
    lines = [
        f"{'variant':<20} {'median':>7} {'min':>7} {'/(a)':>6} "
        f"{'min/(a)':>7} {'/(b)':>6} {'peak MiB':>9} {'ro s':>6} "
        f"{'ideal':>6} {'eff %':>6} {'ideal/(a)':>9} {'sel ms':>7} "
        f"{'sel %':>6} {'faults':>7}"
    ]
    limits = results['readonly_limits']

    def fmt(value, spec):
        return format(value, spec) if value is not None else '-'

    for key, res in var.items():
        label = VARIANTS[key][0]
        sel = res.get('selection_s')
        lim = limits.get(key, {})
        lines.append(
            f"({label}) {key:<16} {res['median_s']:>7.2f} "
            f"{res['min_s']:>7.2f} "
            f"{fmt(rat[key].get('to_frcn'), '6.3f'):>6} "
            f"{fmt(rat[key].get('min_to_frcn'), '7.3f'):>7} "
            f"{fmt(rat[key].get('to_mmdet_ohem'), '6.3f'):>6} "
            f"{res['peak_mem_mib']:>9.0f} "
            f"{fmt(res.get('readonly_s'), '6.3f'):>6} "
            f"{fmt(lim.get('ideal_s'), '6.3f'):>6} "
            f"{fmt(100 * lim['efficiency'] if lim else None, '6.1f'):>6} "
            f"{fmt(lim.get('ideal_step_ratio'), '9.3f'):>9} "
            f"{fmt(sel and sel * 1e3, '7.1f'):>7} "
            f"{fmt(sel and 100 * sel / res['median_s'], '6.2f'):>6} "
            f"{statistics.median(res['minor_faults']):>7.0f}")
    floor = results['extras']['floor']
    overlap = results['extras']['overlap']
    lines += [
        f'({label}) {desc}' for label, desc in (VARIANTS[key] for key in var)
    ]
    lines += [
        f'times: s/iter over {results["args"]["iters"]} steps (/: median '
        f'over median, min/: min over min); peak memory: {mem}; ro: '
        'read-only pass per step; ideal: its FLOPs over the GEMM '
        'throughput of its dtype; eff: ideal / ro; ideal/(a): 1 + ideal / '
        "(a)'s step; sel: NMS + top-k per step; faults: minor page faults "
        'per step (median)',
        f"read-only pass {floor['readonly_tflop'] * 1e3:.4g} GFLOP, "
        f"baseline step {floor['baseline_step_tflop'] * 1e3:.4g} GFLOP; "
        'GEMM throughput (fc6-shaped product): ' + ', '.join(
            f'{dtype} {tflops:.3g} TFLOP/s'
            for dtype, tflops in results['extras']['gemm_tflops'].items()),
        f"bf16 vs fp32 hard set: {overlap['num_common']} of "
        f"{overlap['num_exact']} the same ({overlap['fraction']:.4f}), "
        f"IoU {overlap['iou']:.4f}",
    ]
    for name, res in results['targets'].items():
        verdict = 'met' if res['met'] else 'MISSED'
        lines.append(f"target {name}: {res['value']:.4g} "
                     f"(limit {res['limit']:.4g}) {verdict}")
    return '\n'.join(lines)
