"""The read-only pass's CPU RoIAlign equals mmcv's RoIAlign."""
import pytest
import torch
from mmcv.ops import RoIAlign

from mmdet_ohem.ops.roi_align import (ChannelsLastRoIAlign, readonly_roi_layer,
                                      readonly_roi_pooler)


def rois_on(num_imgs, height, width, stride, n=300, seed=0):
    """RoIs of every kind: inside, across and beyond the border, tiny."""
    gen = torch.Generator().manual_seed(seed)
    size = torch.tensor([width, height]) * stride
    xy = torch.rand(n, 2, generator=gen) * size * 1.2 - 0.1 * size
    wh = torch.rand(n, 2, generator=gen) * size * 0.6 + 0.5
    wh[:10] = 0.01  # less than a cell
    img = torch.randint(num_imgs, (n, 1), generator=gen).float()
    return torch.cat([img, xy, xy + wh], dim=1)


@pytest.mark.parametrize('sampling_ratio', [1, 2, 3])
@pytest.mark.parametrize('aligned', [True, False])
def test_equals_mmcv_roi_align(sampling_ratio, aligned):
    torch.manual_seed(0)
    feat = torch.randn(2, 8, 11, 17)
    rois = rois_on(2, 11, 17, stride=16)
    ref = RoIAlign((7, 6), 1 / 16, sampling_ratio, aligned=aligned)(feat, rois)
    out = ChannelsLastRoIAlign(feat, (7, 6), 1 / 16, sampling_ratio, aligned)(
        rois)
    assert out.is_contiguous()
    # the same weights and taps; the sums only run in another order
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)


def test_empty_rois_and_output_dtype():
    feat = torch.randn(1, 4, 5, 5)
    empty = ChannelsLastRoIAlign(feat, (7, 7), 1., 2)(torch.zeros(0, 5))
    assert empty.shape == (0, 4, 7, 7)
    rois = torch.tensor([[0., 0., 0., 3., 3.]])
    out = ChannelsLastRoIAlign(
        feat, (2, 2), 1., 2, out_dtype=torch.bfloat16)(
            rois)
    assert out.dtype == torch.bfloat16


class Extractor(torch.nn.Module):

    def __init__(self, layer):
        super().__init__()
        self.roi_layers = torch.nn.ModuleList([layer])
        self.num_inputs = 1


def test_used_without_grad_on_cpu_only():
    feat = (torch.randn(1, 4, 9, 9), )
    rois = rois_on(1, 9, 9, stride=8, n=20)
    extractor = Extractor(RoIAlign(7, 1 / 8, 2))
    # the trainable pass needs mmcv's op and its backward
    assert readonly_roi_pooler(extractor, feat) is None
    with torch.no_grad():
        pool = readonly_roi_pooler(extractor, feat)
        torch.testing.assert_close(
            pool(rois),
            extractor.roi_layers[0](feat[0], rois),
            rtol=1e-5,
            atol=1e-6)
        # an adaptive grid (sampling_ratio=0) differs per RoI: mmcv's
        adaptive = Extractor(RoIAlign(7, 1 / 8, 0))
        assert readonly_roi_pooler(adaptive, feat) is None


def test_readonly_roi_layer_swaps_the_layer_while_active():
    """Inside the context the extractor's RoI layer pools the features it
    was given by the gather, each call its own result (Double-Head pools
    twice per chunk), other features by mmcv; afterwards it is mmcv's."""
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
    torch.manual_seed(0)
    extractor = SingleRoIExtractor(
        dict(type='RoIAlign', output_size=7, sampling_ratio=2), 8, [16])
    layer = extractor.roi_layers[0]
    x = (torch.randn(2, 8, 11, 17), )
    rois = rois_on(2, 11, 17, stride=16, n=50)
    with torch.no_grad(), readonly_roi_layer(extractor, x):
        assert type(extractor.roi_layers[0]).__name__ == '_GatherLayer'
        first = extractor(x, rois[:30])
        second = extractor(x, rois[30:], roi_scale_factor=1.5)
        other = torch.randn(2, 8, 11, 17)
        from_mmcv = extractor((other, ), rois)
    assert extractor.roi_layers[0] is layer
    assert first.data_ptr() != second.data_ptr()
    torch.testing.assert_close(
        first, layer(x[0], rois[:30]), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(
        second, layer(x[0], rois[30:]), rtol=1e-5, atol=1e-6)
    assert torch.equal(from_mmcv, layer(other, rois))
    # with grad (the trainable copy) nothing is swapped
    with readonly_roi_layer(extractor, x):
        assert extractor.roi_layers[0] is layer
    with pytest.raises(ValueError, match='sampling_ratio=0'):
        ChannelsLastRoIAlign(x[0], (7, 7), 1 / 16, 0)


def test_chunks_reuse_their_output_buffers():
    """Within a chunk each call gets memory of its own; after next_chunk
    the calls reuse those buffers in order, growing one that is too
    small."""
    torch.manual_seed(0)
    feat = torch.randn(2, 8, 11, 17)
    rois = rois_on(2, 11, 17, stride=16, n=50)
    layer = RoIAlign(7, 1 / 16, 2)
    pool = ChannelsLastRoIAlign(feat, (7, 7), 1 / 16, 2, reuse_output=True)
    first, second = pool(rois[:30]), pool(rois[30:])  # one chunk
    assert first.data_ptr() != second.data_ptr()
    torch.testing.assert_close(first, layer(feat, rois[:30]))
    torch.testing.assert_close(second, layer(feat, rois[30:]))
    pool.next_chunk()
    again = pool(rois[:20])
    assert again.data_ptr() == first.data_ptr() and again.is_contiguous()
    torch.testing.assert_close(again, layer(feat, rois[:20]))
    grown = pool(rois[:25])  # the second buffer holds 20 RoIs
    assert grown.data_ptr() != second.data_ptr()
    torch.testing.assert_close(grown, layer(feat, rois[:25]))
    assert len(pool(rois[:0])) == 0
    # without reuse, every result is its own
    fresh = ChannelsLastRoIAlign(feat, (7, 7), 1 / 16, 2)
    one, two = fresh(rois[:5]), fresh(rois[:5])
    assert one.data_ptr() != two.data_ptr()


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_under_autocast_within_rounding_of_fp32(dtype):
    torch.manual_seed(0)
    feat = (torch.randn(2, 16, 12, 20) * 4, )
    rois = rois_on(2, 12, 20, stride=16)
    extractor = Extractor(RoIAlign(7, 1 / 16, 2))
    ref = extractor.roi_layers[0](feat[0], rois)
    with torch.no_grad(), torch.autocast('cpu', dtype=dtype):
        out = readonly_roi_pooler(extractor, feat)(rois)
    assert out.dtype == dtype
    # bf16 pools from a bf16 table with bf16 weights (three roundings of
    # 2**-9 each at most, relative to the sum of |weight * tap|); fp16
    # rounds the fp32 sums once
    eps = 2.**-7 if dtype == torch.bfloat16 else 2.**-11
    scale = extractor.roi_layers[0](feat[0].abs(), rois)
    err = (out.float() - ref).abs()
    assert (err <= eps * scale + 1e-6).all()
    assert err.max() > 0  # it did run in low precision
