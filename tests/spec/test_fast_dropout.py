"""FastDropout: nn.Dropout's statistics and gradient from random bits."""
import pytest
import torch

from mmdet_ohem.models import FastDropout
from mmdet_ohem.models.fast_dropout import random_int16


@pytest.mark.parametrize('p', [0.5, 0.3, 0.9])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_keep_rate_and_scale(p, dtype):
    torch.manual_seed(0)
    x = torch.ones(512, 2048, dtype=dtype)
    out = FastDropout(p).train()(x)
    kept = out != 0
    # 1M draws: the standard error of the keep rate is below 5e-4
    assert abs(kept.float().mean().item() - (1 - p)) < 3e-3
    # kept elements are scaled by the inverse of the quantised keep rate
    keep = round((1 - p) * 2**16)
    scale = torch.tensor(2**16 / keep, dtype=dtype)
    assert abs(2**16 / keep * (1 - p) - 1) < 2e-4
    assert torch.equal(out[kept], scale.expand(int(kept.sum())))
    assert x.eq(1).all()  # not in place by default


def test_masks_are_uniform_and_reproducible():
    torch.manual_seed(1)
    bits = random_int16(1 << 20).int()
    assert bits.min() == -32768 and bits.max() == 32767
    # every 16-bit lane of the 64-bit draws is uniform, not only the low
    # ones (int64 random_ without its range leaves the top bit 0)
    lanes = bits.view(-1, 4)
    assert ((lanes < 0).float().mean(0) - 0.5).abs().max() < 5e-3
    torch.manual_seed(1)
    assert torch.equal(random_int16(1 << 20).int(), bits)
    drop = FastDropout(0.5).train()
    torch.manual_seed(2)
    first = drop(torch.ones(64, 64))
    second = drop(torch.ones(64, 64))
    torch.manual_seed(2)
    assert torch.equal(drop(torch.ones(64, 64)), first)
    assert not torch.equal(first, second)


def test_gradient_uses_the_same_mask():
    torch.manual_seed(0)
    x = torch.randn(32, 100, requires_grad=True)
    out = FastDropout(0.25).train()(x)
    out.backward(torch.ones_like(out))
    mask = (out != 0).float()
    assert torch.allclose(x.grad, mask / 0.75)
    assert torch.allclose(out, x.detach() * mask / 0.75)


def test_inplace_eval_and_edge_rates():
    x = torch.randn(8, 16)
    for drop in (FastDropout(0.5).eval(), FastDropout(0.).train()):
        assert torch.equal(drop(x), x)
    assert FastDropout(1.).train()(x).eq(0).all()
    y = x.clone()
    torch.manual_seed(0)
    out = FastDropout(0.5, inplace=True).train()(y)
    assert out.data_ptr() == y.data_ptr()
    kept = out != 0
    assert 0 < kept.sum() < x.numel()
    assert torch.equal(out[kept], x[kept] * 2)
