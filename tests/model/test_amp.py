"""Mixed precision: `--amp` (AmpOptimWrapper) with OHEMRoIHead.

The ranking loss is fp32 whatever the forward's dtype, so an fp16 overflow
can neither make it infinite nor tie RoIs that differ.
"""
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.optim.optimizer import amp_optimizer_wrapper
from mmengine.runner import Runner
from tiny_runs import OHEM_STATS, RecordHook, demo_cfg

from mmdet_ohem.ohem.selection import per_roi_loss

ITERS = 3


def test_ranking_loss_is_fp32_where_fp16_overflows():
    from mmdet.models.roi_heads.bbox_heads import BBoxHead
    head = BBoxHead(
        with_avg_pool=False,
        in_channels=4,
        roi_feat_size=1,
        num_classes=1,
        reg_class_agnostic=True,
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0))
    rois = torch.tensor([[0., 0, 0, 10, 10]] * 2)
    # background RoIs whose fp16 cross-entropy is inf for both
    cls_score = torch.tensor([[6e4, -6e4], [6e4, -5e4]]).half()
    labels = torch.tensor([1, 1])
    targets = (labels, torch.ones(2), torch.zeros(2, 4), torch.zeros(2, 4))
    assert F.cross_entropy(cls_score, labels, reduction='none').isinf().all()
    with torch.autocast('cpu', dtype=torch.float16):
        loss = per_roi_loss(head, cls_score, None, rois, targets, ('cls', ))
    assert loss.dtype == torch.float32
    assert torch.isfinite(loss).all() and loss[0] > loss[1]
    torch.testing.assert_close(loss, torch.tensor([12e4, 6e4 + 49984.]))

    # foreground RoIs whose fp16 smooth-L1 is inf
    bbox_pred = torch.tensor([[6e4, 0, 0, 0], [5e4, 0, 0, 0]]).half()
    labels = torch.tensor([0, 0])
    targets = (labels, torch.ones(2),
               torch.tensor([[-6e4, 0, 0, 0], [-6e4, 0, 0,
                                               0]]), torch.ones(2, 4))
    assert F.smooth_l1_loss(bbox_pred, targets[2].half()).isinf()
    loss = per_roi_loss(head, cls_score, bbox_pred, rois, targets, ('bbox', ))
    torch.testing.assert_close(loss, torch.tensor([12e4 - 0.5, 109983.5]))


pytestmark = pytest.mark.usefixtures('fast_config_text')


@pytest.mark.parametrize('dtype', [
    'bfloat16',
    pytest.param(
        'float16',
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(
                not torch.cuda.is_available(),
                reason='fp16 autocast training needs CUDA')
        ])
])
def test_amp_optim_wrapper_trains_ohem_head(dtype, data_root, tmp_path,
                                            monkeypatch):
    if not torch.cuda.is_available():
        # mmengine refuses AmpOptimWrapper without an accelerator; on CPU
        # its loss scaler turns itself off and bf16 autocast still runs.
        monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                            lambda: True)
    cfg = demo_cfg(
        'ohem',
        data_root,
        tmp_path,
        ITERS,
        **{
            # what mmdet's tools/train.py --amp sets, plus the dtype
            'optim_wrapper.type': 'AmpOptimWrapper',
            'optim_wrapper.loss_scale': 'dynamic',
            'optim_wrapper.dtype': dtype,
        })
    runner = Runner.from_cfg(cfg)
    record = RecordHook()
    runner.register_hook(record)
    model = runner.model
    head_dtypes = []
    model.roi_head.bbox_head.register_forward_hook(
        lambda module, args, out: head_dtypes.append(out[0].dtype))
    sampler = model.roi_head.bbox_sampler
    with sampler.recording() as records:
        runner.train()
    ranking_dtypes = [r['losses'].dtype for r in records]

    assert type(runner.optim_wrapper).__name__ == 'AmpOptimWrapper'
    # both copies ran in the low precision, the ranking loss in fp32
    assert set(head_dtypes) == {getattr(torch, dtype)}
    assert ranking_dtypes == [torch.float32] * ITERS
    assert len(record.losses) == ITERS
    assert all(torch.isfinite(torch.tensor(list(record.losses.values()))))
    assert sorted(record.stats[ITERS]) == sorted(OHEM_STATS)
    assert record.stats[ITERS]['ohem_num_hard'] > 0


def test_fp32_pool_extractor_pools_bf16_features():
    # mmcv's RoIAlign has no bf16 kernel, so bf16 autocast fails there
    cfg = dict(
        roi_layer=dict(type='RoIAlign', output_size=2, sampling_ratio=2),
        out_channels=3,
        featmap_strides=[1])
    plain = MODELS.build(dict(cfg, type='SingleRoIExtractor'))
    fp32_pool = MODELS.build(dict(cfg, type='FP32PoolRoIExtractor'))
    # every cell holds its x: a bin's average is that of its samples' x
    feats = (torch.arange(8.).expand(1, 3, 8, 8).bfloat16(), )
    rois = torch.tensor([[0., 1., 1., 5., 5.]])
    with pytest.raises(NotImplementedError, match='BFloat16'):
        plain(feats, rois)
    pooled = fp32_pool(feats, rois)
    # (aligned) bin x ranges [0.5, 2.5) and [2.5, 4.5), 2 samples each
    torch.testing.assert_close(
        pooled,
        torch.tensor([[1.5, 3.5], [1.5, 3.5]]).expand(1, 3, 2, 2))
    torch.testing.assert_close(
        fp32_pool((feats[0].float(), ), rois), pooled, rtol=0, atol=0)


def test_amp_optim_wrapper_trains_the_baseline_in_bf16(data_root, tmp_path,
                                                       monkeypatch):
    """The configs' FP32PoolRoIExtractor serves any RoI head: the demo's
    Fast R-CNN baseline (StandardRoIHead) trains in bf16 too."""
    if not torch.cuda.is_available():
        monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                            lambda: True)
    cfg = demo_cfg(
        'baseline', data_root, tmp_path, ITERS, **{
            'optim_wrapper.type': 'AmpOptimWrapper',
            'optim_wrapper.loss_scale': 'dynamic',
            'optim_wrapper.dtype': 'bfloat16',
        })
    runner = Runner.from_cfg(cfg)
    record = RecordHook()
    runner.register_hook(record)
    head_dtypes = []
    runner.model.roi_head.bbox_head.register_forward_hook(
        lambda module, args, out: head_dtypes.append(out[0].dtype))
    runner.train()
    assert set(head_dtypes) == {torch.bfloat16}
    assert len(record.losses) == ITERS
    assert all(torch.isfinite(torch.tensor(list(record.losses.values()))))
