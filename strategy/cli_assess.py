"""``strategy assess``: how human-like one synthetic sample is, or several ranked against the same human sample.
Registered on the main group by strategy.cli."""

from __future__ import annotations

import json
from pathlib import Path

import click

from strategy.assessments import save_assessment, save_ranking
from strategy.errors import StrategyError
from strategy.export import inert
from strategy.quality import present
from strategy.quality.metrics import SAMPLE_ROWS
from strategy.quality.ranking import assess_candidates, rank
from strategy.quality.report import assess as assess_samples
from strategy.quality.samples import load_sample
from strategy.quality.streamed import assess_many_files, same_columns, streams
from strategy.quality.subsample import MAX_DRIFT_DRAWS, MAX_SAMPLE_ROWS, MIN_SAMPLE_ROWS


@click.command()
@click.option("--human", "human_file", required=True, type=click.Path(dir_okay=False),
              help="The human reference sample: CSV, Parquet, JSON lines, or .txt with one text per line.")
@click.option("--synthetic", "synthetic_files", required=True, multiple=True, type=click.Path(dir_okay=False),
              help="The synthetic sample to measure, in the same formats. Give it several times to rank several "
                   "samples (vendors, generator versions, prompts) against the same human sample.")
@click.option("--holdout", "holdout_file", type=click.Path(dir_okay=False),
              help="Human rows the generator never saw: enables the memorisation check.")
@click.option("--text-column", help="Assess this column as free text (a .txt file's column is named text).")
@click.option("--columns", help="Compare only these columns (comma-separated; default: every shared column).")
@click.option("--ignore", help="Columns to leave out (comma-separated), such as identifiers.")
@click.option("--segment", help="Also score within each value of this column.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for every sample and classifier.")
@click.option("--sample-rows", type=click.IntRange(MIN_SAMPLE_ROWS, MAX_SAMPLE_ROWS), metavar="N",
              help=f"Rows per side that detection and the k-NN metrics draw (default {SAMPLE_ROWS:,}).")
@click.option("--drift-draws", type=click.IntRange(1, MAX_DRIFT_DRAWS), metavar="N",
              help="Subsamples to score for the drift (default: 3 above 100,000 rows on a side, else 1: no drift).")
@click.option("--save-as", "save_as", metavar="DATASET", multiple=True,
              help="Store the report against this synthetic catalog dataset (id or name); its task is recomputed. "
                   "When ranking, give one per --synthetic, in the same order.")
@click.option("--choose", metavar="FILE",
              help="When ranking with --save-as: the sample whose report the decision uses (default: the first "
                   "ranked).")
@click.option("--reference", metavar="DATASET", help="With --save-as: the catalog dataset the human file is from.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report (or the ranking) as JSON.")
@click.pass_context
def assess(ctx: click.Context, human_file: str, synthetic_files: tuple[str, ...], holdout_file: str | None,
           text_column: str | None, columns: str | None, ignore: str | None, segment: str | None, seed: int,
           sample_rows: int | None, drift_draws: int | None, save_as: tuple[str, ...], choose: str | None,
           reference: str | None, as_json: bool) -> None:
    """Measure how human-like a synthetic sample is against a human one, with the noise floor beside each score;
    with several --synthetic samples, rank them by humanness and privacy risk."""
    if text_column is None and human_file.lower().endswith(".txt") and all(
            f.lower().endswith(".txt") for f in synthetic_files):
        text_column = "text"
    options = {"columns": _names(columns), "ignore": _names(ignore), "text_column": text_column, "seed": seed,
               "sample_rows": sample_rows, "drift_draws": drift_draws}
    if len(synthetic_files) == 1 and len(save_as) > 1:
        raise StrategyError("Give --save-as once for one --synthetic sample.")
    if len(synthetic_files) == 1 and choose:
        raise StrategyError("--choose picks one of several --synthetic samples; only one was given.")
    if streams(human_file, *synthetic_files, holdout_file):
        _streamed(ctx, human_file, synthetic_files, holdout_file, options | {"segment_column": segment},
                  save_as=save_as, choose=choose, reference=reference, as_json=as_json)
        return
    human = load_sample(human_file)
    holdout = load_sample(holdout_file) if holdout_file else None
    if len(synthetic_files) > 1:
        _rank(ctx, human, [load_sample(f) for f in synthetic_files], holdout, options | {"segment_column": segment},
              save_as=save_as, choose=choose, reference=reference, as_json=as_json)
        return
    report = assess_samples(human, load_sample(synthetic_files[0]), holdout, segment_column=segment, **options)
    _report(ctx, report, save_as=save_as, reference=reference, as_json=as_json)


def _streamed(ctx: click.Context, human_file: str, synthetic_files: tuple[str, ...], holdout_file: str | None,
              options: dict, *, save_as: tuple[str, ...], choose: str | None, reference: str | None,
              as_json: bool) -> None:
    """Files over the streaming threshold: shapes and pairs over every row in DuckDB, the rest subsampled."""
    reports = dict(zip(synthetic_files, assess_many_files(human_file, list(synthetic_files), holdout_file, **options),
                       strict=True))
    if len(synthetic_files) > 1:
        _rank(ctx, None, list(reports), None, options, save_as=save_as, choose=choose, reference=reference,
              as_json=as_json, reports=reports)
        return
    _report(ctx, reports[synthetic_files[0]], save_as=save_as, reference=reference, as_json=as_json)


def _report(ctx: click.Context, report, *, save_as: tuple[str, ...], reference: str | None, as_json: bool) -> None:
    from strategy.cli import _open, say

    if save_as:
        stored = save_assessment(_open(ctx), report, dataset_id=save_as[0], reference_dataset_id=reference)
    if as_json:
        say(report.to_json(), is_json=True)
    else:
        say(report.summary())
    if save_as and not as_json:
        say(f"Stored as quality report {stored.id}.")


def _rank(ctx: click.Context, human, candidates, holdout, options: dict, *, save_as: tuple[str, ...],
          choose: str | None, reference: str | None, as_json: bool, reports: dict | None = None) -> None:
    """Rank several synthetic samples (or their ``reports``, assessed already from large files); with
    --save-as, store every report and mark the chosen one."""
    from strategy.cli import _open, say

    if save_as and len(save_as) != len(candidates):
        raise StrategyError(f"Give --save-as once per --synthetic sample, in the same order ({len(candidates)} "
                            f"samples, {len(save_as)} datasets).")
    if choose and not save_as:
        raise StrategyError("--choose marks the report the decision uses, so it needs --save-as.")
    labels = [c.label for c in candidates] if reports is None else list(reports)
    if choose is not None:
        matches = [label for label in labels if label == choose or Path(label).name == choose]
        if len(matches) != 1:
            raise StrategyError(f"--choose {choose!r} is not exactly one of the --synthetic files "
                                f"({', '.join(labels)}).")
        choose = matches[0]
    ranked = assess_candidates(human, candidates, holdout, **options) if reports is None else rank(
        same_columns(reports))
    stored, chosen_label = None, None
    if save_as:
        chosen_label = choose or ranked[0].label  # save_ranking's own default
        stored = save_ranking(_open(ctx), ranked, dict(zip(labels, save_as, strict=True)), chosen=choose,
                              reference_dataset_id=reference)
    frame = present.ranking_frame(ranked)
    if as_json:
        say(json.dumps({"ranking": [{"rank": r.rank, "label": r.label, "humanness": r.humanness, "floor": r.floor,
                                     "grade": r.grade, "privacy_risk": r.privacy_risk, "crossed": list(r.crossed),
                                     "chosen": r.label == chosen_label if stored else None} for r in ranked],
                        "stored": [s.id for s in stored] if stored else [],
                        "reports": {r.label: r.assessment.data for r in ranked}}, indent=2), is_json=True)
        return
    say(f"Ranked {len(ranked)} synthetic samples against {ranked[0].assessment.data['human']['label']} "
        "(best first):")
    say(inert(frame.to_string(index=False)))
    say(inert(present.ranking_sentence(ranked)))
    say("Privacy risk: 0 is what no memorisation gives, 1 is a privacy threshold reached.")
    if stored:
        say(inert(f"Stored {len(stored)} quality reports; the decision uses {chosen_label}'s."))


def _names(listed: str | None) -> list[str] | None:
    return None if listed is None else [name.strip() for name in listed.split(",") if name.strip()]
