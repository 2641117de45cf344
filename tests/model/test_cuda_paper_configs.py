"""The paper configs as users train them: on a GPU, with mmcv's CUDA
RoIPool and nms, one full training step each (random weights; the paper
workload of 2 images of 600x1000 and 2000 proposals each)."""
import math

import pytest
import torch

from mmdet_ohem.workbench.benchmark.variants import VariantRunner

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason='needs a GPU and mmcv built with its CUDA ops')
]


@pytest.mark.parametrize('variant', ['frcn', 'ohem_head', 'ohem_head_bf16'])
@pytest.mark.parametrize('model', ['vgg16', 'vgg_cnn_m_1024'])
def test_paper_config_trains_a_step_with_cuda_roipool(model, variant):
    runner = VariantRunner(variant, model=model, device='cuda')
    head = runner.detector.roi_head
    assert type(head.bbox_roi_extractor.roi_layers[0]).__name__ == 'RoIPool'
    trainable = {
        name: p.detach().clone()
        for name, p in runner.detector.named_parameters() if p.requires_grad
    }
    runner.step()
    losses = runner.result()['losses']
    assert losses['loss'] > 0 and all(map(math.isfinite, losses.values()))
    changed = [
        name for name, p in runner.detector.named_parameters()
        if name in trainable and not torch.equal(p, trainable[name])
    ]
    assert any('roi_head' in name for name in changed)
    assert any('backbone' in name for name in changed)
