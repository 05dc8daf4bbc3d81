"""Privacy and the k-NN fidelity/diversity metrics (PRDC) at 50,000 human × 50,000 synthetic rows with a holdout
of 50,000, ten columns (bench_quality's table), as the full report computes them: exact matches over every row,
then distances on the bounded samples the report uses. Prints a Markdown table.

    .venv/bin/python bench/bench_privacy.py [--rows 50000]

Goal (issue 21): privacy with DCR and PRDC, 50,000 × 50,000 rows ≤ 30 s. For scale, SDMetrics' documentation
gives about 84 s for its DCR baseline protection at 1,000 × 400 rows (published, not measured here).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from bench_quality import table  # noqa: E402

from strategy.quality import frame_sample  # noqa: E402
from strategy.quality.columns import Encoder, plan_columns, sample_rows  # noqa: E402
from strategy.quality.neighbours import nearest_distances  # noqa: E402
from strategy.quality.privacy import PRIVACY_QUERY_ROWS, PRIVACY_REFERENCE_ROWS, privacy  # noqa: E402
from strategy.quality.tabular import NEIGHBOUR_ROWS, fidelity_diversity  # noqa: E402
from strategy.threads import bounded  # noqa: E402


@bounded
def measure(rows: int) -> list[tuple[str, float, str]]:
    human, synthetic, holdout = table(rows, seed=1), table(rows, seed=2, shift=0.3), table(rows, seed=3)
    plan = plan_columns(frame_sample(human, "human"), frame_sample(synthetic, "synthetic"),
                        frame_sample(holdout, "holdout"))
    started = time.perf_counter()
    encoder = Encoder(plan).fit(human)
    found = privacy(human, synthetic, plan, encoder, seed=0, holdout=holdout)
    private = time.perf_counter() - started
    started = time.perf_counter()
    prdc = fidelity_diversity(encoder.transform(sample_rows(human, NEIGHBOUR_ROWS, 0)),
                              encoder.transform(sample_rows(synthetic, NEIGHBOUR_ROWS, 1)))
    fidelity = time.perf_counter() - started
    return [("privacy: exact matches, DCR, DCR share, distance ratio, membership attack", private,
             f"DCR share {found['closer_to_training_share']:.1%}, membership AUC {found['membership_auc']:.2f}"),
            ("fidelity and diversity (precision, recall, density, coverage)", fidelity,
             f"precision {prdc['precision']:.2f}, recall {prdc['recall']:.2f}"),
            ("**both**", private + fidelity, "")]


@bounded
def searches() -> list[tuple[str, float, float]]:
    """The neighbour search alone, blocked by category columns and over every row, side by side: privacy's
    (5,000 synthetic rows among 100,000 human rows, two nearest) and fidelity's (5,000 rows among themselves,
    six nearest, which the report leaves unblocked)."""
    from sklearn.neighbors import NearestNeighbors

    human, synthetic = table(PRIVACY_REFERENCE_ROWS, seed=1), table(PRIVACY_REFERENCE_ROWS, seed=2, shift=0.3)
    plan = plan_columns(frame_sample(human, "human"), frame_sample(synthetic, "synthetic"))
    encoder = Encoder(plan).fit(human)
    reference, queries = encoder.transform(human), encoder.transform(sample_rows(synthetic, PRIVACY_QUERY_ROWS, 0))
    small = encoder.transform(sample_rows(human, NEIGHBOUR_ROWS, 0))
    found = []
    for name, points, asked, k in (("privacy: 5,000 among 100,000, two nearest", reference, queries, 2),
                                   ("fidelity: 5,000 among themselves, six nearest", small, small, 6)):
        started = time.perf_counter()
        whole = NearestNeighbors(n_neighbors=k).fit(points).kneighbors(asked)[0]
        every_row = time.perf_counter() - started
        started = time.perf_counter()
        blocked = nearest_distances(points, asked, k, block_above=0)  # blocked whatever the size
        by_block = time.perf_counter() - started
        assert abs(blocked ** 2 - whole ** 2).max() < 1e-9, "the blocked search must find the same distances"
        found.append((name, every_row, by_block))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    rows = measure(args.rows)
    print(f"\n{args.rows:,} human × {args.rows:,} synthetic rows, holdout {args.rows:,}, one run\n")
    print("| step | seconds | found | goal |\n|---|---:|---|---:|")
    for name, seconds, found in rows:
        print(f"| {name} | {seconds:.2f} | {found} | {'≤ 30' if name.startswith('**') else ''} |")
    print("\nThe neighbour search alone (bench_quality's columns), one run, the same distances both ways\n")
    print("| search | every row (s) | blocked by category (s) |\n|---|---:|---:|")
    for name, every_row, by_block in searches():
        print(f"| {name} | {every_row:.2f} | {by_block:.2f} |")


if __name__ == "__main__":
    main()
