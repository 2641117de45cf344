"""tools/gpu_check.sh on a machine without a GPU: one clear message, exit
3, before any install or build."""
import os
import subprocess
import sys

import pytest
import torch
from tiny import REPO


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the no-GPU path')
def test_gpu_check_stops_where_no_gpu_is_visible(tmp_path):
    env = dict(
        os.environ,
        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH'],
        GPU_CHECK_WORK=str(tmp_path / 'work'))
    proc = subprocess.run([
        'bash',
        os.path.join(REPO, 'tools', 'gpu_check.sh'), '--out',
        str(tmp_path / 'out')
    ],
                          env=env,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert ('gpu_check: no CUDA device visible '
            '(torch.cuda.is_available() is False)') in proc.stderr
    # nothing was installed or built
    assert not (tmp_path / 'work' / 'site').exists()
