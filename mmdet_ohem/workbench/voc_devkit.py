"""The PASCAL VOC devkit's detection AP, written from its definition and
independent of mmdet: the second opinion on every VOC mAP we print.

It shares nothing with ``mmdet.evaluation.eval_map`` or our datasets: the
ground truth is read from the XML files as the devkit reads them (1-based
pixel coordinates, ``difficult`` objects neither counted nor penalised),
and the detections are in the evaluation server's format (the lines
:class:`~mmdet_ohem.evaluation.VOCSubmissionMetric` writes). The matching
follows ``VOCevaldet.m``: detections of a class in descending confidence,
each matched to the unclaimed ground truth it overlaps most (IoU over
areas counted in pixels, ``+ 1``), at least ``iou_thr``; the AP is the
11-point interpolated one of VOC2007 or the area under the monotone
precision envelope of VOC2010 on.
"""
import glob
import os.path as osp
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

import numpy as np

#: One detection: (image id, score, x1, y1, x2, y2), 1-based pixels.
Detection = Tuple[str, float, float, float, float, float]


def read_voc_annotations(ann_dir: str,
                         img_ids: Sequence[str]) -> Dict[str, List[tuple]]:
    """Return image id -> ``[(name, (x1, y1, x2, y2), difficult), ...]``
    from ``<ann_dir>/<id>.xml``, coordinates as the file gives them."""
    objects = {}
    for img_id in img_ids:
        root = ET.parse(osp.join(ann_dir, f'{img_id}.xml')).getroot()
        objects[img_id] = []
        for obj in root.iter('object'):
            bndbox = obj.find('bndbox')
            box = tuple(
                float(bndbox.findtext(key))
                for key in ('xmin', 'ymin', 'xmax', 'ymax'))
            difficult = (obj.findtext('difficult') or '0').strip()
            objects[img_id].append(
                (obj.findtext('name').strip(), box, difficult in ('1', '1.0')))
    return objects


def read_submission(folder: str,
                    classes: Sequence[str]) -> Dict[str, List[Detection]]:
    """Return class -> detections from ``<folder>/*_det_*_<class>.txt``."""
    detections = {}
    for name in classes:
        paths = glob.glob(osp.join(folder, f'*_det_*_{name}.txt'))
        if len(paths) != 1:
            raise FileNotFoundError(
                f'{folder}: expected one detection file of class {name!r}, '
                f'found {len(paths)}')
        with open(paths[0]) as f:
            rows = [line.split() for line in f if line.strip()]
        detections[name] = [(row[0], *map(float, row[1:6])) for row in rows]
    return detections


def _overlaps(box: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """IoU of one box with each of ``gts``, areas in pixels (+ 1)."""
    iw = np.minimum(box[2], gts[:, 2]) - np.maximum(box[0], gts[:, 0]) + 1
    ih = np.minimum(box[3], gts[:, 3]) - np.maximum(box[1], gts[:, 1]) + 1
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.)
    union = ((box[2] - box[0] + 1) * (box[3] - box[1] + 1) +
             (gts[:, 2] - gts[:, 0] + 1) * (gts[:, 3] - gts[:, 1] + 1) - inter)
    return inter / union


def class_ap(detections: Sequence[Detection],
             objects: Dict[str, List[tuple]],
             name: str,
             iou_thr: float = 0.5,
             eleven_points: bool = True) -> Tuple[float, int]:
    """Return the AP of class ``name`` and its number of counted objects.

    Args:
        detections: The class's detections, any order.
        objects: :func:`read_voc_annotations`'s output.
        name: The class.
        iou_thr: Minimum overlap of a true positive.
        eleven_points: VOC2007's 11-point AP; else the area under the
            precision envelope (VOC2010 on).
    """
    gts, difficult = {}, {}
    for img_id, objs in objects.items():
        mine = [(box, diff) for label, box, diff in objs if label == name]
        gts[img_id] = np.array([b for b, _ in mine]).reshape(-1, 4)
        difficult[img_id] = np.array([d for _, d in mine], dtype=bool)
    num_pos = int(sum((~d).sum() for d in difficult.values()))
    claimed = {
        img_id: np.zeros(len(d), bool)
        for img_id, d in difficult.items()
    }
    # descending confidence; the devkit's sort keeps the file's order on ties
    order = sorted(range(len(detections)), key=lambda i: -detections[i][1])
    tp, fp = np.zeros(len(order)), np.zeros(len(order))
    for rank, i in enumerate(order):
        img_id, _, *box = detections[i]
        candidates = gts.get(img_id, np.zeros((0, 4)))
        if not len(candidates):
            fp[rank] = 1
            continue
        ious = _overlaps(np.array(box), candidates)
        best = int(ious.argmax())
        if ious[best] < iou_thr:
            fp[rank] = 1
        elif difficult[img_id][best]:
            pass  # neither a hit nor a miss
        elif not claimed[img_id][best]:
            tp[rank] = 1
            claimed[img_id][best] = True
        else:
            fp[rank] = 1  # a duplicate
    if num_pos == 0:
        return float('nan'), 0
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    recall = tp / num_pos
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    if eleven_points:
        ap = np.mean([
            precision[recall >= t].max() if (recall >= t).any() else 0.
            for t in np.linspace(0, 1, 11)
        ])
    else:
        recall = np.concatenate([[0.], recall, [1.]])
        precision = np.concatenate([[0.], precision, [0.]])
        precision = np.maximum.accumulate(precision[::-1])[::-1]
        steps = np.where(recall[1:] != recall[:-1])[0]
        ap = np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1])
    return float(ap), num_pos


def voc_map(detections: Dict[str, List[Detection]],
            objects: Dict[str, List[tuple]],
            classes: Sequence[str],
            iou_thr: float = 0.5,
            eleven_points: bool = True) -> Tuple[float, Dict[str, float]]:
    """Return the mean AP over the classes with counted objects, and each
    such class's AP."""
    per_class = {}
    for name in classes:
        ap, num_pos = class_ap(
            detections.get(name, []), objects, name, iou_thr, eleven_points)
        if num_pos:
            per_class[name] = ap
    return float(np.mean(list(per_class.values()))), per_class


def detections_from_samples(
        samples: Sequence[dict],
        classes: Sequence[str]) -> Dict[str, List[Detection]]:
    """Return class -> detections of test samples (``img_id`` and
    ``pred_instances`` in the original image's 0-based frame, as mmdet
    predicts and ``mim test --out`` dumps them), in the server's 1-based
    pixel coordinates, as :class:`VOCSubmissionMetric` writes them."""
    detections = defaultdict(list)
    for sample in samples:
        pred = sample['pred_instances']
        for box, score, label in zip(
                np.asarray(pred['bboxes'], dtype=np.float64),
                np.asarray(pred['scores'], dtype=np.float64),
                np.asarray(pred['labels'])):
            detections[classes[int(label)]].append(
                (sample['img_id'], float(score), *(box + 1).tolist()))
    return dict(detections)


def cross_check(cfg, predictions: Sequence[dict]) -> dict:
    """Score a test run's predictions two ways: through the config's own
    test dataloader and evaluator (the ground truth as its pipeline packs
    it), and by :func:`voc_map` from the split's XML files.

    Args:
        cfg (Config): A config whose test set is a VOC-layout dataset.
        predictions: Samples with ``img_id`` and ``pred_instances`` in the
            original image's frame, e.g. the list ``mim test --out F.pkl``
            dumps.

    Returns:
        dict: ``metric`` (the evaluator's mAP), ``devkit`` (the
        transcription's), ``difference`` (metric - devkit) and
        ``per_class``: class -> ``(metric AP, devkit AP)``.
    """
    import torch
    from mmengine.evaluator import Evaluator
    from mmengine.runner import Runner
    from mmengine.structures import InstanceData

    by_id = {p['img_id']: p['pred_instances'] for p in predictions}
    loader = dict(cfg.test_dataloader, num_workers=0, persistent_workers=False)
    dataloader = Runner.build_dataloader(loader)
    dataset = dataloader.dataset
    classes = dataset.metainfo['classes']
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    ids = []
    for batch in dataloader:
        for sample in batch['data_samples']:
            pred = by_id[sample.img_id]
            sample.pred_instances = InstanceData(
                **{
                    key: torch.as_tensor(pred[key])
                    for key in ('bboxes', 'scores', 'labels')
                })
            ids.append(sample.img_id)
        evaluator.process(batch['data_samples'], batch)
    metrics = evaluator.evaluate(len(ids))
    objects = read_voc_annotations(
        osp.join(dataset.data_prefix['sub_data_root'], dataset.ann_subdir),
        ids)
    devkit, per_class = voc_map(
        detections_from_samples(
            [dict(img_id=i, pred_instances=by_id[i]) for i in ids], classes),
        objects,
        classes,
        eleven_points=getattr(evaluator.metrics[0], 'eval_mode',
                              '11points') == '11points')
    ours = metrics['pascal_voc/mAP']
    return dict(
        metric=ours,
        devkit=devkit,
        difference=ours - devkit,
        per_class={
            name: (metrics.get(f'pascal_voc/AP50_{name}'), ap)
            for name, ap in per_class.items()
        })
