"""ProposalVOCDataset / ProposalCocoDataset: checked, lean proposal
loading, one clear error for missing data, lenient VOC XML."""
import json
import os
import os.path as osp
import pickle
import shlex
import shutil

import numpy as np
import pytest
from mmdet.registry import DATASETS

from mmdet_ohem.datasets import mixin as proposals_module
from mmdet_ohem.errors import DataFileError, MissingDataError
from mmdet_ohem.proposals import load_proposals, save_proposals
from mmdet_ohem.workbench.proposals.splits import coco_split, voc_split
from mmdet_ohem.workbench.synthetic import CLASSES, make_voc_dataset

PIPELINE = [dict(type='LoadProposals', num_max_proposals=2000)]


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('voc'))
    make_voc_dataset(
        root, num_trainval=4, num_test=2, img_size=(64, 96), max_proposals=30)
    # one file for both splits: a superset of each
    both = {}
    for split in ('trainval', 'test'):
        both.update(
            load_proposals(os.path.join(root, f'proposals/voc07_{split}.pkl')))
    save_proposals(os.path.join(root, 'proposals/all.npz'), both)
    save_proposals(os.path.join(root, 'proposals/all.pkl'), both)
    return root


def voc_cfg(root, **kwargs):
    cfg = dict(
        type='ProposalVOCDataset',
        data_root=root,
        metainfo=dict(classes=CLASSES),
        ann_file='VOC2007/ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        proposal_file='proposals/all.npz',
        test_mode=True,
        pipeline=PIPELINE)
    cfg.update(kwargs)
    return cfg


@pytest.fixture
def logged(monkeypatch):
    messages = []
    monkeypatch.setattr(proposals_module, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    return messages


@pytest.mark.parametrize('ext', ['npz', 'pkl'])
def test_superset_file_loads_through_mmdet_pipeline(voc_root, ext, logged):
    dataset = DATASETS.build(
        voc_cfg(voc_root, proposal_file=f'proposals/all.{ext}'))
    assert len(dataset) == 2
    expected = load_proposals(f'{voc_root}/proposals/voc07_test.pkl')
    for i, (key, entry) in enumerate(expected.items()):
        results = dataset[i]
        assert results['img_path'].endswith(key)
        assert results['proposals'].dtype == np.float32
        np.testing.assert_array_equal(results['proposals'], entry['bboxes'])
        np.testing.assert_array_equal(results['proposals_scores'],
                                      entry['scores'])
    assert dataset.proposal_stats['unused_file_images'] == 4
    assert '4 images of the file are not in this split' in logged[-1]


def test_npz_proposals_stay_out_of_the_data_list(voc_root):
    """Workers share the serialized data list and map the file: neither
    it nor a pickled dataset (a spawned worker's copy) holds the boxes."""
    dataset = DATASETS.build(voc_cfg(voc_root))
    assert b'proposals' not in dataset.data_bytes.tobytes()
    blob = pickle.dumps(dataset)
    assert dataset[0]['proposals'].tobytes() not in blob
    np.testing.assert_array_equal(
        pickle.loads(blob)[1]['proposals'], dataset[1]['proposals'])


def test_missing_image_is_named(voc_root, tmp_path):
    partial = load_proposals(f'{voc_root}/proposals/all.npz')
    del partial['JPEGImages/000006.jpg']
    save_proposals(str(tmp_path / 'partial.npz'), partial)
    with pytest.raises(MissingDataError) as error:
        DATASETS.build(
            voc_cfg(voc_root, proposal_file=str(tmp_path / 'partial.npz')))
    message = str(error.value)
    assert '1 of the 2 images' in message
    assert 'JPEGImages/000006.jpg' in message
    assert 'mmdet-ohem selective_search voc' in message
    assert "missing_proposals='skip'" in message


def test_missing_image_skipped_on_request(voc_root, tmp_path, logged):
    partial = load_proposals(f'{voc_root}/proposals/all.npz')
    del partial['JPEGImages/000006.jpg']
    save_proposals(str(tmp_path / 'partial.pkl'), partial)
    dataset = DATASETS.build(
        voc_cfg(
            voc_root,
            proposal_file=str(tmp_path / 'partial.pkl'),
            missing_proposals='skip'))
    assert len(dataset) == 1
    assert dataset[0]['img_path'].endswith('000005.jpg')
    assert dataset.proposal_stats['skipped_images'] == 1
    assert any('1 of the 2 images' in m and '000006.jpg' in m for m in logged)


def test_keys_that_match_no_image(voc_root, tmp_path):
    save_proposals(
        str(tmp_path / 'other.npz'), {'000005': dict(bboxes=np.zeros((1, 4)))})
    with pytest.raises(
            DataFileError,
            match=r"other.npz: none of its 1 keys.*'000005'.*"
            r"'JPEGImages/000005.jpg'"):
        DATASETS.build(
            voc_cfg(voc_root, proposal_file=str(tmp_path / 'other.npz')))


def test_clip_degenerate_and_cap(voc_root, tmp_path):
    first = load_proposals(f'{voc_root}/proposals/voc07_test.pkl')
    w = 1000  # beyond any generated image
    weird = np.array([[-3, -3, 10, 10], [5, 5, 5.5, 20], [w, 0, w + 5, 5],
                      [1, 1, 9, 9], [2, 2, 8, 8]], np.float32)
    boxes = {key: dict(bboxes=weird) for key in first}
    save_proposals(str(tmp_path / 'weird.npz'), boxes)
    dataset = DATASETS.build(
        voc_cfg(
            voc_root,
            proposal_file=str(tmp_path / 'weird.npz'),
            max_proposals=2))
    np.testing.assert_array_equal(dataset[0]['proposals'],
                                  [[0, 0, 10, 10], [1, 1, 9, 9]])
    assert dataset.proposal_stats == dict(
        images=2,
        skipped_images=0,
        unused_file_images=0,
        boxes=10,
        clipped=4,
        degenerate=4,
        capped=2)


def test_missing_data_is_one_error_with_paths_and_hints(tmp_path):
    with pytest.raises(MissingDataError) as error:
        DATASETS.build(
            voc_cfg(
                str(tmp_path),
                ann_file='VOCdevkit/VOC2007/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOCdevkit/VOC2007/'),
                proposal_file='proposals/'
                'selective_search_voc_2007_trainval.npz'))
    message = str(error.value)
    for what, path in [
        ('VOC2007 split list', 'VOC2007/ImageSets/Main/trainval.txt'),
        ('VOC2007 annotation folder', 'VOC2007/Annotations'),
        ('VOC2007 image folder', 'VOC2007/JPEGImages'),
        ('proposal file', 'proposals/selective_search_voc_2007_trainval.npz')
    ]:
        assert f'{what}: {tmp_path}/VOCdevkit/{path}' in message or (
            f'{what}: {tmp_path}/{path}' in message), what
    assert 'README, section "Data"' in message
    assert ('mmdet-ohem selective_search voc --data-root '
            f'{tmp_path} --year 2007 --voc-dir VOCdevkit/VOC2007 --split '
            'trainval') in message
    assert isinstance(error.value, FileNotFoundError)


def test_only_the_proposal_file_missing(voc_root):
    with pytest.raises(MissingDataError) as error:
        DATASETS.build(voc_cfg(voc_root, proposal_file='proposals/no.npz'))
    assert str(error.value).count('\n- ') == 1  # only that one
    assert 'proposal file: ' in str(error.value)
    assert 'mmdet-ohem convert_ss_mat' in str(error.value)


def write_xml(root, img_id, body):
    path = f'{root}/VOC2007/Annotations/{img_id}.xml'
    with open(path, 'w') as f:
        f.write(body)
    return path


@pytest.fixture
def voc_copy(voc_root, tmp_path):
    root = str(tmp_path / 'voc')
    shutil.copytree(voc_root, root)
    return root


XML = """<annotation><size><width>96</width><height>80</height></size>
<object><name> disc </name><difficult/>
<bndbox><xmin>48.5</xmin><ymin>10</ymin><xmax>60.25</xmax><ymax>30</ymax>
</bndbox></object>
<object><name>ring</name><difficult>1</difficult>
<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox>
</object></annotation>"""


def test_xml_empty_difficult_and_float_coordinates(voc_copy):
    write_xml(voc_copy, '000005', XML)
    dataset = DATASETS.build(voc_cfg(voc_copy, proposal_file=None))
    instances = dataset.get_data_info(0)['instances']
    assert instances == [
        dict(ignore_flag=0, bbox=[47.5, 9, 59.25, 29], bbox_label=1),
        dict(ignore_flag=1, bbox=[0, 1, 2, 3], bbox_label=4)
    ]


@pytest.mark.parametrize('body, message', [
    ('<annotation><size>', 'not a usable VOC annotation.*ParseError'),
    (XML.replace('<xmin>48.5', '<xmin>4x'), "<xmin> is '4x'"),
    (XML.replace('<ymin>10</ymin>', '<ymin/>'), '<ymin> is empty'),
])
def test_bad_xml_names_the_file(voc_copy, body, message):
    path = write_xml(voc_copy, '000006', body)
    with pytest.raises(DataFileError, match=f'{path}: .*{message}'):
        DATASETS.build(voc_cfg(voc_copy, proposal_file=None))


@pytest.fixture(scope='module')
def coco_root(voc_root, tmp_path_factory):
    """The synthetic test split as a COCO annotation file."""
    root = str(tmp_path_factory.mktemp('coco'))
    os.makedirs(f'{root}/coco/annotations')
    shutil.copytree(f'{voc_root}/VOC2007/JPEGImages', f'{root}/coco/val2017')
    images = [
        dict(id=i, file_name=f'00000{i}.jpg', width=96, height=64)
        for i in (5, 6)
    ]
    annotations = [
        dict(
            id=1,
            image_id=5,
            category_id=1,
            bbox=[10, 10, 20, 20],
            area=400,
            iscrowd=0)
    ]
    with open(f'{root}/coco/annotations/instances_val2017.json', 'w') as f:
        json.dump(
            dict(
                images=images,
                annotations=annotations,
                categories=[dict(id=1, name='disc')]), f)
    save_proposals(
        f'{root}/proposals/selective_search_coco_2017_val.npz', {
            'val2017/000005.jpg': dict(bboxes=[[0, 0, 200, 10]]),
            'val2017/000006.jpg': dict(bboxes=[[1, 2, 3, 4]]),
            'train2017/000001.jpg': dict(bboxes=[[1, 2, 3, 4]]),
        })
    return root


def coco_cfg(root, **kwargs):
    cfg = dict(
        type='ProposalCocoDataset',
        data_root=root,
        metainfo=dict(classes=('disc', )),
        ann_file='coco/annotations/instances_val2017.json',
        data_prefix=dict(img='coco/val2017/'),
        proposal_file='proposals/selective_search_coco_2017_val.npz',
        test_mode=True,
        pipeline=PIPELINE)
    cfg.update(kwargs)
    return cfg


def test_coco_dataset(coco_root):
    dataset = DATASETS.build(coco_cfg(coco_root))
    assert len(dataset) == 2
    np.testing.assert_array_equal(dataset[0]['proposals'], [[0, 0, 96, 10]])
    assert dataset.proposal_stats['unused_file_images'] == 1


def test_coco_missing_data(tmp_path):
    with pytest.raises(MissingDataError) as error:
        DATASETS.build(coco_cfg(str(tmp_path)))
    message = str(error.value)
    assert 'COCO annotation json: ' in message
    assert 'COCO image folder: ' in message
    assert ('mmdet-ohem selective_search coco --data-root '
            f'{tmp_path} --year 2017 --split val') in message


def hint_command(message):
    """The mmdet-ohem selective_search command of a missing-proposals hint,
    as bash would split it when pasted."""
    line = next(line for line in message.splitlines()
                if 'mmdet-ohem selective_search' in line)
    return shlex.split(line.split(': ', 1)[1])


def test_hints_for_data_without_year_paste_into_bash(coco_root, voc_root,
                                                     tmp_path):
    """A custom COCO file (no <split><year> name) in the data root itself,
    and a VOC folder that is the data root: the hint names no '<year>',
    and its '' survives bash."""
    root = str(tmp_path / 'mine')
    shutil.copytree(f'{coco_root}/coco/val2017', root)
    shutil.copy(f'{coco_root}/coco/annotations/instances_val2017.json',
                f'{root}/ann.json')
    with pytest.raises(MissingDataError) as error:
        DATASETS.build(
            coco_cfg(
                root,
                ann_file='ann.json',
                data_prefix=dict(img=''),
                proposal_file='ss.npz'))
    argv = hint_command(str(error.value))
    assert '<year>' not in str(error.value) and '--year' not in argv
    assert argv[argv.index('--img-prefix') + 1] == ''
    split = coco_split(root, ann_file='ann.json', img_prefix='')
    assert split.img_paths[0] == osp.join(root, '000005.jpg')

    voc = voc_split(f'{voc_root}/VOC2007', split='test', voc_dir='')
    assert voc.ann_file == osp.join('ImageSets', 'Main', 'test.txt')
    assert voc.img_paths[0].startswith(f'{voc_root}/VOC2007/JPEGImages/')
