"""What ``import mmdet_ohem`` loads: the plugin, and none of the workbench.

Every training process runs it through ``custom_imports``; the tools'
libraries (synthetic data, benchmark, results tables, plots) must stay out
of that path. Adding a module to the plugin means adding it here.
"""
import json
import subprocess
import sys

import pytest

PLUGIN_MODULES = [
    'mmdet_ohem',
    'mmdet_ohem.datasets',
    'mmdet_ohem.datasets.checks',
    'mmdet_ohem.datasets.coco',
    'mmdet_ohem.datasets.mixin',
    'mmdet_ohem.datasets.voc',
    'mmdet_ohem.engine',
    'mmdet_ohem.engine.checkpoint',
    'mmdet_ohem.engine.eval_curve_hook',
    'mmdet_ohem.engine.exact_resume',
    'mmdet_ohem.engine.hard_example_hook',
    'mmdet_ohem.engine.hard_examples',
    'mmdet_ohem.engine.non_finite',
    'mmdet_ohem.errors',
    'mmdet_ohem.evaluation',
    'mmdet_ohem.evaluation.voc_metric',
    'mmdet_ohem.evaluation.voc_submission',
    'mmdet_ohem.fileio',
    'mmdet_ohem.models',
    'mmdet_ohem.models.convert',
    'mmdet_ohem.models.dropout_fc_bbox_head',
    'mmdet_ohem.models.fast_dropout',
    'mmdet_ohem.models.mobilenet',
    'mmdet_ohem.models.tiny_vgg',
    'mmdet_ohem.models.vgg',
    'mmdet_ohem.ohem',
    'mmdet_ohem.ohem.readonly',
    'mmdet_ohem.ohem.roi_head',
    'mmdet_ohem.ohem.sampler',
    'mmdet_ohem.ohem.selection',
    'mmdet_ohem.ops',
    'mmdet_ohem.ops.nms',
    'mmdet_ohem.ops.roi_align',
    'mmdet_ohem.proposals',
    'mmdet_ohem.proposals.formats',
    'mmdet_ohem.proposals.npz',
    'mmdet_ohem.proposals.table',
    'mmdet_ohem.version',
]


def loaded_after(statement):
    code = (f'import json, sys; {statement}; print(json.dumps(sorted('
            "m for m in sys.modules if m.split('.')[0] == 'mmdet_ohem')))")
    out = subprocess.run([sys.executable, '-c', code],
                         check=True,
                         capture_output=True,
                         text=True).stdout
    return json.loads(out.splitlines()[-1])


def test_import_loads_the_plugin_and_nothing_else():
    assert loaded_after('import mmdet_ohem') == PLUGIN_MODULES


@pytest.mark.slow
def test_workbench_is_importable_on_its_own():
    loaded = loaded_after('from mmdet_ohem.workbench import benchmark')
    assert 'mmdet_ohem.workbench.benchmark' in loaded
