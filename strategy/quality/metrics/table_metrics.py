"""The five built-in metrics of a table's columns. The weights are documented in the README: shapes count
most because a column's own distribution is what a model meets first; coverage least, because it only asks
whether the synthetic values reach the human range and categories."""

from strategy.quality.metrics import ComparedSamples, HumannessMetric, mean_row_score, register
from strategy.quality.tabular import (
    column_pairs,
    column_shapes,
    coverage,
    detection,
    fidelity_diversity,
)


def _shapes(samples: ComparedSamples) -> list[dict]:
    return column_shapes(samples.human, samples.synthetic, samples.plan)


def _pairs(samples: ComparedSamples) -> list[dict]:
    return column_pairs(samples.human, samples.synthetic, samples.plan)


def _coverage(samples: ComparedSamples) -> list[dict]:
    return coverage(samples.human, samples.synthetic, samples.plan)


def _detection(samples: ComparedSamples) -> dict:
    rows = samples.sample_rows
    return detection(samples.encoded("human", rows, 0), samples.encoded("synthetic", rows, 1), seed=samples.seed,
                     rows=rows)


def _fidelity(samples: ComparedSamples) -> dict:
    rows = samples.sample_rows
    return fidelity_diversity(samples.encoded("human", rows, 2), samples.encoded("synthetic", rows, 3))


register(HumannessMetric("shapes", "Column shapes", "tabular", 0.30, _shapes, score=mean_row_score, position=10))
register(HumannessMetric("pairs", "Column-pair trends", "tabular", 0.20, _pairs, score=mean_row_score, position=20))
register(HumannessMetric("detection", "Detection", "tabular", 0.20, _detection, position=30, subsampled=True))
register(HumannessMetric("coverage", "Coverage", "tabular", 0.10, _coverage, score=mean_row_score, position=40))
register(HumannessMetric("fidelity", "Fidelity and diversity (k-NN)", "tabular", 0.20, _fidelity, position=50,
                         subsampled=True))
