from .voc_metric import PerClassVOCMetric  # registers in mmdet's METRICS
from .voc_submission import VOCSubmissionMetric  # registers in METRICS

__all__ = ['PerClassVOCMetric', 'VOCSubmissionMetric']
