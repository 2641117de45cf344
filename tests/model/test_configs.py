"""Every config under configs/ parses, builds and trains one step on CPU."""
import glob
import os.path as osp

import pytest
import torch
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config
from tiny import REPO, tiny_batch

CONFIGS = sorted(
    osp.relpath(path, REPO)
    for path in glob.glob(osp.join(REPO, 'configs/**/*.py'), recursive=True)
    if '_base_' not in path)


def cpu_model_cfg(cfg):
    """The config's model with RoIPool swapped for RoIAlign (mmcv has no CPU
    RoIPool) and no pretrained weights."""
    model = cfg.model
    model.pop('init_cfg', None)
    model.backbone.init_cfg = None
    extractor = model.roi_head.bbox_roi_extractor
    if extractor.roi_layer.type == 'RoIPool':
        extractor.roi_layer = dict(
            type='RoIAlign',
            output_size=extractor.roi_layer.output_size,
            sampling_ratio=2)
    return model


def test_configs_found():
    assert 'configs/fast_rcnn_vgg16_ohem_voc.py' in CONFIGS
    assert len([c for c in CONFIGS if 'ablations' in c]) == 8


@pytest.mark.slow
@pytest.mark.parametrize('config', CONFIGS)
def test_config_trains_one_step_on_cpu(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    # the head predicts the dataset's classes
    dataset = cfg.train_dataloader.dataset
    while 'datasets' in dataset:
        dataset = dataset.datasets[0]
    classes = (dataset.get('metainfo') or {}).get('classes') or \
        DATASETS.get(dataset.type).METAINFO['classes']
    heads = cfg.model.roi_head.bbox_head  # a cascade has one per stage
    heads = heads if isinstance(heads, list) else [heads]
    assert all(head.num_classes == len(classes) for head in heads)

    torch.manual_seed(0)
    model = MODELS.build(cpu_model_cfg(cfg))
    model.train()
    imgs, samples = tiny_batch(size=(96, 128))
    if 'rpn_head' in cfg.model:  # Faster R-CNN makes its own proposals
        for sample in samples:
            del sample.proposals
    losses = model.loss(imgs, samples)
    loss, log_vars = model.parse_losses(losses)
    loss.backward()
    assert torch.isfinite(loss), log_vars
    heads = model.roi_head.bbox_head
    for head in heads if isinstance(heads, torch.nn.ModuleList) else [heads]:
        fc_cls = head.fc_cls.weight.grad
        assert fc_cls is not None and fc_cls.abs().sum() > 0
    # what the paper freezes gets no gradient
    frozen = [p for p in model.backbone.parameters() if not p.requires_grad]
    if cfg.model.backbone.type == 'FastRCNNVGG':
        assert len(frozen) == 8  # conv1_1 .. conv2_2, weight and bias
    elif cfg.model.backbone.type == 'VGGCNNM1024':
        assert len(frozen) == 2  # conv1
    assert all(p.grad is None for p in frozen)


def test_manifest_lists_existing_configs_and_all_paper_configs():
    import yaml
    with open(osp.join(REPO, 'configs/manifest.yml')) as f:
        tables = yaml.safe_load(f)['tables']
    listed = {
        'configs/' + row['config']
        for table in tables.values()
        for row in table['rows']
    }
    assert listed <= set(CONFIGS)
    # everything but the demo's and BCCD's configs (tools/demo.py and
    # tools/experiment.py run those) answers to a table of the paper
    unlisted = set(CONFIGS) - listed
    assert unlisted and all(
        c.startswith(('configs/demo/', 'configs/bccd/')) for c in unlisted)


@pytest.mark.parametrize('config', CONFIGS)
def test_config_evaluators_build(config):
    from mmdet.registry import METRICS
    cfg = Config.fromfile(osp.join(REPO, config))
    for key in ('val_evaluator', 'test_evaluator'):
        evaluators = cfg.get(key) or []
        for metric in (evaluators
                       if isinstance(evaluators, list) else [evaluators]):
            if metric.type == 'CocoMetric':
                metric.ann_file = None  # it reads the file when built
            METRICS.build(metric)


def test_voc_submission_metric_writes_server_files(tmp_path):
    from mmdet.registry import METRICS
    metric = METRICS.build(
        dict(type='VOCSubmissionMetric', outfile_prefix=str(tmp_path)))
    metric.dataset_meta = dict(classes=('cat', 'dog'))
    pred = dict(
        bboxes=torch.tensor([[0., 1., 10., 20.], [5., 5., 6., 7.]]),
        scores=torch.tensor([0.9, 0.25]),
        labels=torch.tensor([1, 1]))
    metric.process({}, [dict(img_id='2008_000001', pred_instances=pred)])
    assert metric.evaluate(1) == {
        'pascal_voc/num_images': 1,
        'pascal_voc/num_detections': 2
    }
    main = tmp_path / 'VOC2012' / 'Main'
    assert (main / 'comp4_det_test_cat.txt').read_text() == ''
    # VOC's 1-based pixel coordinates
    assert (main / 'comp4_det_test_dog.txt').read_text().splitlines() == [
        '2008_000001 0.900000 1.0 2.0 11.0 21.0',
        '2008_000001 0.250000 6.0 6.0 7.0 8.0'
    ]
    assert sorted(p.name for p in main.iterdir()) == [
        'comp4_det_test_cat.txt', 'comp4_det_test_dog.txt'
    ]
