"""README, "Your own data", run as it stands: its config and its commands,
from a project folder of a user's, on generated data with the user's class
names, in PNG and in mixed PNG/JPEG as real exports have them, up to `mim
test`'s mAP line."""
import glob
import json
import os
import os.path as osp
import re
import shlex
import shutil
import subprocess
import sys

import pytest
from readme import readme_block
from voc_files import to_png

from mmdet_ohem.workbench.results import read_run
from mmdet_ohem.workbench.synthetic import make_voc_dataset

# the generated shapes -> the README's classes
LABELS = dict(
    square='RBC', disc='WBC', triangle='Platelets', cross='RBC', ring='WBC')


def make_cells(root, images):
    """A VOC-layout folder without a year, labelled with LABELS, its
    images all PNG or every other one (``images``: 'png', 'mixed')."""
    gen = osp.join(root, 'gen')
    make_voc_dataset(gen, num_trainval=8, num_test=4, img_size=(96, 128))
    cells = osp.join(root, 'data', 'cells')
    shutil.move(osp.join(gen, 'VOC2007'), cells)
    shutil.rmtree(gen)
    for xml in glob.glob(osp.join(cells, 'Annotations', '*.xml')):
        with open(xml) as f:
            text = f.read()
        for shape, label in LABELS.items():
            text = text.replace(f"<name>{shape}</name>",
                                f"<name>{label}</name>")
        with open(xml, 'w') as f:
            f.write(text)
    ids = sorted(
        osp.splitext(name)[0]
        for name in os.listdir(osp.join(cells, 'JPEGImages')))
    for img_id in ids[::1 if images == 'png' else 2]:
        to_png(cells, img_id)


@pytest.fixture(scope='module', params=['png', 'mixed'])
def project(request, tmp_path_factory):
    root = str(tmp_path_factory.mktemp(f'my_project_{request.param}'))
    make_cells(root, request.param)
    with open(osp.join(root, 'cells_ohem.py'), 'w') as f:
        f.write(readme_block('own-data-config'))
    return root


def commands():
    """The README's commands up to '# then the real run'."""
    lines = readme_block('own-data-commands').split('# then the real run')[0]
    return [
        shlex.split(line) for line in lines.splitlines()
        if line.strip() and not line.startswith('#')
    ]


def test_readme_own_data_runs_as_written(project):
    env = dict(
        os.environ,
        PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    outputs = []
    for argv in commands():
        proc = subprocess.run(
            argv,
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True)
        assert proc.returncode == 0, f'{argv}:\n{proc.stdout[-4000:]}'
        outputs.append(proc.stdout)
    assert [argv[:2] for argv in commands()] == [
        ['mmdet-ohem', 'convert_weights'],
        ['mmdet-ohem', 'selective_search'],
        ['mmdet-ohem', 'selective_search'],
        ['mmdet-ohem', 'check_dataset'],
        ['mim', 'train'],
        ['mim', 'test'],
    ]
    ss_out, check_out, test_out = outputs[1], outputs[3], outputs[5]
    assert ("In a config with data_root='data/cells': "
            "proposal_file='proposals/ss_trainval.npz'") in ss_out
    assert '| train | images (' in check_out and 'No errors.' in check_out
    assert re.search(r'pascal_voc/mAP: \d\.\d+', test_out), test_out[-3000:]
    # the user's classes reached the metric
    assert re.search('pascal_voc/AP50_(RBC|WBC|Platelets): ', test_out)
    assert not re.search(f'AP50_({"|".join(LABELS)})', test_out)
    # results_table's reader finds the test and the checkpoint it scored
    run = read_run(osp.join(project, 'work_dirs', 'cells_ohem'))
    assert run.checkpoint == 'work_dirs/cells_ohem/iter_20.pth'
    assert run.scores_final and 'pascal_voc/mAP' in run.metrics
    # the test mAP along training, with its wall-clock
    with open(
            osp.join(project, 'work_dirs', 'cells_ohem',
                     'eval_curve.jsonl')) as f:
        (record, ) = [json.loads(line) for line in f]
    assert record['iter'] == 20 and record['train_seconds'] > 0


def test_max_iters_carries_into_schedule_and_checkpoints(project):
    """The named variables reach every place that uses them."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(project, 'cells_ohem.py'))
    assert cfg.train_cfg.max_iters == cfg.max_iters == 2000
    assert cfg.param_scheduler[-1].milestones == [1500]
    assert cfg.param_scheduler[-1].end == 2000
    assert cfg.default_hooks.checkpoint.interval == 500
    assert cfg.model.roi_head.bbox_head.num_classes == 3
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        dataset = loader.dataset
        assert dataset.data_root == 'data/cells/'
        assert dataset.metainfo.classes == ('RBC', 'WBC', 'Platelets')
        steps = {step.type: step for step in dataset.pipeline}
        resize = steps['ProposalBroadcaster'].transforms[0]
        assert resize.type == 'Resize' and resize.scale == (640, 480)
        assert steps['LoadProposals'].num_max_proposals == 2000
    # validation is the test split (not BCCD's, which the base config had)
    assert cfg.val_dataloader == cfg.test_dataloader
    assert cfg.train_cfg.val_interval == 500
    assert cfg.custom_hooks[-1].type == 'EvalCurveHook'
    assert cfg.model.init_cfg.checkpoint == \
        'checkpoints/mobilenet_v2_fast_rcnn_init.pth'
    assert cfg.model.backbone.type == 'MobileNetV2Trunk'
