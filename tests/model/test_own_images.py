"""A user's own VOC-layout images through our dataset: PNG and mixed
formats, a missing image named with what was looked for, a truncated
image or a wrong XML size named at that image, hints that fit own data."""
import glob
import os
import os.path as osp
import pickle
import re

import pytest
from mmdet.registry import DATASETS
from voc_files import to_png

from mmdet_ohem.datasets import mixin
from mmdet_ohem.errors import DataFileError, MissingDataError
from mmdet_ohem.workbench.synthetic import make_voc_dataset

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='LoadProposals', num_max_proposals=None),
    dict(
        type='ProposalBroadcaster',
        transforms=[dict(type='Resize', scale=(160, 160), keep_ratio=True)]),
    dict(type='PackDetInputs'),
]


@pytest.fixture
def voc(tmp_path):
    """Four trainval images; proposals keyed by each image's file."""
    root = str(tmp_path)
    info = make_voc_dataset(
        root, num_trainval=4, num_test=1, img_size=(96, 128))
    return root, info


def dataset(root, info, **kwargs):
    cfg = dict(
        type='ProposalVOCDataset',
        data_root=root,
        metainfo=dict(classes=info.classes),
        ann_file=info.ann_files['trainval'],
        data_prefix=dict(sub_data_root='VOC2007/'),
        proposal_file=info.proposal_files['trainval'],
        pipeline=PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def rekey_proposals(root, info):
    """Key the proposals by each image's file, as Selective Search does."""
    path = osp.join(root, info.proposal_files['trainval'])
    with open(path, 'rb') as f:
        proposals = pickle.load(f)
    images = {
        osp.splitext(osp.basename(p))[0]: osp.basename(p)
        for p in glob.glob(osp.join(root, 'VOC2007', 'JPEGImages', '*'))
    }
    proposals = {
        f'JPEGImages/{images[osp.splitext(osp.basename(k))[0]]}': v
        for k, v in proposals.items()
    }
    with open(path, 'wb') as f:
        pickle.dump(proposals, f)


@pytest.mark.parametrize('pngs', [('000001', '000002', '000003', '000004'),
                                  ('000002', '000004')])
def test_png_and_mixed_images_load(voc, pngs):
    root, info = voc
    for img_id in pngs:
        # one of them without a <filename> naming it: found by its id
        to_png(osp.join(root, 'VOC2007'), img_id, img_id != '000002')
    rekey_proposals(root, info)
    data = dataset(root, info)
    paths = [data.get_data_info(i)['img_path'] for i in range(len(data))]
    for path in paths:
        ext = '.png' if osp.basename(path)[:6] in pngs else '.jpg'
        assert path.endswith(ext) and osp.isfile(path)
    sample = data[0]['data_samples']
    assert len(sample.gt_instances) > 0 and len(sample.proposals) > 0


def test_missing_image_is_named_with_what_was_looked_for(voc):
    root, info = voc
    os.remove(osp.join(root, 'VOC2007', 'JPEGImages', '000003.jpg'))
    with pytest.raises(MissingDataError) as error:
        dataset(root, info)
    message = str(error.value)
    assert "image '000003' is not in" in message
    assert "the XML's <filename> '000003.jpg'" in message
    assert '000003.jpg|jpeg|png|' in message
    assert 'ImageSets/Main/trainval.txt' in message
    assert 'remove the id from the split list' in message


def test_truncated_image_is_named_at_that_image(voc):
    root, info = voc
    path = osp.join(root, 'VOC2007', 'JPEGImages', '000002.jpg')
    with open(path, 'rb') as f:
        head = f.read(200)  # the header and nothing OpenCV can decode
    with open(path, 'wb') as f:
        f.write(head)
    data = dataset(root, info)
    assert data[0]['data_samples'] is not None  # the others are fine
    with pytest.raises(DataFileError) as error:
        data.prepare_data(1)
    message = str(error.value)
    assert message.startswith('VOC2007/JPEGImages/000002.jpg: the image '
                              'does not decode')
    assert 'check_dataset' in message and 'remove its id' in message


def test_wrong_xml_size_is_named_once(voc, monkeypatch):
    root, info = voc
    xml = osp.join(root, 'VOC2007', 'Annotations', '000001.xml')
    with open(xml) as f:
        text = f.read()
    width = int(re.search(r'<width>(\d+)</width>', text).group(1))
    with open(xml, 'w') as f:
        f.write(
            text.replace(f'<width>{width}</width>',
                         f'<width>{width + 40}</width>'))
    data = dataset(root, info)
    logged = []
    monkeypatch.setattr(mixin, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    data.prepare_data(0)
    data.prepare_data(0)
    warned = [m for m in logged if 'annotation says' in m]
    assert len(warned) == 1
    assert warned[0].startswith('VOC2007/JPEGImages/000001.jpg is ')
    assert f'annotation says {width + 40}x' in warned[0]


def test_own_data_hint_is_not_pascal_voc(tmp_path):
    root = str(tmp_path)
    os.makedirs(osp.join(root, 'Annotations'))
    with pytest.raises(MissingDataError) as error:
        DATASETS.build(
            dict(
                type='ProposalVOCDataset',
                data_root=root,
                metainfo=dict(classes=('cell', )),
                ann_file='ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root=''),
                pipeline=PIPELINE))
    message = str(error.value)
    assert 'PASCAL VOC' not in message
    assert 'ImageSets/Main/<split>.txt' in message
