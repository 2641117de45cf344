from .voc_submission import VOCSubmissionMetric

__all__ = ['VOCSubmissionMetric']
