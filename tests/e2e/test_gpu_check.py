"""dev/gpu_check.sh where no GPU is visible (one clear message, exit 3,
nothing installed), and its summary (dev/gpu_summary.py) of a run."""
import json
import os
import os.path as osp
import subprocess
import sys

from tiny import REPO

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4" failures="1" errors="0"
 skipped="1">
<testcase classname="tests.spec.test_selection" name="test_a"/>
<testcase classname="tests.spec.test_selection" name="test_b"/>
<testcase classname="tests.model.test_amp" name="test_c">
<failure message="boom"/></testcase>
<testcase classname="tests.model.test_amp" name="test_d">
<skipped message="no"/></testcase>
</testsuite></testsuites>
"""


def test_gpu_check_stops_where_no_gpu_is_visible(tmp_path):
    # an nvidia-smi that finds no device, first on PATH: the same answer
    # on a machine with a GPU
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'nvidia-smi'
     ).write_text('#!/bin/sh\necho "No devices were found"\nexit 6\n')
    (bin_dir / 'nvidia-smi').chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    venv, out = tmp_path / 'venv', tmp_path / 'out'
    proc = subprocess.run(
        ['bash',
         osp.join(REPO, 'dev', 'gpu_check.sh'),
         str(venv),
         str(out)],
        env=env,
        capture_output=True,
        text=True)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stderr == (
        'gpu_check: no CUDA device visible (nvidia-smi lists none)\n')
    assert not venv.exists() and not out.exists()


def test_summary_counts_the_steps_and_the_tests(tmp_path):
    (tmp_path / 'pytest_cuda.xml').write_text(JUNIT)
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'dev', 'gpu_summary.py'),
        str(tmp_path),
        str(tmp_path / 'venv'), 'install=0:51', 'pytest=1:40',
        'benchmark=0:300'
    ],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 1, proc.stderr
    summary = json.loads((tmp_path / 'gpu_check.json').read_text())
    assert summary['steps'] == {
        'install': dict(status=0, seconds=51),
        'pytest': dict(status=1, seconds=40),
        'benchmark': dict(status=0, seconds=300)
    }
    assert summary['pytest'] == dict(
        tests=4,
        failures=1,
        errors=0,
        skipped=1,
        passed=2,
        failed=['tests.model.test_amp::test_c'])
    # no install report, no benchmark results in this folder
    assert summary['mmcv_cuda_check'] is None and 'benchmark' not in summary
    assert summary['problems'][0] == 'step pytest failed'
