"""mmdet's ``VOCMetric`` that also returns the AP of each class."""
from collections import OrderedDict

from mmdet.evaluation import VOCMetric
from mmdet.evaluation.functional import eval_map
from mmdet.registry import METRICS


@METRICS.register_module()
class PerClassVOCMetric(VOCMetric):
    """``VOCMetric`` whose results hold each class's AP as well.

    mmdet's ``VOCMetric`` prints a per-class table to the log but returns
    only the mean, so the per-class numbers never reach the json files that
    mmengine writes. This metric adds ``AP<iou>_<class>`` (e.g.
    ``pascal_voc/AP50_car``, in [0, 1]) for every IoU threshold and every
    class with ground truth in the evaluated set, over all object sizes
    (``scale_ranges`` applies to the mean only); everything else is
    ``VOCMetric``'s, and so is the mean (``mAP``).
    """

    def compute_metrics(self, results: list) -> dict:
        eval_results = super().compute_metrics(results)
        if self.metric != 'mAP':
            return eval_results
        gts, preds = zip(*results)
        classes = self.dataset_meta['classes']
        per_class = OrderedDict()
        for iou_thr in self.iou_thrs:
            # A second, silent evaluation: VOCMetric discards its per-class
            # results, and the evaluation costs little next to the test.
            _, class_results = eval_map(
                preds,
                gts,
                iou_thr=iou_thr,
                logger='silent',
                eval_mode=self.eval_mode,
                use_legacy_coordinate=True)
            for name, result in zip(classes, class_results):
                # a class without ground truth here has no AP
                if result['num_gts'] > 0:
                    key = f'AP{int(iou_thr * 100):02d}_{name}'
                    per_class[key] = round(float(result['ap']), 4)
        eval_results.update(per_class)
        return eval_results
