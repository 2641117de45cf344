"""Proposal files: both formats round-trip, and each bad input gets one
clear error naming the file and the image, with no output left behind."""
import os
import pickle
import zipfile

import numpy as np
import pytest

from mmdet_ohem.errors import DataFileError, MissingDataError
from mmdet_ohem.proposals import (load_proposals, open_proposals, proposal_key,
                                  save_proposals)
from mmdet_ohem.proposals.table import (ProposalTable, clip_and_filter,
                                        scan_proposals)

BOXES = {
    'JPEGImages/000001.jpg':
    dict(
        bboxes=np.array([[0, 0, 10, 10], [5, 5, 20, 30]], np.float32),
        scores=np.array([0.9, 0.5], np.float32)),
    'JPEGImages/000002.jpg':
    dict(bboxes=np.zeros((0, 4), np.float32), scores=np.zeros(0)),
    'JPEGImages/000003.jpg':
    dict(bboxes=np.array([[1.5, 2, 3, 4]], np.float64)),
}


def assert_same(loaded, expected):
    assert list(loaded) == list(expected)
    for key, entry in expected.items():
        np.testing.assert_array_equal(loaded[key]['bboxes'], entry['bboxes'])
        assert loaded[key]['bboxes'].dtype == np.float32
        scores = entry.get('scores', np.zeros(len(entry['bboxes'])))
        np.testing.assert_array_equal(loaded[key]['scores'], scores)


@pytest.mark.parametrize('ext', ['.npz', '.pkl'])
def test_round_trip(tmp_path, ext):
    path = str(tmp_path / f'p{ext}')
    save_proposals(path, BOXES)
    assert os.listdir(tmp_path) == [f'p{ext}']  # no temporary files
    assert_same(load_proposals(path), BOXES)


def test_npz_is_plain_arrays_and_memory_mapped(tmp_path):
    path = str(tmp_path / 'p.npz')
    save_proposals(path, BOXES)
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == ['bboxes', 'keys', 'offsets', 'scores']
        assert npz['offsets'].tolist() == [0, 2, 2, 3]
    table = open_proposals(path)
    assert isinstance(table.bboxes, np.memmap)
    bboxes, scores = table[0]
    np.testing.assert_array_equal(bboxes,
                                  BOXES['JPEGImages/000001.jpg']['bboxes'])
    # a pickled table (a dataloader worker's copy) re-maps the file
    clone = pickle.loads(pickle.dumps(table))
    assert clone._bboxes is None and len(pickle.dumps(table)) < 2000
    np.testing.assert_array_equal(clone[2][0], [[1.5, 2, 3, 4]])


def test_pickle_keeps_only_wanted_images(tmp_path):
    path = str(tmp_path / 'p.pkl')
    save_proposals(path, BOXES)
    table = open_proposals(path, wanted=['JPEGImages/000003.jpg', 'other'])
    assert table.keys.tolist() == ['JPEGImages/000003.jpg']
    assert table.num_file_keys == 3 and len(table.bboxes) == 1


def test_accepts_mmdet_instance_data_dump(tmp_path):
    """mmdet's DumpProposals pickles InstanceData of tensors."""
    import torch
    from mmengine.structures import InstanceData
    path = str(tmp_path / 'dump.pkl')
    with open(path, 'wb') as f:
        pickle.dump(
            {
                'val2017/1.jpg':
                InstanceData(
                    bboxes=torch.tensor([[1., 2., 3., 4.]]),
                    scores=torch.tensor([0.5]))
            }, f)
    loaded = load_proposals(path)
    np.testing.assert_array_equal(loaded['val2017/1.jpg']['bboxes'],
                                  [[1, 2, 3, 4]])


def test_proposal_key_is_folder_and_file_name():
    assert proposal_key('data/VOCdevkit/VOC2007/JPEGImages/000001.jpg') == (
        'JPEGImages/000001.jpg')


def test_missing_file(tmp_path):
    with pytest.raises(MissingDataError, match='x.npz'):
        open_proposals(str(tmp_path / 'x.npz'))


@pytest.mark.parametrize('ext', ['.npz', '.pkl'])
def test_truncated_file(tmp_path, ext):
    path = str(tmp_path / f'p{ext}')
    save_proposals(path, BOXES)
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(DataFileError, match=f'p{ext}.*truncated'):
        load_proposals(path)


@pytest.mark.parametrize('ext', ['.npz', '.pkl'])
def test_garbage_file(tmp_path, ext):
    path = tmp_path / f'p{ext}'
    path.write_bytes(b'\x00garbage' * 10)
    with pytest.raises(DataFileError, match=f'p{ext}'):
        load_proposals(str(path))


def test_npz_of_another_kind(tmp_path):
    path = str(tmp_path / 'p.npz')
    np.savez(path, boxes=np.zeros((3, 4)))
    with pytest.raises(DataFileError, match="no member 'bboxes'"):
        open_proposals(path)
    np.savez_compressed(
        path,
        bboxes=np.zeros((1, 4), np.float32),
        scores=np.zeros(1, np.float32),
        keys=np.array(['a/b.jpg']),
        offsets=np.array([0, 1]))
    with pytest.raises(DataFileError, match='compressed'):
        open_proposals(path)


def test_npz_with_five_columns(tmp_path):
    path = str(tmp_path / 'p.npz')
    np.savez(
        path,
        bboxes=np.zeros((2, 5), np.float32),
        scores=np.zeros(2, np.float32),
        keys=np.array(['a/b.jpg']),
        offsets=np.array([0, 2]))
    with pytest.raises(DataFileError, match=r'p.npz: bboxes: shape \(2, 5\)'):
        open_proposals(path)


def test_pickle_of_another_kind(tmp_path):
    path = tmp_path / 'p.pkl'
    path.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(DataFileError, match='holds a list'):
        load_proposals(str(path))


@pytest.mark.parametrize(
    'bboxes, message',
    [(np.zeros((2, 5)), r'shape \(2, 5\), expected \(n, 4\)'),
     ([[0, 0, np.nan, 4]], 'box 0 .* not finite'),
     ([[0, 0, 4, 4], [0, 0, 4, np.inf]], 'box 1 .* not finite'),
     ([[10, 0, 4, 4]], 'box 0 .* inverted')])
@pytest.mark.parametrize('ext', ['.npz', '.pkl'])
def test_bad_boxes_name_file_and_image_and_leave_no_file(
        tmp_path, ext, bboxes, message):
    path = str(tmp_path / f'p{ext}')
    bad = dict(BOXES, **{'JPEGImages/000009.jpg': dict(bboxes=bboxes)})
    with pytest.raises(
            DataFileError,
            match=f"p{ext}, image 'JPEGImages/000009.jpg'.*"
            f'{message}'):
        save_proposals(path, bad)
    assert os.listdir(tmp_path) == []
    # the same checks guard reading a pickle someone else wrote
    if ext == '.pkl':
        with open(path, 'wb') as f:
            pickle.dump(bad, f)
        with pytest.raises(DataFileError, match='000009.jpg'):
            load_proposals(path)


def test_scan_names_the_image_of_a_bad_box_in_an_npz(tmp_path):
    """An npz written by other code is checked when a dataset opens it."""
    path = str(tmp_path / 'p.npz')
    np.savez(
        path,
        bboxes=np.array([[0, 0, 1, 1], [0, 0, 1, 1], [5, 0, 1, 1]],
                        np.float32),
        scores=np.zeros(3, np.float32),
        keys=np.array(['a/1.jpg', 'a/2.jpg']),
        offsets=np.array([0, 1, 3]))
    table = open_proposals(path)
    with pytest.raises(DataFileError, match="p.npz, image 'a/2.jpg'.*box 1"):
        scan_proposals(table, [0, 1], [10, 10], [10, 10], 1, None)


def test_clip_and_filter():
    bboxes = np.array(
        [
            [-5, -5, 4, 4],  # clipped to (0, 0, 4, 4)
            [2, 2, 2.5, 9],  # clipped, and 0.5 wide: degenerate
            [12, 0, 15, 4],  # outside: zero wide once clipped
            [1, 1, 30, 30],  # clipped to (1, 1, 10, 8)
            [3, 3, 6, 6],
        ],
        np.float32)
    scores = np.arange(5, dtype=np.float32)
    kept, kept_scores = clip_and_filter(bboxes, scores, 10, 8, 1, None)
    np.testing.assert_array_equal(kept,
                                  [[0, 0, 4, 4], [1, 1, 10, 8], [3, 3, 6, 6]])
    np.testing.assert_array_equal(kept_scores, [0, 3, 4])
    kept, _ = clip_and_filter(bboxes, scores, 10, 8, 1, 2)
    assert len(kept) == 2
    stats = scan_proposals(
        _table(bboxes), [0], [10], [8], min_size=1, max_num=2)
    assert stats == dict(boxes=5, clipped=4, degenerate=2, capped=1)


def _table(bboxes):
    return ProposalTable(
        'mem',
        np.array(['a/1.jpg']),
        np.array([0, len(bboxes)]),
        bboxes=bboxes,
        scores=np.zeros(len(bboxes), np.float32))


def test_unknown_extension(tmp_path):
    with pytest.raises(DataFileError, match='unknown proposal format'):
        save_proposals(str(tmp_path / 'p.json'), BOXES)
    (tmp_path / 'p.json').write_text('{}')
    with pytest.raises(DataFileError, match='unknown proposal format'):
        open_proposals(str(tmp_path / 'p.json'))


def test_zip_members_are_stored_for_memory_mapping(tmp_path):
    path = str(tmp_path / 'p.npz')
    save_proposals(path, BOXES)
    with zipfile.ZipFile(path) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
