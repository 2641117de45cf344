"""HardExampleHook and the sampler's record of the RoIs it mined."""
import os

import numpy as np
import pytest
import torch
from mmengine.runner import Runner
from tiny_runs import demo_cfg

from mmdet_ohem.engine.hard_examples import draw_hard_examples, split_mined

PNG = b'\x89PNG\r\n\x1a\n'


@pytest.mark.slow
@pytest.mark.parametrize('roi_head', ['OHEMRoIHead', 'StandardRoIHead'])
def test_hook_draws_every_k_iterations_of_a_tiny_run(data_root, tmp_path,
                                                     roi_head):
    """Both entry points: the two-copy head records once per step, the
    drop-in sampler once per image; either way one PNG per K steps."""
    cfg = demo_cfg(
        'ohem',
        data_root,
        tmp_path / roi_head,
        4,
        custom_hooks=[dict(type='HardExampleHook', interval=2)])
    cfg.model.roi_head.type = roi_head
    runner = Runner.from_cfg(cfg)
    runner.train()

    out_dir = tmp_path / roi_head / 'hard_examples'
    assert sorted(
        os.listdir(out_dir)) == ['iter_000002.png', 'iter_000004.png']
    for name in os.listdir(out_dir):
        assert (out_dir / name).read_bytes()[:8] == PNG
    sampler = runner.model.roi_head.bbox_sampler
    # recording is off again between the drawn steps
    assert sampler._records is None


@pytest.mark.slow
def test_hook_needs_the_ohem_sampler(data_root, tmp_path):
    cfg = demo_cfg(
        'baseline',
        data_root,
        tmp_path,
        1,
        custom_hooks=[dict(type='HardExampleHook', interval=1)])
    with pytest.raises(TypeError, match='RandomSampler; use an OHEM'):
        Runner.from_cfg(cfg).train()


def record(rois, hard, num_imgs):
    """A record of ``mine()``: losses 0, 1, ...; the first RoI is
    foreground (label 0), the others background (label 3)."""
    rois = torch.as_tensor(rois, dtype=torch.float32).reshape(-1, 5)
    labels = torch.full((len(rois), ), 3)
    labels[:1] = 0
    return dict(
        rois=rois,
        losses=torch.arange(len(rois), dtype=torch.float32),
        labels=labels,
        hard=torch.as_tensor(hard, dtype=torch.long),
        num_imgs=num_imgs)


def test_split_mined_gives_one_entry_per_image_in_batch_order():
    # OHEMRoIHead: one record for both images; image 1 has no hard RoI
    step = record([[0, 0, 0, 4, 4], [1, 1, 1, 5, 5], [0, 2, 2, 6, 6]], [2],
                  num_imgs=2)
    # drop-in sampler: one record per image, each image's index is 0
    per_image = [
        record([[0, 0, 0, 4, 4]], [0], 1),
        record([[0, 1, 1, 5, 5], [0, 2, 2, 8, 8]], [1], 1)
    ]
    for records in ([step], per_image):
        images = split_mined(records)
        assert len(images) == 2
    images = split_mined([step])
    np.testing.assert_array_equal(images[0]['rois'],
                                  [[0, 0, 4, 4], [2, 2, 6, 6]])
    np.testing.assert_array_equal(images[0]['hard'], [False, True])
    np.testing.assert_array_equal(images[0]['losses'], [0, 2])
    np.testing.assert_array_equal(images[1]['hard'], [False])


def test_draw_hard_examples_writes_a_png_even_without_rois(tmp_path):
    images = [np.zeros((32, 48, 3), np.uint8)] * 2
    mined = split_mined([
        record([[0, 0, 0, 4, 4], [0, 1, 1, 9, 9]], [0, 1], 1),
        record(np.zeros((0, 5)), [], 1)
    ])
    out = draw_hard_examples(
        images,
        mined,
        num_classes=3,
        out_file=str(tmp_path / 'sub' / 'x.png'),
        gt_bboxes=[np.array([[0., 0., 4., 4.]]),
                   np.zeros((0, 4))])
    with open(out, 'rb') as f:
        assert f.read(8) == PNG
