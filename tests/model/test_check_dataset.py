"""tools/check_dataset.py: every image, box, label and proposal of a split,
one table, a non-zero exit on errors; Selective Search refuses a truncated
JPEG the same way."""
import os.path as osp
import re
import sys

import pytest
from tiny import REPO

from mmdet_ohem.errors import DataFileError
from mmdet_ohem.workbench.proposals.splits import voc_split
from mmdet_ohem.workbench.proposals.ssearch import generate_selective_search
from mmdet_ohem.workbench.synthetic import CLASSES, make_voc_dataset

sys.path.insert(0, osp.join(REPO, 'tools'))
import check_dataset  # noqa: E402

BCCD = osp.join(REPO, 'tests/data/bccd')


def truncate(path):
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


def test_real_bccd_images_zero_size_boxes_named(capsys):
    """The vendored BCCD images hold the dataset's two zero-size boxes."""
    assert check_dataset.main([
        'voc', '--data-root', BCCD, '--voc-dir', 'BCCD', '--split', 'trainval'
    ]) == 0
    out = capsys.readouterr().out
    assert ('| trainval | boxes dropped (zero size) | 2 | warning | '
            'BCCD/Annotations/BloodImage_00338.xml; '
            'BCCD/Annotations/BloodImage_00343.xml |') in out
    # classes default to the labels found, sorted; 54 RBC less 2 dropped
    assert 'objects per class: Platelets 8, RBC 52, WBC 4' in out
    assert 'No errors.' in out


@pytest.fixture
def broken_voc(tmp_path):
    root = str(tmp_path / 'voc')
    make_voc_dataset(
        root, num_trainval=3, num_test=1, img_size=(64, 96), max_proposals=20)
    voc = f'{root}/VOC2007'
    with open(f'{voc}/ImageSets/Main/trainval.txt') as f:
        ids = f.read().split()
    truncate(f'{voc}/JPEGImages/{ids[0]}.jpg')
    xml = f'{voc}/Annotations/{ids[1]}.xml'
    with open(xml) as f:
        text = f.read()
    width = int(re.search('<width>(\\d+)</width>', text).group(1))
    with open(xml, 'w') as f:
        f.write(
            text.replace(f'<width>{width}</width>',
                         f'<width>{width + 1}</width>').
            replace(
                '</annotation>', '<object><name>dics</name><bndbox><xmin>2'
                '</xmin><ymin>2</ymin><xmax>9</xmax><ymax>9</ymax></bndbox>'
                '</object></annotation>'))
    return root, ids, width


def test_broken_split_is_one_table_and_exit_1(broken_voc, capsys):
    root, ids, width = broken_voc
    status = check_dataset.main([
        'voc', '--data-root', root, '--voc-dir', 'VOC2007', '--classes',
        *CLASSES, '--proposals', 'proposals/voc07_trainval.pkl'
    ])
    out = capsys.readouterr().out
    assert status == 1
    assert (f'| images that do not decode completely | 1 | error | '
            f'VOC2007/JPEGImages/{ids[0]}.jpg (') in out
    assert 'image file is truncated' in out
    assert (f'| images whose size differs from the annotation | 1 | error | '
            f'VOC2007/JPEGImages/{ids[1]}.jpg is {width}x') in out
    assert f', its annotation says {width + 1}x' in out
    assert ("| objects with a label not in classes (" in out
            and f"'dics' (1 objects, e.g. VOC2007/Annotations/{ids[1]}.xml)"
            in out)
    assert '| images without proposals in ' in out
    assert 'Errors in: trainval' in out


def test_config_mode_checks_every_split(tmp_path, capsys):
    root = str(tmp_path / 'voc')
    make_voc_dataset(
        root, num_trainval=2, num_test=2, img_size=(64, 96), max_proposals=20)
    config = osp.join(REPO, 'configs/demo/fast_rcnn_tiny_ohem_synthvoc.py')
    status = check_dataset.main([
        'config', config, '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}'
    ])
    out = capsys.readouterr().out
    assert status == 0, out
    assert '| train | images (' in out and '| val | images (' in out
    assert '| test |' not in out  # the same split as val: checked once


def test_selective_search_refuses_a_truncated_jpeg(broken_voc, tmp_path):
    root, ids, _ = broken_voc
    split = voc_split(root, split='trainval', voc_dir='VOC2007/')
    with pytest.raises(DataFileError) as error:
        generate_selective_search(split, str(tmp_path / 'ss.npz'))
    message = str(error.value)
    assert f'VOC2007/JPEGImages/{ids[0]}.jpg: the image does not decode ' \
        'completely' in message
    assert f"(image 'JPEGImages/{ids[0]}.jpg')" in message
    assert not osp.exists(tmp_path / 'ss.npz')


def test_vendored_bccd_is_unchanged_and_licensed():
    """The copies keep their licence and attribution beside them."""
    with open(osp.join(BCCD, 'LICENSE')) as f:
        assert f.read().startswith('MIT License')
    with open(osp.join(BCCD, 'SOURCE.txt')) as f:
        assert 'Shenggan/BCCD_Dataset@d272fb14' in f.read()
