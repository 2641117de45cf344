"""The annotation checks of ProposalVOCDataset / ProposalCocoDataset:
labels outside ``classes``, boxes outside their image, an empty split and
a COCO class order that is not the file's give one clear error or a
counted, logged fix naming the files."""
import json
import os
import shutil

import pytest
from mmdet.registry import DATASETS

from mmdet_ohem.datasets import checks
from mmdet_ohem.errors import DataFileError
from mmdet_ohem.workbench.synthetic import CLASSES, make_voc_dataset


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('voc'))
    make_voc_dataset(root, num_trainval=2, num_test=2, img_size=(64, 96))
    return root


@pytest.fixture
def voc(voc_root, tmp_path):
    """A copy of the data, and a writer of the test split's first XML."""
    root = str(tmp_path / 'voc')
    shutil.copytree(voc_root, root)
    with open(f'{root}/VOC2007/ImageSets/Main/test.txt') as f:
        first = f.read().split()[0]

    def write(objects):
        body = ''.join(
            f'<object><name>{name}</name><difficult>0</difficult><bndbox>'
            f'<xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>'
            f'<ymax>{y2}</ymax></bndbox></object>'
            for name, (x1, y1, x2, y2) in objects)
        with open(f'{root}/VOC2007/Annotations/{first}.xml', 'w') as f:
            f.write('<annotation><size><width>96</width><height>64</height>'
                    f'</size>{body}</annotation>')
        return f'VOC2007/Annotations/{first}.xml'

    return root, write


def build_voc(root, classes=CLASSES, **kwargs):
    return DATASETS.build(
        dict(
            type='ProposalVOCDataset',
            data_root=root,
            metainfo=dict(classes=classes),
            ann_file='VOC2007/ImageSets/Main/test.txt',
            data_prefix=dict(sub_data_root='VOC2007/'),
            test_mode=True,
            pipeline=[],
            **kwargs))


@pytest.fixture
def logged(monkeypatch):
    messages = []
    monkeypatch.setattr(checks, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    return messages


def test_unknown_labels_are_an_error_that_lists_them(voc):
    root, write = voc
    xml = write([('with_masks', (1, 1, 10, 10)),
                 ('with_masks', (2, 2, 20, 20)), ('disc', (5, 5, 30, 30))])
    with pytest.raises(DataFileError) as error:
        build_voc(root)
    message = str(error.value)
    assert 'test.txt: 2 objects in 1 files have labels that are not in ' \
        "classes ('square', 'disc'" in message
    assert f"'with_masks' (2 objects, e.g. {xml})" in message
    assert "unknown_classes='skip'" in message


def test_unknown_labels_skipped_and_counted_on_request(voc, logged):
    root, write = voc
    write([('with_masks', (1, 1, 10, 10)), ('disc', (5, 5, 30, 30))])
    dataset = build_voc(root, unknown_classes='skip')
    assert dataset.annotation_stats["unknown 'with_masks'"] == 1
    assert [i['bbox_label']
            for i in dataset.get_data_info(0)['instances']] == [1]
    assert "Skipped (unknown_classes='skip'): " in logged[-1]


def test_placeholder_classes_fail_on_the_labels_not_later(voc_root):
    """The README trap: classes that match no label."""
    with pytest.raises(DataFileError, match="not in classes \\('a', 'b'\\)"):
        build_voc(voc_root, classes=('a', 'b'))
    with pytest.raises(DataFileError, match='no object of classes'):
        build_voc(voc_root, classes=('a', 'b'), unknown_classes='skip')


def test_boxes_clipped_or_dropped_with_counts_and_files(voc, logged):
    root, write = voc
    xml = write([
        ('disc', (-9, 11, 30, 90)),  # partly outside: clipped
        ('disc', (120, 10, 150, 30)),  # wholly outside: dropped
        ('ring', (41, 21, 41, 40)),  # zero width: dropped
        ('ring', (11, 11, 21, 21)),  # kept as it is
    ])
    dataset = build_voc(root)
    instances = dataset.get_data_info(0)['instances']
    assert [i['bbox'] for i in instances] == [[0, 10, 29, 64],
                                              [10, 10, 20, 20]]
    stats = dataset.annotation_stats
    assert stats['clipped'] == 1
    assert stats['dropped (outside the image)'] == 1
    assert stats['dropped (zero size)'] == 1
    assert f'1 boxes partly outside their image were clipped to it: {xml}' \
        in logged[-1]
    assert f'1 boxes were dropped (zero size): {xml}' in logged[-1]
    assert f'1 boxes were dropped (outside the image): {xml}' in logged[-1]


def coco_file(root, categories, annotations):
    os.makedirs(f'{root}/images', exist_ok=True)
    path = f'{root}/ann.json'
    with open(path, 'w') as f:
        json.dump(
            dict(
                images=[
                    dict(id=1, file_name='a.jpg', width=96, height=64),
                    dict(id=2, file_name='b.jpg', width=96, height=64)
                ],
                annotations=[
                    dict(
                        id=i,
                        image_id=1 + i % 2,
                        category_id=c,
                        bbox=box,
                        area=box[2] * box[3],
                        iscrowd=0) for i, (c, box) in enumerate(annotations)
                ],
                categories=[dict(id=i, name=name) for i, name in categories]),
            f)
    return path


def build_coco(root, classes, **kwargs):
    return DATASETS.build(
        dict(
            type='ProposalCocoDataset',
            data_root=root,
            metainfo=dict(classes=classes),
            ann_file='ann.json',
            data_prefix=dict(img='images/'),
            test_mode=True,
            pipeline=[],
            **kwargs))


def test_coco_class_order_must_be_the_files(tmp_path):
    root = str(tmp_path)
    coco_file(root, [(1, 'person'), (3, 'car')], [(1, [1, 1, 10, 10]),
                                                  (3, [5, 5, 10, 10])])
    with pytest.raises(DataFileError) as error:
        build_coco(root, ('car', 'person'))
    assert ("are not in the order of the file's categories; labels follow "
            "the file's order, so use classes=('person', 'car')") in str(
                error.value)
    with pytest.raises(DataFileError, match="\\['bus'\\] are not categ"):
        build_coco(root, ('person', 'bus'))
    dataset = build_coco(root, ('person', 'car'))
    labels = [
        i['bbox_label'] for k in range(2)
        for i in dataset.get_data_info(k)['instances']
    ]
    assert sorted(labels) == [0, 1]


def test_coco_unknown_categories_and_boxes_outside(tmp_path, logged):
    root = str(tmp_path)
    coco_file(root, [(1, 'person'), (3, 'car')], [
        (1, [-5, 10, 20, 10]),
        (3, [5, 5, 10, 10]),
        (1, [100, 5, 10, 10]),
        (1, [5, 5, 10, 10]),
    ])
    with pytest.raises(
            DataFileError, match="'car' \\(1 objects, e.g. "
            'images/b.jpg\\)'):
        build_coco(root, ('person', ))
    dataset = build_coco(root, ('person', ), unknown_classes='skip')
    assert dataset.get_data_info(0)['instances'][0]['bbox'] == [0, 10, 15, 20]
    assert dataset.annotation_stats['dropped (outside the image)'] == 1
    assert 'were dropped (outside the image): images/a.jpg' in logged[-1]
