"""How much of a large sample the costly metrics read, and how much their score moves with the draw.

Detection and the k-NN metrics (registered as ``subsampled``) read a seeded subsample of at most
``sample_rows`` rows per side (default :data:`strategy.quality.metrics.SAMPLE_ROWS`; the user sets it between
:data:`MIN_SAMPLE_ROWS` and :data:`MAX_SAMPLE_ROWS`). The report states the size, and when a side has more
rows than that, it measures the **drift**: the same metrics on other seeded subsamples, the modality's score
recomputed with each draw's scores in place of the report's, and the drift is the spread (largest − smallest)
of those scores, in points. Measuring it costs one more computation of those metrics per draw, so it runs by
default only above :data:`DRIFT_ABOVE_ROWS` rows on a side, where the subsample leaves out most of the data;
below, it runs when asked (``drift_draws``).
"""

from __future__ import annotations

import strategy.quality.metrics as registry
from strategy.errors import AssessmentRejected, Problem
from strategy.quality.metrics import ComparedSamples

MIN_SAMPLE_ROWS = 100
MAX_SAMPLE_ROWS = 200_000
DRIFT_ABOVE_ROWS = 100_000
DRIFT_DRAWS = 3  # subsamples in all: the report's own and two more
MAX_DRIFT_DRAWS = 10
SEED_STEP = 7_919  # each further draw's seed offset: far from the offsets the metrics add themselves


def sample_size(value: int | None) -> int:
    """The subsample size asked for, checked, or the default."""
    if value is None:
        return registry.SAMPLE_ROWS
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_SAMPLE_ROWS <= value <= MAX_SAMPLE_ROWS:
        raise AssessmentRejected([Problem("settings", None, "sample_rows",
                                          f"the subsample size is a whole number of rows from {MIN_SAMPLE_ROWS:,} "
                                          f"to {MAX_SAMPLE_ROWS:,} (got {value!r})")])
    return value


def draw_count(value: int | None, rows: int) -> int:
    """How many subsamples to score: the asked number, else :data:`DRIFT_DRAWS` above the size threshold and 1
    (the report's own, no drift) below it."""
    if value is None:
        return DRIFT_DRAWS if rows > DRIFT_ABOVE_ROWS else 1
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DRIFT_DRAWS:
        raise AssessmentRejected([Problem("settings", None, "drift_draws",
                                          f"the number of subsamples is a whole number from 1 to {MAX_DRIFT_DRAWS} "
                                          f"(got {value!r})")])
    return value


def leaves_rows_out(samples: ComparedSamples) -> bool:
    """Whether a side has more rows than the subsample draws, so the subsampled metrics leave some out."""
    return max(len(samples.human), len(samples.synthetic)) > samples.sample_rows


def redrawn_scores(modality: str, samples: ComparedSamples, scores: dict[str, float | None],
                   draws: int) -> list[dict[str, float | None]]:
    """The modality's metric scores for each further subsample (``draws`` − 1 of them): the subsampled metrics
    recomputed on another seeded draw, the others as they are. Empty when nothing is subsampled."""
    chosen = _subsampled(modality)
    if not chosen or not leaves_rows_out(samples):
        return []
    found = []
    for draw in range(1, draws):
        other = ComparedSamples(samples.human, samples.synthetic, samples.seed + SEED_STEP * draw, samples.plan,
                                samples.sample_rows)
        other.__dict__["encoder"] = samples.encoder  # the encoding is fitted on every human row: the same one
        found.append(dict(scores) | {m.name: m.score(m.compute(other)) for m in chosen})
    return found


def _subsampled(modality: str) -> list[registry.HumannessMetric]:
    return [m for m in registry.metrics(modality) if m.subsampled]


def subsampled_metrics(modality: str) -> list[str]:
    return [m.name for m in _subsampled(modality)]
