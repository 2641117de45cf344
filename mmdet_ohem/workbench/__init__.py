"""The libraries of the tools in ``tools/``: synthetic data, the
benchmark, results tables, suites of runs, curves and pictures.

Never imported by the plugin (``import mmdet_ohem``, which every config
runs through ``custom_imports``): import the module you need, e.g.
``from mmdet_ohem.workbench import benchmark``.
"""
