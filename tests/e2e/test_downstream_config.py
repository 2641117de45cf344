"""Downstream projects inherit our configs with the package installed and
this repository nowhere in sight (README, "Use our configs in your
project")."""
import glob
import os
import os.path as osp
import subprocess
import sys
import textwrap
import zipfile

import pytest
from tiny import REPO

from mmdet_ohem.workbench.synthetic import make_voc_dataset

sys.path.insert(0, osp.join(REPO, 'dev'))
from make_config_shims import expected_shims  # noqa: E402

BIN = osp.dirname(sys.executable)


def write(path, text):
    with open(path, 'w') as f:
        f.write(textwrap.dedent(text))


def run(cmd, cwd, env=None):
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return proc.stdout


def test_config_shims_are_up_to_date():
    expected = expected_shims()
    present = glob.glob(
        osp.join(REPO, 'mmdet_ohem/configs/**/*.py'), recursive=True)
    assert sorted(present) == sorted(expected), \
        'run python dev/make_config_shims.py'
    for path, text in expected.items():
        with open(path) as f:
            assert f.read() == text, f'{path}: run dev/make_config_shims.py'


@pytest.fixture(scope='module')
def installed_wheel(tmp_path_factory):
    """The package as `pip install` lays it out, from a wheel, in a folder
    of its own (first on PYTHONPATH, so it shadows the editable install)."""
    tmp = tmp_path_factory.mktemp('wheel')
    run([
        osp.join(BIN, 'pip'), 'wheel', REPO, '--no-deps',
        '--no-build-isolation', '-q', '-w',
        str(tmp)
    ],
        cwd=str(tmp))
    site = tmp / 'site'
    with zipfile.ZipFile(glob.glob(str(tmp / '*.whl'))[0]) as whl:
        whl.extractall(site)
    return str(site)


def test_downstream_config_inherits_through_read_base(installed_wheel,
                                                      tmp_path):
    project = tmp_path / 'my_project'
    project.mkdir()
    write(
        project / 'my_ohem.py', """\
        from mmengine.config import read_base

        with read_base():
            from mmdet_ohem.configs.fast_rcnn_vgg16_ohem_voc import *

        model.roi_head.bbox_head.num_classes = 3
        train_cfg.max_iters = 1000
        train_dataloader.dataset.data_root = 'my_data/'
        """)
    write(
        project / 'check.py', """\
        import sys
        from mmengine.config import Config
        from mmengine.registry import init_default_scope

        cfg = Config.fromfile('my_ohem.py')
        # the config's custom_imports ran: our modules are registered
        import mmdet_ohem
        print('package', mmdet_ohem.__file__)
        init_default_scope(cfg.default_scope)
        from mmdet.registry import MODELS
        cfg.model.init_cfg = None
        model = MODELS.build(cfg.model)
        print('head', type(model.roi_head).__name__,
              model.roi_head.bbox_head.fc_cls.out_features,
              cfg.train_cfg.max_iters, cfg.train_dataloader.dataset.data_root)
        """)
    env = dict(os.environ, PYTHONPATH=installed_wheel)
    out = run([sys.executable, 'check.py'], cwd=str(project), env=env)
    assert f'package {installed_wheel}' in out
    assert 'head OHEMRoIHead 4 1000 my_data/' in out  # 3 classes + bg


def test_wheel_ships_the_tools_and_the_manifest(installed_wheel, tmp_path):
    """`mim run mmdet_ohem <tool>` and results_table's default manifest
    need them in the installed package, not in a clone; the developer
    scripts (dev/: install, GPU check, shims) stay out of it."""
    tools = osp.join(installed_wheel, 'mmdet_ohem', '.mim', 'tools')
    shipped = sorted(os.listdir(tools))
    assert shipped == sorted(
        name for name in os.listdir(osp.join(REPO, 'tools'))
        if name.endswith(('.py', '.sh')))
    for name in ('selective_search.py', 'check_dataset.py',
                 'proposal_recall.py', 'results_table.py',
                 'show_hard_examples.py'):
        assert name in shipped
    assert not set(shipped) & set(os.listdir(osp.join(REPO, 'dev')))
    env = dict(os.environ, PYTHONPATH=installed_wheel)
    out = run([
        sys.executable,
        osp.join(tools, 'results_table.py'), '--work-root',
        str(tmp_path), '--tables', 'table3', '--no-per-class'
    ],
              cwd=str(tmp_path),
              env=env)
    assert '| fast_rcnn_vgg16_ohem_voc.py | VGG16 | OHEM' in out


def test_mim_train_runs_a_downstream_config(tmp_path):
    data_root = str(tmp_path / 'data')
    make_voc_dataset(
        data_root,
        num_trainval=4,
        num_test=2,
        img_size=(96, 128),
        max_proposals=40)
    project = tmp_path / 'my_project'
    project.mkdir()
    write(
        project / 'my_demo.py', f"""\
        from mmengine.config import read_base

        with read_base():
            from mmdet_ohem.configs.demo.fast_rcnn_tiny_ohem_synthvoc \\
                import *

        train_dataloader.dataset.data_root = {data_root!r}
        val_dataloader.dataset.data_root = {data_root!r}
        train_dataloader.batch_size = 2
        train_cfg.max_iters = 2
        train_cfg.val_interval = 100
        default_hooks.logger.interval = 1
        default_hooks.checkpoint.interval = 100
        """)
    out = run([
        osp.join(BIN, 'mim'), 'train', 'mmdet', 'my_demo.py', '--work-dir',
        str(tmp_path / 'work')
    ],
              cwd=str(project))
    assert 'Iter(train) [2/2]' in out and 'ohem_num_hard' in out
