"""Shared fixtures and markers.

The tests live in three folders: ``spec/`` (pure functions, formats,
small pieces), ``model/`` (a tiny detector trained in-process) and
``e2e/`` (subprocesses: mim, torchrun, tools); the helpers they share
(``tiny.py``, ``tiny_runs.py``, ``dist_worker.py``) sit here, on the path
because this file does. Everything in ``e2e/`` is marked ``slow``, so
``pytest -m "not slow"`` runs the quick ones alone; ``cuda`` marks the
tests that need a GPU (``dev/gpu_check.sh`` runs ``-m cuda``).
"""
import os.path as osp

import pytest
from mmdet.utils import register_all_modules
from mmengine.registry import DefaultScope

register_all_modules(init_default_scope=False)

E2E = osp.join(osp.dirname(osp.abspath(__file__)), 'e2e')


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.fspath).startswith(E2E + osp.sep):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Build modules by name in mmdet's scope, as configs do.

    Per test, because a Runner made by an earlier test (its scope
    'mmengine') would otherwise become the current default scope.
    """
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield
