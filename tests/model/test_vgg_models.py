"""Fast R-CNN's VGG trunks, dropout head and ImageNet weight conversion."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from tiny import REPO

from mmdet_ohem.engine.checkpoint import save_checkpoint_safely
from mmdet_ohem.workbench.convert import convert_state_dict

VGG16_CONFIG = osp.join(REPO, 'configs/fast_rcnn_vgg16_ohem_voc.py')
CNN_M_CONFIG = osp.join(REPO, 'configs/fast_rcnn_vgg_cnn_m_1024_voc.py')
NEW_LAYERS = {
    'roi_head.bbox_head.fc_cls.weight', 'roi_head.bbox_head.fc_cls.bias',
    'roi_head.bbox_head.fc_reg.weight', 'roi_head.bbox_head.fc_reg.bias'
}


def torchvision_vgg16_state_dict():
    """Random weights with the keys and shapes of torchvision's vgg16."""
    gen = torch.Generator().manual_seed(0)
    state, in_ch, idx = {}, 3, 0
    for stage, (blocks, out_ch) in enumerate(
            zip((2, 2, 3, 3, 3), (64, 128, 256, 512, 512))):
        for _ in range(blocks):
            state[f'features.{idx}.weight'] = torch.randn(
                out_ch, in_ch, 3, 3, generator=gen)
            state[f'features.{idx}.bias'] = torch.randn(out_ch, generator=gen)
            in_ch, idx = out_ch, idx + 2  # conv, ReLU
        idx += 1  # max-pool
    for idx, (out_f, in_f) in zip((0, 3, 6),
                                  ((4096, 25088), (4096, 4096), (1000, 4096))):
        state[f'classifier.{idx}.weight'] = torch.randn(
            out_f, in_f, generator=gen)
        state[f'classifier.{idx}.bias'] = torch.randn(out_f, generator=gen)
    return state


def build(config, init_cfg=None):
    model_cfg = Config.fromfile(config).model
    model_cfg.init_cfg = init_cfg
    return MODELS.build(model_cfg)


def test_vgg16_conversion_maps_every_key():
    source = torchvision_vgg16_state_dict()
    converted, report = convert_state_dict(source, 'vgg16')
    assert [src for src, _ in report] == list(source)
    dropped = [src for src, dst in report if dst is None]
    assert dropped == ['classifier.6.weight', 'classifier.6.bias']
    assert converted['backbone.features.28.weight'].equal(
        source['features.28.weight'])  # conv5_3
    assert converted['roi_head.bbox_head.shared_fcs.1.bias'].equal(
        source['classifier.3.bias'])  # fc7

    model = build(VGG16_CONFIG)
    missing, unexpected = model.load_state_dict(converted, strict=False)
    assert unexpected == []
    assert set(missing) == NEW_LAYERS


@pytest.mark.slow
def test_converted_vgg16_initialises_the_detector(tmp_path):
    converted, _ = convert_state_dict(torchvision_vgg16_state_dict())
    ckpt = str(tmp_path / 'vgg16_init.pth')
    save_checkpoint_safely(dict(state_dict=converted), ckpt)
    model = build(VGG16_CONFIG, dict(type='Pretrained', checkpoint=ckpt))
    model.init_weights()
    state = model.state_dict()
    for key, value in converted.items():
        assert state[key].equal(value), key
    # the new layers keep mmdet's initialisation, std 0.001 for deltas
    assert state['roi_head.bbox_head.fc_reg.weight'].std() < 0.01


def test_missing_pretrained_weights_say_how_to_make_them(tmp_path):
    ckpt = tmp_path / 'checkpoints' / 'vgg16_fast_rcnn_init.pth'
    model = build(VGG16_CONFIG, dict(type='Pretrained', checkpoint=str(ckpt)))
    with pytest.raises(FileNotFoundError) as err:
        model.init_weights()
    assert 'vgg16_fast_rcnn_init.pth does not exist' in str(err.value)
    assert 'mmdet-ohem convert_weights --arch vgg16' in str(err.value)


def test_vgg_cnn_m_1024_conversion_and_shapes():
    model = build(CNN_M_CONFIG)
    shapes = {
        'conv1': (96, 3, 7, 7),
        'conv2': (256, 96, 5, 5),
        'conv3': (512, 256, 3, 3),
        'conv4': (512, 512, 3, 3),
        'conv5': (512, 512, 3, 3),
        'fc6': (4096, 512 * 6 * 6),
        'fc7': (1024, 4096),
        'fc8': (1000, 1024),
    }
    source = {}
    for name, shape in shapes.items():
        source[f'{name}.weight'] = torch.randn(shape)
        source[f'{name}.bias'] = torch.randn(shape[0])
    converted, report = convert_state_dict(source, 'vgg_cnn_m_1024')
    assert [src for src, dst in report if dst is None] == \
        ['fc8.weight', 'fc8.bias']
    missing, unexpected = model.load_state_dict(converted, strict=False)
    assert unexpected == [] and set(missing) == NEW_LAYERS
    # Caffe's arithmetic (unpadded conv1, pools rounding up), nominal
    # stride 16: 224 -> conv1 109 -> pool1 54 -> conv2 26 -> pool2 13
    feats = model.backbone(torch.zeros(1, 3, 224, 320))
    assert len(feats) == 1 and feats[0].shape == (1, 512, 13, 19)


def test_conversion_rejects_foreign_keys():
    with pytest.raises(KeyError, match='layer1.0.conv1.weight'):
        convert_state_dict({'layer1.0.conv1.weight': torch.zeros(1)})


def test_vgg16_trunk_and_dropout_head():
    model = build(VGG16_CONFIG)
    feats = model.backbone(torch.zeros(1, 3, 96, 160))
    assert feats[0].shape == (1, 512, 6, 10)  # conv5_3, stride 16
    head = model.roi_head.bbox_head
    assert [fc.out_features for fc in head.shared_fcs] == [4096, 4096]
    assert head.dropout.p == 0.5
    rois = torch.rand(6, 512, 7, 7)
    head.train()
    torch.manual_seed(0)
    train_a, _ = head(rois)
    train_b, _ = head(rois)
    assert not train_a.allclose(train_b)  # dropout is active in training
    head.eval()
    eval_a, _ = head(rois)
    eval_b, _ = head(rois)
    assert eval_a.equal(eval_b) and eval_a.shape == (6, 21)


@pytest.mark.slow
def test_convert_tool_writes_a_loadable_checkpoint(tmp_path):
    src = tmp_path / 'vgg16-random.pth'
    torch.save(torchvision_vgg16_state_dict(), src)
    dst = tmp_path / 'checkpoints' / 'vgg16_fast_rcnn_init.pth'
    out = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/convert_weights.py'), '--any-hash',
        str(src),
        str(dst)
    ],
                         capture_output=True,
                         text=True,
                         check=True).stdout
    assert 'classifier.0.weight' in out and 'shared_fcs.0.weight' in out
    assert '(dropped)' in out
    ckpt = torch.load(dst, weights_only=True)
    assert len(ckpt['state_dict']) == 30  # 13 convs + fc6 + fc7
