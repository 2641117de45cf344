from setuptools import setup

# All metadata lives in setup.cfg; this shim keeps `pip install -e .`
# working with the setuptools<70 that the mmcv build needs.
setup()
