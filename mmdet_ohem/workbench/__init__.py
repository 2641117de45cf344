"""The libraries of the tools in ``tools/``: synthetic data, the
benchmark, the proposal makers, the dataset scan, the weight converter,
experiments, results tables, curves and pictures.

Never imported by the plugin (``import mmdet_ohem``, which every config
runs through ``custom_imports``): import the module you need, e.g.
``from mmdet_ohem.workbench.benchmark import run``.
"""
