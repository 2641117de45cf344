"""What ``import mmdet_ohem`` loads: the plugin, and none of the workbench.

Every training process runs it through ``custom_imports``; the tools'
libraries (``mmdet_ohem/workbench/``: benchmark, proposal makers, dataset
scan, weight converter, results tables, plots) must stay out of that path,
and the plugin's folders hold nothing else. Adding a module to the plugin
means adding it here.
"""
import ast
import glob
import json
import os
import os.path as osp
import subprocess
import sys

from tiny import REPO

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
    'mmdet_ohem.models.dropout_fc_bbox_head',
    'mmdet_ohem.models.fast_dropout',
    'mmdet_ohem.models.mobilenet',
    'mmdet_ohem.models.pretrained',
    'mmdet_ohem.models.tiny_vgg',
    'mmdet_ohem.models.vgg',
    'mmdet_ohem.ohem',
    'mmdet_ohem.ohem.branch',
    'mmdet_ohem.ohem.candidates',
    'mmdet_ohem.ohem.cascade',
    'mmdet_ohem.ohem.instruments',
    'mmdet_ohem.ohem.readonly',
    'mmdet_ohem.ohem.roi_head',
    'mmdet_ohem.ohem.sampler',
    'mmdet_ohem.ohem.selection',
    'mmdet_ohem.ops',
    'mmdet_ohem.ops.bf16',
    'mmdet_ohem.ops.nms',
    'mmdet_ohem.ops.roi_align',
    'mmdet_ohem.proposals',
    'mmdet_ohem.proposals.formats',
    'mmdet_ohem.proposals.npz',
    'mmdet_ohem.proposals.table',
    'mmdet_ohem.version',
]
PACKAGE = osp.join(REPO, 'mmdet_ohem')
# Beside the plugin in the package: the tools' libraries, and the config
# shims, which configs load by path, not `import mmdet_ohem`.
NOT_PLUGIN = ('workbench', 'configs')


def loaded_after(statement):
    code = (f'import json, sys; {statement}; print(json.dumps(sorted('
            "m for m in sys.modules if m.split('.')[0] == 'mmdet_ohem')))")
    out = subprocess.run([sys.executable, '-c', code],
                         check=True,
                         capture_output=True,
                         text=True).stdout
    return json.loads(out.splitlines()[-1])


def plugin_files():
    """Module name -> path of every .py file of the plugin's folders."""
    files = {}
    for folder, dirs, names in os.walk(PACKAGE):
        if folder == PACKAGE:
            dirs[:] = [d for d in dirs if d not in NOT_PLUGIN]
        dirs[:] = [d for d in dirs if not d.startswith(('.', '__'))]
        for name in names:
            if not name.endswith('.py'):
                continue
            parts = osp.relpath(osp.join(folder, name[:-3]),
                                REPO).split(os.sep)
            if parts[-1] == '__init__':
                parts.pop()
            files['.'.join(parts)] = osp.join(folder, name)
    return files


def imported_names(module, path):
    """Every dotted name the ``import`` statements of a file name (``from
    a import b``: ``a`` and ``a.b``), relative ones resolved, those inside
    functions too."""
    package = module.split('.')
    if not path.endswith('__init__.py'):
        package.pop()
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parent = package[:len(package) - node.level + 1]
                base = '.'.join(parent + ([base] if base else []))
            yield base
            yield from (f'{base}.{alias.name}' for alias in node.names)


def test_import_loads_the_plugin_and_nothing_else():
    assert loaded_after('import mmdet_ohem') == PLUGIN_MODULES


def test_the_plugin_folders_hold_the_plugin_only():
    """A module in the plugin's folders that ``import mmdet_ohem`` does not
    load is a tool library in the wrong place (or dead)."""
    assert sorted(plugin_files()) == PLUGIN_MODULES


def test_the_plugin_never_imports_the_workbench_or_a_tool():
    """Not even inside a function, where the first test cannot see it."""
    tools = {
        osp.basename(path)[:-3]
        for path in glob.glob(osp.join(REPO, 'tools', '*.py'))
    }
    found = [(module, name) for module, path in plugin_files().items()
             for name in imported_names(module, path)
             if name.startswith('mmdet_ohem.workbench')
             or name.split('.')[0] in tools]
    assert not found


def test_relative_imports_resolve_as_python_does():
    """The resolution the test above relies on, on a workbench module that
    imports the plugin's files (``from ..fileio import ...``) and its own
    package's (``from .splits import Split``)."""
    module = 'mmdet_ohem.workbench.proposals.ssearch'
    names = set(
        imported_names(module,
                       osp.join(PACKAGE, 'workbench/proposals/ssearch.py')))
    assert {
        'mmdet_ohem.fileio.read_image', 'mmdet_ohem.proposals',
        'mmdet_ohem.workbench.proposals.splits.Split'
    } <= names
