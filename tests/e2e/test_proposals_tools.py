"""The proposal tools on generated data: Selective Search (inside the
image, deterministic, resumable), legacy .mat conversion, recall, RPN
dump, and the memory benchmark of dev/bench_proposal_memory.py."""
import importlib.util
import os
import os.path as osp
import textwrap

import cv2
import numpy as np
import pytest
import scipy.io
import torch
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config
from tiny import REPO

from mmdet_ohem.errors import DataFileError, MissingDataError
from mmdet_ohem.proposals import load_proposals
from mmdet_ohem.workbench.proposals import ssearch
from mmdet_ohem.workbench.proposals.legacy import convert_ss_mat
from mmdet_ohem.workbench.proposals.splits import voc_split
from mmdet_ohem.workbench.proposals.ssearch import (generate_selective_search,
                                                    selective_search)
from mmdet_ohem.workbench.synthetic import CLASSES, make_voc_dataset

# Selective Search on the generated images as they are (no resize to
# 500 px), to keep the tests fast.
FAST = ['--resize-width', '0', '--min-box-size', '2']


def tool(name, folder='tools'):
    """Import <folder>/<name>.py as a module."""
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO, folder, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('voc'))
    make_voc_dataset(
        root, num_trainval=3, num_test=2, img_size=(64, 96), max_proposals=30)
    return root


def voc_args(root, split='trainval'):
    return [
        'voc', '--data-root', root, '--voc-dir', 'VOC2007/', '--split', split
    ]


def test_selective_search_boxes_inside_image_and_deterministic(voc_root):
    img = cv2.imread(f'{voc_root}/VOC2007/JPEGImages/000001.jpg')
    h, w = img.shape[:2]
    boxes = selective_search(img, resize_width=200, max_boxes=50)
    assert boxes.dtype == np.float32 and boxes.shape[1] == 4
    assert 10 <= len(boxes) <= 50
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= w).all()
    assert (boxes[:, 3] <= h).all() and (boxes[:, 2:] > boxes[:, :2]).all()
    assert len(np.unique(boxes, axis=0)) == len(boxes)
    np.testing.assert_array_equal(
        selective_search(img, resize_width=200, max_boxes=50), boxes)
    inclusive = selective_search(img, resize_width=None, pixel_inclusive=True)
    assert (inclusive[:, 2] <= w - 1).all()


def test_tool_writes_the_configs_file_name(voc_root):
    tool('selective_search').main(
        voc_args(voc_root) + FAST + ['--workers', '2', '--chunk-size', '2'])
    out = f'{voc_root}/proposals/selective_search_voc_2007_trainval.npz'
    assert not osp.exists(f'{out}.parts')
    proposals = load_proposals(out)
    assert list(proposals) == [f'JPEGImages/00000{i}.jpg' for i in (1, 2, 3)]
    dataset = DATASETS.build(
        dict(
            type='ProposalVOCDataset',
            data_root=voc_root,
            metainfo=dict(classes=CLASSES),
            ann_file='VOC2007/ImageSets/Main/trainval.txt',
            data_prefix=dict(sub_data_root='VOC2007/'),
            proposal_file='proposals/selective_search_voc_2007_trainval.npz'))
    for i in range(3):
        info = dataset.get_data_info(i)
        bboxes = info['proposals']['bboxes']
        assert len(bboxes) > 0
        assert (bboxes[:, 2] <= info['width'] - 1).all()
        assert (bboxes[:, 3] <= info['height'] - 1).all()
        scores = info['proposals']['scores']
        assert (np.diff(scores) < 0).all()  # rank order


def test_interrupted_generation_resumes(voc_root, tmp_path, monkeypatch):
    split = voc_split(voc_root, split='trainval', voc_dir='VOC2007/')
    out = str(tmp_path / 'ss.npz')
    kwargs = dict(resize_width=None, min_box_size=2, chunk_size=1)
    broken = split.img_paths[2]
    with open(broken, 'rb') as f:
        jpg = f.read()
    with open(broken, 'wb') as f:
        f.write(b'not a jpeg')
    with pytest.raises(DataFileError, match='000003.jpg.*run again'):
        generate_selective_search(split, out, **kwargs)
    assert not osp.exists(out)
    assert sorted(os.listdir(f'{out}.parts')) == [
        'chunk_000000.npz', 'chunk_000001.npz', 'params.json'
    ]
    with open(broken, 'wb') as f:
        f.write(jpg)

    calls = []
    search = ssearch.selective_search

    def counting(img, **kw):
        calls.append(img.shape)
        return search(img, **kw)

    monkeypatch.setattr(ssearch, 'selective_search', counting)
    result = generate_selective_search(split, out, **kwargs)
    assert len(calls) == 1 and result['computed'] == 1
    assert not osp.exists(f'{out}.parts')
    # the same as an uninterrupted run
    fresh = str(tmp_path / 'fresh.npz')
    generate_selective_search(split, fresh, **kwargs)
    for (key, a), (_, b) in zip(
            load_proposals(out).items(),
            load_proposals(fresh).items()):
        np.testing.assert_array_equal(a['bboxes'], b['bboxes'], key)
    # unfinished work of other settings is not mixed in
    other = str(tmp_path / 'other.npz')
    with open(broken, 'wb') as f:
        f.write(b'not a jpeg')
    try:
        with pytest.raises(DataFileError, match='000003.jpg'):
            generate_selective_search(split, other, **kwargs)
        with pytest.raises(DataFileError, match='other settings'):
            generate_selective_search(split, other,
                                      **dict(kwargs, min_box_size=3))
    finally:
        with open(broken, 'wb') as f:
            f.write(jpg)


def write_mat(path, boxes, ids=None):
    cells = np.empty((1, len(boxes)), dtype=object)
    for i, b in enumerate(boxes):
        cells[0, i] = np.asarray(b, np.float64)
    data = dict(boxes=cells)
    if ids is not None:
        data['images'] = np.array(ids, dtype=object).reshape(-1, 1)
    scipy.io.savemat(path, data)


# 1-based (y1, x1, y2, x2), as Fast R-CNN's files store them
LEGACY = [[[1, 2, 30, 40], [5, 6, 7, 8]], [[10, 20, 11, 21]], np.zeros((0, 4))]


def test_mat_round_trip(voc_root, tmp_path):
    mat = str(tmp_path / 'voc_2007_trainval.mat')
    write_mat(mat, LEGACY, ids=['000001', '000002', '000003'])
    out = str(tmp_path / 'converted.pkl')
    tool('convert_ss_mat').main([mat] + voc_args(voc_root) + ['--out', out])
    proposals = load_proposals(out)
    assert list(proposals) == [f'JPEGImages/00000{i}.jpg' for i in (1, 2, 3)]
    np.testing.assert_array_equal(proposals['JPEGImages/000001.jpg']['bboxes'],
                                  [[1, 0, 39, 29], [5, 4, 7, 6]])
    np.testing.assert_array_equal(proposals['JPEGImages/000002.jpg']['bboxes'],
                                  [[19, 9, 20, 10]])
    assert proposals['JPEGImages/000003.jpg']['bboxes'].shape == (0, 4)
    assert (np.diff(proposals['JPEGImages/000001.jpg']['scores']) < 0).all()


@pytest.mark.parametrize('boxes, ids, message', [
    (LEGACY[:2], None, 'boxes of 2 images, but the split has 3'),
    (LEGACY, ['000001', '000003', '000002'
              ], "image 2 is '000003' but the split lists '000002'"),
    ([[[1, 2, 3, 4, 5]], [], []], None,
     r"image 1 \('JPEGImages/000001.jpg'\): boxes have shape \(1, 5\)"),
    ([[[1, 2, 3, 4]], [[1, 2, np.nan, 4]], []
      ], None, r"image 2 \('JPEGImages/000002.jpg'\).*not finite"),
    ([[[1, 2, 3, 4]], [[9, 2, 3, 4]], []], None, 'image 2 .*inverted'),
])
def test_bad_mat(voc_root, tmp_path, boxes, ids, message):
    mat = str(tmp_path / 'bad.mat')
    write_mat(mat, boxes, ids)
    with pytest.raises(DataFileError, match=f'bad.mat[:,] .*{message}'):
        tool('convert_ss_mat').main(
            [mat] + voc_args(voc_root) +
            ['--out', str(tmp_path / 'out.npz')])
    assert sorted(os.listdir(tmp_path)) == ['bad.mat']


def test_truncated_mat(tmp_path):
    mat = str(tmp_path / 'cut.mat')
    write_mat(mat, LEGACY)
    with open(mat, 'rb') as f:
        data = f.read()
    with open(mat, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(DataFileError, match='cut.mat: cannot read'):
        convert_ss_mat(mat, ['a/1.jpg', 'a/2.jpg', 'a/3.jpg'])
    with pytest.raises(MissingDataError, match='none.mat'):
        convert_ss_mat(str(tmp_path / 'none.mat'), [])


def test_recall_tool_prints_table_and_plots(voc_root, tmp_path, capsys):
    plot = str(tmp_path / 'recall.png')
    tool('proposal_recall').main(
        [f'{voc_root}/proposals/voc07_test.pkl'] + voc_args(voc_root, 'test') +
        ['--classes', ','.join(CLASSES), '--plot', plot])
    out = capsys.readouterr().out
    assert '#proposals | R@0.5 | R@0.7 |    AR' in out
    table = out.split('| class |')[0]
    rows = [line.split('|') for line in table.splitlines() if '|' in line]
    assert [row[0].strip()
            for row in rows[1:]] == ['100', '300', '1000', '2000']
    recall = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    # more proposals find more; IoU 0.7 is stricter than 0.5; the
    # generated proposals are jittered copies of the objects
    assert (np.diff(recall, axis=0) >= 0).all()
    assert (recall[:, 1] <= recall[:, 0]).all() and recall[-1, 0] > 0.5
    assert os.path.getsize(plot) > 10000
    assert cv2.imread(plot) is not None


def test_recall_per_class_with_the_splits_own_labels(voc_root, tmp_path,
                                                     capsys):
    """Without --classes: every label of the split (not VOC's 20, which
    would count no object), and a row per class."""
    status = tool('proposal_recall').main(
        [f'{voc_root}/proposals/voc07_test.pkl'] + voc_args(voc_root, 'test') +
        ['--plot', str(tmp_path / 'r.png')])
    out = capsys.readouterr().out
    assert status == 0
    assert '| class | objects | R@0.5 | R@0.7 | AR (top 2000) |' in out
    rows = [line for line in out.splitlines() if line.startswith('| ')][1:]
    found = {row.split('|')[1].strip(): row for row in rows}
    assert set(found) <= set(CLASSES) and len(found) >= 2
    with pytest.raises(DataFileError, match='not in classes'):
        tool('proposal_recall').main([f'{voc_root}/proposals/voc07_test.pkl'] +
                                     voc_args(voc_root, 'test') +
                                     ['--classes', 'aeroplane,bicycle'])


def test_recall_of_hand_made_boxes():
    from mmdet_ohem.workbench.proposals.recall import proposal_recall
    gts = [np.array([[0, 0, 10, 10], [20, 20, 40, 40]], np.float32)]
    proposals = [
        np.array([[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 42, 42]],
                 np.float32)
    ]
    recall = proposal_recall(gts, proposals, nums=(1, 3), ious=(0.5, 0.9))
    # IoU of the third box with the second object: 400 / 484 = 0.83
    np.testing.assert_allclose(recall, [[0.5, 0.5], [1.0, 0.5]])


TINY_RPN = """
_base_ = 'mmdet::_base_/default_runtime.py'
model = dict(
    type='RPN',
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.],
        bgr_to_rgb=True, pad_size_divisor=8),
    backbone=dict(
        type='ResNet', depth=18, num_stages=2, strides=(1, 2),
        dilations=(1, 1), out_indices=(1, ), stem_channels=8,
        base_channels=8, norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True, init_cfg=None),
    neck=None,
    rpn_head=dict(
        type='RPNHead', in_channels=16, feat_channels=16,
        anchor_generator=dict(
            type='AnchorGenerator', scales=[2, 4], ratios=[0.5, 1.0, 2.0],
            strides=[8]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    train_cfg=None,
    test_cfg=dict(rpn=dict(
        nms_pre=500, max_per_img=100, nms=dict(type='nms', iou_threshold=0.7),
        min_bbox_size=0)))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadProposals', num_max_proposals=10),
    dict(type='PackDetInputs', meta_keys=(
        'img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
test_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VOCDataset', pipeline=test_pipeline))
test_evaluator = dict(type='VOCMetric')
test_cfg = dict(type='TestLoop')
"""


def test_dump_rpn_proposals(voc_root, tmp_path):
    config = tmp_path / 'tiny_rpn.py'
    config.write_text(textwrap.dedent(TINY_RPN))
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(config)).model)
    checkpoint = str(tmp_path / 'rpn.pth')
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    tool('dump_rpn_proposals').main(
        [str(config), checkpoint] + voc_args(voc_root, 'test') +
        ['--max-per-img', '20', '--work-dir',
         str(tmp_path / 'work')])
    proposals = load_proposals(f'{voc_root}/proposals/rpn_voc_2007_test.npz')
    assert list(proposals) == [
        'JPEGImages/000004.jpg', 'JPEGImages/000005.jpg'
    ]
    for key, entry in proposals.items():
        img = cv2.imread(f'{voc_root}/VOC2007/{key}')
        assert 0 < len(entry['bboxes']) <= 20
        # in pixels of the original image, best first
        assert (entry['bboxes'][:, 2] <= img.shape[1] + 1e-3).all()
        assert (np.diff(entry['scores']) <= 0).all()


def test_memory_benchmark_runs(tmp_path, capsys):
    tool('bench_proposal_memory', 'dev').main([
        '--num-images', '40', '--num-boxes', '10', '--workers', '2',
        '--work-dir',
        str(tmp_path), '--cases', 'ours-npz'
    ])
    row = capsys.readouterr().out.splitlines()[-1]
    assert row.startswith('| ours-npz | ') and row.count('GiB') == 4


def test_convert_pickle_to_npz(voc_root, tmp_path):
    src = f'{voc_root}/proposals/voc07_test.pkl'
    dst = str(tmp_path / 'test.npz')
    tool('convert_proposals').main([src, dst])
    for (key, a), (key_b, b) in zip(
            load_proposals(src).items(),
            load_proposals(dst).items()):
        assert key == key_b
        np.testing.assert_array_equal(a['bboxes'], b['bboxes'])
        np.testing.assert_array_equal(a['scores'], b['scores'])
