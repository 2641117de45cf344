"""What OHEM costs, measured: the library of ``tools/benchmark.py``.

- :mod:`.variants`: the five RoI-sampling variants of one detector and
  their timed training steps, the FLOP count of a step, the bf16 overlap;
- :mod:`.flops` and :mod:`.measure`: FLOPs, peak memory, page faults,
  GEMM throughput, the machine;
- :mod:`.processes`: each variant in its own process, steps interleaved;
- :mod:`.run`: the settings and one run; :mod:`.report`: ratios, limits,
  targets and the table.

Import the module you need; this package imports none of them, so that a
worker runs as ``python -m mmdet_ohem.workbench.benchmark.processes``.
"""
