"""Real images through the BCCD configs: six vendored BCCD images
(tests/data/bccd, MIT) with their XML (and the dataset's zero-size boxes),
Selective Search proposals, one training step of Fast R-CNN and of OHEM
from the ImageNet MobileNetV2, and VOC evaluation."""
import os.path as osp

import pytest
import torch
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.optim import build_optim_wrapper
from tiny import REPO

from mmdet_ohem.datasets import checks
from mmdet_ohem.workbench import voc_devkit
from mmdet_ohem.workbench.convert import (convert_state_dict,
                                          load_source_weights, packaged_source)
from mmdet_ohem.workbench.proposals.splits import voc_split
from mmdet_ohem.workbench.proposals.ssearch import generate_selective_search

BCCD = osp.join(REPO, 'tests/data/bccd')
CONFIGS = {
    'frcn': osp.join(REPO, 'configs/bccd/fast_rcnn_mobilenetv2_bccd.py'),
    'ohem': osp.join(REPO, 'configs/bccd/fast_rcnn_mobilenetv2_ohem_bccd.py'),
}


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """Proposals of both splits, and the converted ImageNet weights."""
    tmp = tmp_path_factory.mktemp('bccd')
    proposals = {}
    for split in ('trainval', 'test'):
        proposals[split] = str(tmp / f'ss_{split}.npz')
        generate_selective_search(
            voc_split(BCCD, split=split, voc_dir='BCCD/'),
            proposals[split],
            min_box_size=10)
    weights = str(tmp / 'mobilenet_v2_fast_rcnn_init.pth')
    converted, _ = convert_state_dict(
        load_source_weights(packaged_source('mobilenet_v2')), 'mobilenet_v2')
    torch.save(dict(state_dict=converted), weights)
    return proposals, weights


def config(method, files):
    proposals, weights = files
    cfg = Config.fromfile(CONFIGS[method])
    cfg.model.init_cfg.checkpoint = weights
    for key, split in (('train', 'trainval'), ('test', 'test')):
        cfg[f'{key}_dataloader'].dataset.update(
            data_root=BCCD, proposal_file=proposals[split])
    return cfg


def batch(dataset, indices):
    return pseudo_collate([dataset[i] for i in indices])


def test_zero_size_boxes_are_a_counted_logged_drop(files, monkeypatch):
    logged = []
    monkeypatch.setattr(checks, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    cfg = config('frcn', files)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == 4
    assert dataset.annotation_stats['dropped (zero size)'] == 2
    assert ('2 boxes were dropped (zero size): '
            'BCCD/Annotations/BloodImage_00338.xml, '
            'BCCD/Annotations/BloodImage_00343.xml.') in logged[-1]
    # no zero-size box reaches training
    for i in range(len(dataset)):
        boxes = dataset.get_data_info(i)['instances']
        assert all(b['bbox'][2] > b['bbox'][0] and b['bbox'][3] > b['bbox'][1]
                   for b in boxes)


@pytest.mark.parametrize('method', ['frcn', 'ohem'])
def test_one_step_of_each_method_then_evaluation(files, method):
    cfg = config(method, files)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()  # the converted ImageNet MobileNetV2
    assert model.backbone.layer5[2].depthwise_conv.conv.weight.abs().sum() > 0
    train = DATASETS.build(cfg.train_dataloader.dataset)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    if method == 'ohem':
        with model.roi_head.bbox_sampler.recording() as records:
            log_vars = model.train_step(batch(train, [0, 2]), optim)
        # 32 hard RoIs per image out of hundreds of candidates
        (record, ) = records
        img_of = record['rois'][:, 0].long()
        assert img_of[record['hard']].bincount().tolist() == [32, 32]
        assert (img_of.bincount() > 300).all()
    else:
        log_vars = model.train_step(batch(train, [0, 2]), optim)
    assert torch.isfinite(log_vars['loss'])

    test = DATASETS.build(cfg.test_dataloader.dataset)
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = test.metainfo
    model.eval()
    data = batch(test, range(len(test)))
    with torch.no_grad():
        outputs = model.test_step(data)
    evaluator.process(outputs, data)
    results = evaluator.evaluate(len(test))
    assert {'pascal_voc/AP50_RBC', 'pascal_voc/AP50_WBC'} <= set(results)
    # a second implementation, from the XML files, agrees on these
    # detections of a barely trained model (the oracle test holds the
    # config's metric at 1 and 0)
    objects = voc_devkit.read_voc_annotations(
        osp.join(BCCD, 'BCCD', 'Annotations'), [o.img_id for o in outputs])
    classes = test.metainfo['classes']
    detections = voc_devkit.detections_from_samples(
        [o.to_dict() for o in outputs], classes)
    devkit, _ = voc_devkit.voc_map(detections, objects, classes)
    assert results['pascal_voc/mAP'] == pytest.approx(devkit, abs=2e-3)
    assert devkit > 0, 'no true positive: the comparison says nothing'
