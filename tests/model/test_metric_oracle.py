"""Every config's mAP against known answers.

For each config under configs/ and the README's own-data config, a small
dataset is generated in the config's own layout, with images smaller than
the config's test scale (so every scale factor is not 1). The config's own
test dataloader and evaluator then score the ground truth itself as the
detections, in the original image's frame, as a detector's
``predict(rescale=True)`` returns them: the mAP must be 1. The same boxes
shifted off their objects (IoU < 0.5) must score 0. The VOC12 configs write
the evaluation server's files; those are scored by the independent devkit
transcription (``workbench/voc_devkit.py``) against the XML files.
"""
import glob
import json
import os
import os.path as osp
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner
from mmengine.structures import InstanceData
from readme import readme_block
from tiny import REPO

from mmdet_ohem.errors import PipelineOrderError
from mmdet_ohem.proposals.formats import save_proposals
from mmdet_ohem.workbench import voc_devkit

CONFIGS = sorted(
    osp.relpath(path, REPO)
    for path in glob.glob(osp.join(REPO, 'configs/**/*.py'), recursive=True)
    if '_base_' not in path)
# (width, height): smaller than every config's test scale, both
# orientations
SIZES = ((150, 100), (90, 140), (120, 120))
OBJECTS_PER_IMAGE = 4


def readme_config(tmp_path):
    """The README's own-data config, verbatim, in a user's folder."""
    path = tmp_path / 'cells_ohem.py'
    path.write_text(readme_block('own-data-config'))
    return str(path)


def image_objects(index, classes):
    """Objects of image ``index``: one per column of a grid, far enough
    apart that a box shifted by 0.6 of its width meets no other object;
    the last one ``difficult``. Boxes are VOC's 1-based pixel numbers."""
    width, height = SIZES[index % len(SIZES)]
    rng = np.random.default_rng(index)
    cell = width / OBJECTS_PER_IMAGE
    objects = []
    for k in range(OBJECTS_PER_IMAGE):
        w = int(cell * rng.uniform(0.35, 0.5))
        h = int(height * rng.uniform(0.3, 0.8))
        x1 = int(k * cell) + 1
        y1 = int(rng.integers(1, height - h))
        # every class among the scored objects; the difficult one any
        name = classes[(index * (OBJECTS_PER_IMAGE - 1) + k) % len(classes)]
        objects.append((name, (x1, y1, x1 + w - 1, y1 + h - 1),
                        k == OBJECTS_PER_IMAGE - 1))
    return (width, height), objects


def write_image(path, size, index):
    os.makedirs(osp.dirname(path), exist_ok=True)
    rng = np.random.default_rng(100 + index)
    cv2.imwrite(path, rng.integers(0, 255, (size[1], size[0], 3), np.uint8))


def write_xml(path, size, objects):
    os.makedirs(osp.dirname(path), exist_ok=True)
    root = ET.Element('annotation')
    ET.SubElement(root, 'filename').text = osp.basename(path)[:-4] + '.jpg'
    size_el = ET.SubElement(root, 'size')
    for key, value in zip(('width', 'height', 'depth'), (*size, 3)):
        ET.SubElement(size_el, key).text = str(value)
    for name, box, difficult in objects:
        obj = ET.SubElement(root, 'object')
        ET.SubElement(obj, 'name').text = name
        ET.SubElement(obj, 'difficult').text = str(int(difficult))
        bndbox = ET.SubElement(obj, 'bndbox')
        for key, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), box):
            ET.SubElement(bndbox, key).text = str(value)
    ET.ElementTree(root).write(path)


def proposals_of(size):
    w, h = size
    boxes = np.array([[0, 0, w / 2, h / 2], [w / 4, h / 4, w - 1, h - 1]],
                     np.float32)
    return dict(bboxes=boxes, scores=np.array([0.9, 0.8], np.float32))


def make_voc(root, dataset, classes, num_images):
    """The VOC split ``dataset`` (a config's dataset dict) reads; returns
    image id -> (size, objects) with 0-based boxes, as mmdet loads them."""
    sub = osp.join(root, dataset.data_prefix.get('sub_data_root', ''))
    truth, proposals = {}, {}
    for index in range(num_images):
        img_id = f'{index:06d}'
        size, objects = image_objects(index, classes)
        write_image(osp.join(sub, 'JPEGImages', f'{img_id}.jpg'), size, index)
        write_xml(osp.join(sub, 'Annotations', f'{img_id}.xml'), size, objects)
        proposals[f'JPEGImages/{img_id}.jpg'] = proposals_of(size)
        truth[img_id] = (size, [(name, [v - 1 for v in box], difficult)
                                for name, box, difficult in objects])
    split = osp.join(root, dataset.ann_file)
    os.makedirs(osp.dirname(split), exist_ok=True)
    with open(split, 'w') as f:
        f.write('\n'.join(truth) + '\n')
    if dataset.get('proposal_file'):  # Faster R-CNN makes its own
        save_proposals(osp.join(root, dataset.proposal_file), proposals)
    return truth


def make_coco(root, dataset, classes, num_images):
    """The COCO split ``dataset`` reads; returns image id -> (size,
    objects) with 0-based ``(x1, y1, x2, y2)`` boxes."""
    images, annotations, truth, proposals = [], [], {}, {}
    img_dir = osp.join(root, dataset.data_prefix.img)
    for index in range(num_images):
        size, objects = image_objects(index, classes)
        name = f'{index:012d}.jpg'
        write_image(osp.join(img_dir, name), size, index)
        images.append(
            dict(id=index, file_name=name, width=size[0], height=size[1]))
        boxes = []
        for name_, (x1, y1, x2, y2), crowd in objects:
            # COCO boxes are (x, y, w, h) of continuous coordinates
            x1, y1, x2, y2 = x1 - 1, y1 - 1, x2, y2
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=index,
                    category_id=classes.index(name_) + 1,
                    bbox=[x1, y1, x2 - x1, y2 - y1],
                    area=(x2 - x1) * (y2 - y1),
                    iscrowd=int(crowd)))
            boxes.append((name_, [x1, y1, x2, y2], crowd))
        truth[index] = (size, boxes)
        proposals[f'{osp.basename(img_dir.rstrip("/"))}/{name}'] = \
            proposals_of(size)
    ann = dict(
        images=images,
        annotations=annotations,
        categories=[
            dict(id=i + 1, name=name) for i, name in enumerate(classes)
        ])
    os.makedirs(osp.dirname(osp.join(root, dataset.ann_file)), exist_ok=True)
    with open(osp.join(root, dataset.ann_file), 'w') as f:
        json.dump(ann, f)
    if dataset.get('proposal_file'):  # Faster R-CNN makes its own
        save_proposals(osp.join(root, dataset.proposal_file), proposals)
    return truth


def oracle_setup(config_path, root):
    """The config's test dataloader and evaluator on generated data."""
    cfg = Config.fromfile(config_path)
    loader = cfg.test_dataloader
    dataset = loader.dataset
    dataset.data_root = root + '/'
    classes = (dataset.get('metainfo') or {}).get('classes') or \
        DATASETS.get(dataset.type).METAINFO['classes']
    classes = tuple(classes)
    num_images = max(3, -(-len(classes) // (OBJECTS_PER_IMAGE - 1)))
    if 'Coco' in dataset.type:
        truth = make_coco(root, dataset, classes, num_images)
        cfg.test_evaluator.ann_file = osp.join(root, dataset.ann_file)
    else:
        truth = make_voc(root, dataset, classes, num_images)
    if cfg.test_evaluator.type == 'VOCSubmissionMetric':
        cfg.test_evaluator.outfile_prefix = osp.join(root, 'results')
    loader.update(num_workers=0, persistent_workers=False)
    return cfg, Runner.build_dataloader(loader), classes, truth


def score(cfg, dataloader, classes, truth, shift=0., resized=True):
    """Score the ground truth (shifted by ``shift`` of each box's width)
    as detections, through the config's test evaluator; check that every
    image was ``resized``, or that none was."""
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataloader.dataset.metainfo
    scale_factors = []
    for batch in dataloader:
        for sample in batch['data_samples']:
            size, objects = truth[sample.img_id]
            scale_factors.append(sample.scale_factor)
            assert sample.ori_shape == (size[1], size[0])
            kept = [(n, b) for n, b, hard in objects if not hard]
            boxes = torch.tensor([b for _, b in kept], dtype=torch.float32)
            boxes[:, 0::2] += shift * (boxes[:, 2:3] - boxes[:, 0:1])
            sample.pred_instances = InstanceData(
                bboxes=boxes,
                scores=torch.ones(len(kept)),
                labels=torch.tensor([classes.index(n) for n, _ in kept]))
        evaluator.process(batch['data_samples'], batch)
    # the point of the test: no image is scored at its own size
    assert all((abs(s[0] - 1) > 0.1 and abs(s[1] - 1) > 0.1) == resized
               for s in scale_factors), scale_factors
    return evaluator.evaluate(len(dataloader.dataset))


def headline(metrics):
    for key in ('pascal_voc/mAP', 'coco/bbox_mAP_50'):
        if key in metrics:
            return metrics[key]
    raise KeyError(f'no mAP among {sorted(metrics)}')


def submission_map(root, classes, truth):
    """The written server files, scored by the devkit transcription."""
    (folder, ) = glob.glob(osp.join(root, 'results', 'VOC*', 'Main'))
    detections = voc_devkit.read_submission(folder, classes)
    (ann_dir, ) = glob.glob(
        osp.join(root, '**', 'Annotations'), recursive=True)
    objects = voc_devkit.read_voc_annotations(ann_dir, list(truth))
    return voc_devkit.voc_map(detections, objects, classes)[0]


@pytest.mark.parametrize('config', CONFIGS + ['README.md'])
def test_perfect_detections_score_one_shifted_score_zero(config, tmp_path):
    path = (
        readme_config(tmp_path) if config == 'README.md' else osp.join(
            REPO, config))
    root = str(tmp_path / 'data')
    cfg, dataloader, classes, truth = oracle_setup(path, root)
    submission = cfg.test_evaluator.type == 'VOCSubmissionMetric'
    for shift, expected in ((0., 1.), (0.6, 0.)):
        metrics = score(cfg, dataloader, classes, truth, shift)
        found = (
            submission_map(root, classes, truth)
            if submission else headline(metrics))
        assert found == pytest.approx(expected, abs=1e-6), (shift, metrics)
    if cfg.test_evaluator.type == 'PerClassVOCMetric':
        assert f'pascal_voc/AP50_{classes[-1]}' in metrics


def old_order_setup(tmp_path):
    """The demo's test split through its pipeline with LoadAnnotations
    moved before the resize, as our pipelines had it until 2026-12-06."""
    path = osp.join(REPO, 'configs/demo/fast_rcnn_tinyvgg_synthvoc.py')
    cfg, _, classes, truth = oracle_setup(path, str(tmp_path))
    pipeline = cfg.test_dataloader.dataset.pipeline
    (load, ) = [p for p in pipeline if p.type == 'LoadAnnotations']
    pipeline.remove(load)
    pipeline.insert(1, load)
    return cfg, classes, truth


def test_old_pipeline_order_stops_with_the_fix(tmp_path):
    """Annotations loaded before the resize: one error naming the image
    and the fix, not a wrong mAP."""
    cfg, classes, truth = old_order_setup(tmp_path)
    dataloader = Runner.build_dataloader(cfg.test_dataloader)
    with pytest.raises(PipelineOrderError) as error:
        score(cfg, dataloader, classes, truth)
    message = str(error.value)
    assert 'VOC2007/JPEGImages/000000.jpg' in message
    assert 'LoadImageFromFile -> LoadAnnotations -> LoadProposals' in message
    assert 'Put LoadAnnotations after the transforms' in message
    # image 0 (150 x 100) is scaled to 192 x 128
    assert ('the box [0.0, 17.0, 15.0, 59.0] of the annotation became '
            '[0.0, 21.8, 19.2, 75.5]; scale_factor (1.28, 1.28)') in message


def test_old_order_at_scale_one_is_right_and_passes(tmp_path):
    """The same order where nothing is resized changes no box: the guard
    lets it through, and the mAP is right."""
    cfg, classes, truth = old_order_setup(tmp_path)
    (broadcast, ) = [
        p for p in cfg.test_dataloader.dataset.pipeline
        if p.type == 'ProposalBroadcaster'
    ]
    resize = broadcast.transforms[0]
    del resize.scale
    resize.scale_factor = 1.0
    dataloader = Runner.build_dataloader(cfg.test_dataloader)
    metrics = score(cfg, dataloader, classes, truth, resized=False)
    assert metrics['pascal_voc/mAP'] == pytest.approx(1.)


def test_devkit_transcription_agrees_with_our_metric(tmp_path):
    """Realistic detections (misses, duplicates, near misses, false
    positives, tied scores) scored by the config's own test dataloader and
    metric and by the devkit transcription from the XML files
    (:func:`voc_devkit.cross_check`, what tools/voc_cross_check.py
    prints): the same mAP and per-class AP."""
    path = osp.join(REPO, 'configs/fast_rcnn_vgg16_voc.py')
    cfg, _, classes, truth = oracle_setup(path, str(tmp_path))
    rng = np.random.default_rng(0)
    predictions = []
    for img_id, (size, objects) in truth.items():
        boxes, labels = [], []
        for name, box, _ in objects:
            for _ in range(int(rng.integers(0, 4))):  # 0: a miss
                jitter = rng.normal(0, 0.15, 4) * (box[2] - box[0])
                boxes.append(np.array(box) + jitter)
                labels.append(classes.index(name))
        for _ in range(3):  # false positives of any class
            x, y = rng.uniform(0, size[0] - 20), rng.uniform(0, size[1] - 20)
            boxes.append([x, y, x + 20, y + 20])
            labels.append(int(rng.integers(len(classes))))
        predictions.append(
            dict(
                img_id=img_id,
                pred_instances=dict(
                    bboxes=torch.tensor(np.array(boxes), dtype=torch.float32),
                    # scores on a grid of ten values: ties
                    scores=torch.from_numpy(
                        rng.integers(1, 11, len(boxes)) / 10).float(),
                    labels=torch.tensor(labels))))
    result = voc_devkit.cross_check(cfg, predictions)
    assert 0.2 < result['devkit'] < 0.95  # neither trivial end
    assert abs(result['difference']) < 2e-3
    assert len(result['per_class']) == len(classes)
    for name, (ours, devkit) in result['per_class'].items():
        assert ours == pytest.approx(devkit, abs=1e-3), name


def test_devkit_ap_by_hand():
    """One class, hand-computed: 2 objects (and a difficult one), 4
    detections: hit, duplicate (fp), on the difficult object (ignored),
    hit. Precision 1, 1/2, -, 2/3 at recall 1/2, 1/2, -, 1."""
    objects = {
        'a': [('cat', (1, 1, 10, 10), False), ('cat', (21, 1, 30, 10), True)],
        'b': [('cat', (1, 1, 10, 10), False)],
    }
    detections = [('a', 0.9, 1, 1, 10, 10), ('a', 0.8, 1, 1, 10, 10),
                  ('a', 0.7, 21, 1, 30, 10), ('b', 0.6, 2, 1, 10, 10)]
    ap, num_pos = voc_devkit.class_ap(detections, objects, 'cat')
    assert num_pos == 2
    # recall >= 0 .. 0.5: precision 1 (6 points); > 0.5: 2/3 (5 points)
    assert ap == pytest.approx((6 * 1 + 5 * 2 / 3) / 11)
    area, _ = voc_devkit.class_ap(
        detections, objects, 'cat', eleven_points=False)
    assert area == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
