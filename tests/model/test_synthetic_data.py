"""The synthetic VOC generator: files, caching and loading by mmdet."""
import os
import pickle
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest

from mmdet_ohem.workbench import synthetic
from mmdet_ohem.workbench.synthetic import (ANN_FILES, CLASSES, PROPOSAL_FILES,
                                            SUB_DATA_ROOT, make_voc_dataset)

TINY = dict(num_trainval=4, num_test=2, img_size=(64, 96), max_proposals=60)


def read_tree(root):
    """Map each file's path relative to ``root`` to its bytes."""
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, 'rb') as f:
                files[os.path.relpath(path, root)] = f.read()
    return files


def split_ids(root, split):
    with open(os.path.join(root, ANN_FILES[split])) as f:
        return f.read().split()


def parse_xml(root, img_id):
    """Return ``(width, height, objects)``; an object is ``(name,
    difficult, [xmin, ymin, xmax, ymax])`` as written in the file."""
    ann = ET.parse(
        os.path.join(root, SUB_DATA_ROOT, 'Annotations', f'{img_id}.xml'))
    size = ann.find('size')
    objects = [(obj.find('name').text, obj.find('difficult').text, [
        int(obj.find(f'bndbox/{key}').text)
        for key in ('xmin', 'ymin', 'xmax', 'ymax')
    ]) for obj in ann.findall('object')]
    width, height = (int(size.find(key).text) for key in ('width', 'height'))
    return width, height, objects


@pytest.fixture
def count_writes(monkeypatch):
    """Count the files the generator writes."""
    written = []
    write = synthetic.write_atomic

    def counting_write(path, data):
        written.append(path)
        write(path, data)

    monkeypatch.setattr(synthetic, 'write_atomic', counting_write)
    return written


def test_same_arguments_give_identical_files(tmp_path):
    make_voc_dataset(str(tmp_path / 'a'), **TINY)
    make_voc_dataset(str(tmp_path / 'b'), **TINY)
    files = read_tree(tmp_path / 'a')
    assert len(files) == 6 * 2 + 2 * 2 + 1
    assert files == read_tree(tmp_path / 'b')


def test_same_arguments_reuse_the_dataset(tmp_path, count_writes):
    info = make_voc_dataset(str(tmp_path), **TINY)
    assert len(count_writes) == 17
    files = read_tree(tmp_path)

    count_writes.clear()
    assert make_voc_dataset(str(tmp_path), **TINY) == info
    assert count_writes == []
    assert read_tree(tmp_path) == files


@pytest.mark.parametrize('change', [
    dict(seed=1),
    dict(num_test=3),
    dict(img_size=(64, 80)),
    dict(max_proposals=40),
])
def test_changed_arguments_regenerate(tmp_path, change):
    make_voc_dataset(str(tmp_path / 'reused'), **TINY)
    args = {**TINY, **change}
    make_voc_dataset(str(tmp_path / 'reused'), **args)
    make_voc_dataset(str(tmp_path / 'fresh'), **args)
    assert read_tree(tmp_path / 'reused') == read_tree(tmp_path / 'fresh')


def test_regeneration_removes_selective_search_proposals(tmp_path):
    make_voc_dataset(str(tmp_path), **TINY)
    proposals = tmp_path / 'proposals'
    (proposals / 'selective_search_voc_2007_test.pkl').write_bytes(b'old')
    (proposals / 'selective_search_voc_2007_trainval.pkl.parts').mkdir()
    (proposals / 'mine.pkl').write_bytes(b'kept')

    make_voc_dataset(str(tmp_path), **TINY)  # the same images: all kept
    assert len(os.listdir(proposals)) == 5
    make_voc_dataset(str(tmp_path), **{**TINY, 'seed': 1})
    assert sorted(os.listdir(proposals)) == [
        'mine.pkl', 'voc07_test.pkl', 'voc07_trainval.pkl'
    ]


def test_interrupted_regeneration_is_redone(tmp_path, monkeypatch):
    old = {**TINY, 'seed': 1}
    make_voc_dataset(str(tmp_path / 'cut'), **old)
    write = synthetic.write_atomic
    written = []

    def write_then_fail(path, data):
        if len(written) == 5:
            raise KeyboardInterrupt
        written.append(path)
        write(path, data)

    monkeypatch.setattr(synthetic, 'write_atomic', write_then_fail)
    with pytest.raises(KeyboardInterrupt):
        make_voc_dataset(str(tmp_path / 'cut'), **TINY)
    assert not (tmp_path / 'cut' / synthetic.MANIFEST).exists()

    # The half-overwritten dataset must not pass for the old one.
    monkeypatch.setattr(synthetic, 'write_atomic', write)
    make_voc_dataset(str(tmp_path / 'cut'), **old)
    make_voc_dataset(str(tmp_path / 'fresh'), **old)
    assert read_tree(tmp_path / 'cut') == read_tree(tmp_path / 'fresh')


def testwrite_atomic_leaves_old_file_on_failure(tmp_path):
    path = tmp_path / 'file.txt'
    path.write_bytes(b'old')
    with pytest.raises(TypeError):
        synthetic.write_atomic(str(path), None)
    assert path.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['file.txt']


def test_annotations_are_valid_voc(tmp_path):
    root = str(tmp_path)
    info = make_voc_dataset(root, **{**TINY, 'num_trainval': 10})
    assert info.classes == CLASSES
    trainval, test = split_ids(root, 'trainval'), split_ids(root, 'test')
    assert len(trainval) == 10 and len(test) == 2
    assert not set(trainval) & set(test)

    names, difficult_flags = set(), []
    for img_id in trainval + test:
        img = cv2.imread(
            os.path.join(root, SUB_DATA_ROOT, 'JPEGImages', f'{img_id}.jpg'))
        width, height, objects = parse_xml(root, img_id)
        assert img.shape == (height, width, 3)
        assert 64 <= min(width, height) and max(width, height) <= 96
        for name, difficult, (xmin, ymin, xmax, ymax) in objects:
            assert name in CLASSES
            assert difficult in ('0', '1')
            # 1-based pixel numbers of the first and last covered pixel.
            assert 1 <= xmin < xmax <= width
            assert 1 <= ymin < ymax <= height
            names.add(name)
            difficult_flags.append(difficult)
    assert len(names) >= 3
    assert '0' in difficult_flags and '1' in difficult_flags


def box_iou(a, b):
    """IoU of boxes ``a`` (n, 4) and ``b`` (m, 4), as (n, m)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / (area_a[:, None] + area_b[None] - inter)


def test_proposals_match_images(tmp_path):
    root = str(tmp_path)
    info = make_voc_dataset(root, **TINY)
    for split in ('trainval', 'test'):
        assert info.proposal_files[split] == os.path.join(
            root, PROPOSAL_FILES[split])
        with open(info.proposal_files[split], 'rb') as f:
            proposals = pickle.load(f)
        img_ids = split_ids(root, split)
        assert list(proposals) == [f'JPEGImages/{i}.jpg' for i in img_ids]
        for img_id in img_ids:
            width, height, objects = parse_xml(root, img_id)
            bboxes = proposals[f'JPEGImages/{img_id}.jpg']['bboxes']
            scores = proposals[f'JPEGImages/{img_id}.jpg']['scores']
            assert bboxes.dtype == np.float32 and scores.dtype == np.float32
            assert bboxes.ndim == 2 and bboxes.shape[1] == 4
            assert 0 < len(bboxes) <= TINY['max_proposals']
            assert scores.shape == (len(bboxes), )
            assert np.all(np.diff(scores) <= 0)
            assert np.all((scores >= 0) & (scores <= 1))
            assert bboxes.min() >= 0
            assert np.all(bboxes[:, 2] <= width - 1)
            assert np.all(bboxes[:, 3] <= height - 1)
            assert np.all(bboxes[:, 2] > bboxes[:, 0])
            assert np.all(bboxes[:, 3] > bboxes[:, 1])
            assert len(np.unique(bboxes, axis=0)) == len(bboxes)
            # mmdet's VOCDataset subtracts 1 from the XML coordinates.
            gt = np.array([box for _, _, box in objects], np.float32) - 1
            if len(gt):
                assert np.all(box_iou(gt, bboxes).max(axis=1) >= 0.7)


def test_voc_dataset_loads_train_split(tmp_path):
    from mmdet.datasets import VOCDataset
    from mmdet.utils import register_all_modules
    register_all_modules()

    root = str(tmp_path)
    info = make_voc_dataset(root, **{**TINY, 'num_trainval': 10})
    dataset = VOCDataset(
        data_root=root,
        metainfo=dict(classes=info.classes),
        ann_file=ANN_FILES['trainval'],
        data_prefix=dict(sub_data_root=SUB_DATA_ROOT),
        proposal_file=PROPOSAL_FILES['trainval'],
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='LoadProposals', num_max_proposals=None),
            dict(
                type='ProposalBroadcaster',
                transforms=[
                    dict(type='Resize', scale=(256, 256), keep_ratio=True),
                    dict(type='RandomFlip', prob=0.5),
                ]),
            dict(type='PackDetInputs'),
        ])
    assert len(dataset) == 10

    num_ignored = 0
    for idx, img_id in enumerate(split_ids(root, 'trainval')):
        _, _, objects = parse_xml(root, img_id)
        instances = dataset.get_data_info(idx)['instances']
        assert [inst['ignore_flag'] for inst in instances] == \
            [int(difficult) for _, difficult, _ in objects]
        assert [inst['bbox_label'] for inst in instances] == \
            [CLASSES.index(name) for name, _, _ in objects]

        sample = dataset[idx]['data_samples']
        num_proposals = len(dataset.get_data_info(idx)['proposals']['bboxes'])
        assert sample.proposals.bboxes.shape == (num_proposals, 4)
        assert len(sample.gt_instances) + len(sample.ignored_instances) \
            == len(objects)
        num_ignored += len(sample.ignored_instances)
    assert num_ignored > 0
