"""`mmdet-ohem TOOL`, the console entry point `pip install` makes: the
tool list and each tool's own help from any folder (where `mim run
mmdet_ohem TOOL --help` prints mim's "not an OpenMMLab codebase")."""
import os.path as osp
import subprocess
import sys

import pytest

BIN = osp.join(osp.dirname(sys.executable), 'mmdet-ohem')


def run(*args, cwd):
    return subprocess.run([BIN, *args],
                          cwd=cwd,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True)


@pytest.mark.parametrize('flag', ['--help', '-h'])
def test_tool_help_from_any_folder(flag, tmp_path):
    proc = run('check_dataset', flag, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.startswith('usage: check_dataset.py')
    assert '{voc,coco,config}' in proc.stdout
    assert 'OpenMMLab' not in proc.stdout


def test_tool_list_and_unknown_tool(tmp_path):
    proc = run('--help', cwd=tmp_path)
    assert proc.returncode == 0
    assert '  selective_search    Make Selective Search proposals' in \
        proc.stdout
    # what ships is the users' tools, not the developer scripts of dev/
    assert 'install' not in proc.stdout and 'gpu_check' not in proc.stdout
    proc = run('no_such_tool', cwd=tmp_path)
    assert proc.returncode == 2
    assert "mmdet-ohem: no tool 'no_such_tool'" in proc.stdout


def test_tool_exit_status_passes_through(tmp_path):
    proc = run('trust_checkpoint', 'a.pth', 'b.pth', cwd=tmp_path)
    assert proc.returncode == 2  # argparse refuses without --trust
    assert 'refusing to convert a.pth without --trust' in proc.stdout
