"""Detections in the format of the PASCAL VOC evaluation server."""
import os
import os.path as osp
from collections import defaultdict
from typing import Optional, Sequence

from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from ..fileio import atomic_open


@METRICS.register_module()
class VOCSubmissionMetric(BaseMetric):
    """Write ``<out>/VOC<year>/Main/<comp>_det_<split>_<class>.txt`` files.

    VOC 2012 test has no public labels; the evaluation server scores these
    files (area-under-curve mAP). Each line is ``<image id> <score> <x1>
    <y1> <x2> <y2>`` in VOC's 1-based pixel coordinates (mmdet's VOC loader
    subtracts 1, this adds it back). Files are written atomically.

    Args:
        outfile_prefix (str): Output folder; relative paths are taken from
            the current directory (``mim test`` runs in the caller's).
        year (str): VOC year of the test set. Defaults to '2012'.
        split (str): Image set. Defaults to 'test'.
        comp (str): Competition: ``comp4`` (own training data, the case of
            Selective Search + ImageNet) or ``comp3``.
    """
    default_prefix: Optional[str] = 'pascal_voc'

    def __init__(self,
                 outfile_prefix: str = 'results',
                 year: str = '2012',
                 split: str = 'test',
                 comp: str = 'comp4',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.outfile_prefix = outfile_prefix
        self.year = year
        self.split = split
        self.comp = comp

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_instances']
            self.results.append(
                (sample['img_id'], pred['bboxes'].cpu().numpy(),
                 pred['scores'].cpu().numpy(), pred['labels'].cpu().numpy()))

    def compute_metrics(self, results: list) -> dict:
        classes = self.dataset_meta['classes']
        lines = defaultdict(list)
        for img_id, bboxes, scores, labels in results:
            for (x1, y1, x2, y2), score, label in zip(bboxes, scores, labels):
                lines[classes[label]].append(
                    f'{img_id} {score:.6f} {x1 + 1:.1f} {y1 + 1:.1f} '
                    f'{x2 + 1:.1f} {y2 + 1:.1f}\n')
        out_dir = osp.join(self.outfile_prefix, f'VOC{self.year}', 'Main')
        os.makedirs(out_dir, exist_ok=True)
        for name in classes:
            path = osp.join(out_dir,
                            f'{self.comp}_det_{self.split}_{name}.txt')
            with atomic_open(path, 'w') as f:
                f.writelines(lines[name])
        num_dets = sum(len(v) for v in lines.values())
        print_log(
            f'wrote {num_dets} detections of {len(results)} images for the '
            f'VOC evaluation server to {out_dir}; tar them as '
            f'results/VOC{self.year}/Main/*.txt and upload', 'current')
        return dict(num_images=len(results), num_detections=num_dets)
