"""How human-like a synthetic dataset is, measured against a human reference sample (tables and text)."""

from strategy.quality.columns import Sample, frame_sample, read_sample, read_texts
from strategy.quality.report import Assessment, assess

__all__ = ["Assessment", "Sample", "assess", "frame_sample", "read_sample", "read_texts"]
