"""The ``strategy`` command line: the same catalog and rules as the app, for scripts and pipelines."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click
import pandas as pd

from strategy.backtest import run_backtest
from strategy.backup import backup, restore
from strategy.budget import MAX_BUDGET
from strategy.catalog import Catalog, resolve_data_path, resolve_location
from strategy.demo import initialise
from strategy.errors import StrategyError
from strategy.explain import calibration_sentence, class_reason
from strategy.export import PAPER_SIZES, inert, json_inert, render, renderer, renderers
from strategy.ingest import read_tasks
from strategy.models import FACTOR_NAMES, Recommendation
from strategy.outcomes import changes_table, log_file
from strategy.recommend import (
    RefitResult,
    Scenario,
    portfolio,
    recommend_task,
    refit_portfolio,
)
from strategy.summary import build_summary

TASK_COLUMNS = ["id", "name", "domain", "modality", "metric", "higher_is_better", "status", "outcomes"]


def say(text: str = "", *, err: bool = False, is_json: bool = False, nl: bool = True) -> None:
    """Everything the CLI prints goes through here: task names, notes, file names and messages may hold escape
    sequences or bidi controls (from a hostile file), which are shown as visible escapes (``\\x1b``,
    ``\\u202e``) instead of reaching the terminal. JSON keeps its meaning: those characters become ``\\uXXXX``."""
    click.echo(json_inert(text) if is_json else inert(text), err=err, nl=nl)


class StrategyGroup(click.Group):
    """Shows a StrategyError as a one-line (or one-block) message and exit status 1, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except StrategyError as error:
            say(f"Error: {error}", err=True)
            ctx.exit(1)


class Number(click.ParamType):
    """A finite number, optionally within bounds: refused as a usage error (exit status 2) with one line, before
    anything is opened or computed. ``inf``, ``nan`` and words are refused."""

    name = "number"

    def __init__(self, what: str, *, low: float | None = None, high: float | None = None):
        self.what, self.low, self.high = what, low, high

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                self.fail(f"{inert(repr(value))} is not a number: give {self.what}.", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{inert(repr(value))} is not a finite number: give {self.what}.", param, ctx)
        if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
            self.fail(f"{inert(repr(value))} is out of range: give {self.what}.", param, ctx)
        return number


# The budget the CLI accepts: dollars from 0 up to the engine's ceiling (strategy.budget.MAX_BUDGET, $10^12).
BUDGET = Number(f"a budget in US dollars from 0 to {MAX_BUDGET:,.0f}", low=0, high=MAX_BUDGET)
TARGET = Number("a finite metric value")


def _open(ctx: click.Context, *, as_of: int | None = None) -> Catalog:
    catalog = Catalog.open(ctx.obj["catalog"], data_path=ctx.obj["data_path"], as_of=as_of)
    ctx.call_on_close(catalog.close)
    return catalog


@click.group(cls=StrategyGroup)
@click.option("--catalog", envvar="STRATEGY_CATALOG", metavar="LOCATION",
              help="Catalog file, or a DuckLake address ducklake:postgres:dbname=… host=… user=… "
                   "(default: $STRATEGY_CATALOG, else data/catalog.duckdb).")
@click.option("--data-path", envvar="STRATEGY_DATA_PATH", metavar="PATH",
              help="Folder or object-store prefix for a new DuckLake catalog's Parquet files "
                   "(default: $STRATEGY_DATA_PATH; an existing lake remembers its own).")
@click.version_option(package_name="strategy")
@click.pass_context
def main(ctx: click.Context, catalog: str | None, data_path: str | None) -> None:
    """Decide, task by task, whether training data should come from people, synthetic generation or a mix."""
    ctx.ensure_object(dict)
    ctx.obj["catalog"] = resolve_location(catalog)
    ctx.obj["data_path"] = resolve_data_path(data_path)


@main.command()
@click.option("--demo/--empty", default=False,
              help="--demo loads the illustrative demo tasks, datasets and outcomes into a catalog "
                   "that has no tasks yet; --empty (the default) only creates the schema.")
@click.pass_context
def init(ctx: click.Context, demo: bool) -> None:
    """Create the catalog or bring its schema up to date. Safe to run again: it changes nothing then."""
    catalog, loaded = initialise(ctx.obj["catalog"], demo=demo, data_path=ctx.obj["data_path"])
    with catalog:
        counts = catalog.counts()
        say(f"Catalog {catalog.label} ({catalog.backend}) at schema version {catalog.schema_version}.")
        if loaded:
            say("Loaded demo content: " + ", ".join(f"{n} {t}" for t, n in loaded.items()) + ".")
            _refit_with_progress(catalog)
        elif demo:
            say(f"Demo not loaded: the catalog already has {counts['tasks']} tasks.")
        say(f"{counts['tasks']} tasks, {counts['datasets']} datasets, {counts['outcomes']} outcomes.")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show where the catalog is, its schema version and how many rows each table holds."""
    catalog = _open(ctx)
    report = {"catalog": catalog.label, "backend": catalog.backend, "schema_version": catalog.schema_version,
              "snapshot": catalog.snapshot, "user": catalog.who.user, "role": catalog.who.role,
              "rows": catalog.counts()}
    if as_json:
        say(json.dumps(report, indent=2), is_json=True)
        return
    say(f"Catalog: {report['catalog']} ({report['backend']}, schema version {report['schema_version']})")
    if report["snapshot"] is not None:
        say(f"Snapshot: {report['snapshot']}")
    say(f"Acting as: {report['user']} ({report['role']}; set $STRATEGY_USER and $STRATEGY_ROLE to change)")
    for table, count in report["rows"].items():
        say(f"  {table:<16} {count:>8}")


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print every field of every task as JSON.")
@click.option("--all", "include_archived", is_flag=True, help="Include archived tasks.")
@click.pass_context
def tasks(ctx: click.Context, as_json: bool, include_archived: bool) -> None:
    """List the tasks in the catalog (or use a subcommand: tasks add)."""
    if ctx.invoked_subcommand is not None:
        return
    frame = _open(ctx).tasks(include_archived=include_archived)
    if as_json:
        records = frame[TASK_COLUMNS[:-1] + ["description", *FACTOR_NAMES, "outcomes"]].to_dict(orient="records")
        say(json.dumps(records, indent=2, default=str), is_json=True)
        return
    if frame.empty:
        say("No tasks yet. Add some with `strategy tasks add FILE`, or run `strategy init --demo`.")
        return
    shown = frame[["name", "domain", "modality", "metric", "outcomes"]]
    say(shown.to_string(index=False))


@tasks.command("add")
@click.argument("source", type=click.File("rb"))
@click.pass_context
def tasks_add(ctx: click.Context, source) -> None:
    """Create or update tasks from a CSV or JSON file (or - for standard input).

    Columns: name, domain, modality, metric (required), description,
    higher_is_better, id, and the profile factors, each 0–4. A row updates the
    task with the same id, else the same name; otherwise it creates one. Every
    row is checked first: one bad row and nothing is written.
    """
    label = getattr(source, "name", "<stdin>")
    incoming = read_tasks(source, label=label)
    catalog = _open(ctx)
    created, updated = catalog.save_tasks(incoming, source_label=label)
    say(f"{created} tasks created, {updated} updated from {label}.")
    # A changed profile changes the answer: recompute those tasks now so browsing never waits on a fit.
    for task in incoming:
        recommend_task(catalog, task.name)
    say(f"Recommendations recomputed for {len(incoming)} tasks.")


def _refit_with_progress(catalog: Catalog, workers: int | None = None) -> RefitResult:
    total = len(catalog.tasks())
    with click.progressbar(length=total, label="Fitting tasks", file=sys.stderr) as bar:
        result = refit_portfolio(catalog, workers=workers, progress=bar.update)
    for problem in result.problems:
        say(f"Warning: not recomputed: {problem}", err=True)
    return result


def _summary(r: Recommendation) -> str:
    metric = r.expected_metric
    expected = (f"{metric.value:.3f} (80% interval {metric.low:.3f}–{metric.high:.3f})"
                if metric.value is not None else "not yet estimable (no usable outcomes)")
    lines = [
        f"{r.task_name}: {r.sourcing.upper()} ({r.basis}, confidence {r.confidence:.0%}"
        + (", LOW" if r.low_confidence else "") + ")",
        f"  budget ${r.budget:,.0f}: human {r.n_human:,} samples ${r.spend_human:,.0f} · synthetic "
        f"{r.n_synthetic:,} samples ${r.spend_synthetic:,.0f} · evaluation set {r.eval_set.size:,} "
        f"{r.eval_set.tier} ${r.eval_set.cost:,.0f}",
        f"  human share: {r.human_share_spend:.0%} of spend, {r.human_share_samples:.0%} of samples "
        f"(rules' prior {r.prior_human_share:.0%}, floor {r.human_floor:.0%})",
        f"  expected {metric.name}: {expected}",
        f"  why {r.sourcing}: {class_reason(r)}",
        f"  regime: {r.regime.replace('_', ' ')}; collapse guard {r.collapse_guard}",
    ]
    if r.extrapolation:
        lines.append(f"  {r.extrapolation}")
    if r.target is not None:
        needed = (f"${r.budget_for_target:,.0f} (reached with 80% probability)" if r.target_reachable
                  else "not reachable with this evidence")
        chance = (f"; chance this plan reaches it: {r.target_probability:.0%}"
                  if r.target_probability is not None else "")
        lines.append(f"  budget to reach {r.target}: {needed}{chance}")
    lines.append("  rules:")
    lines += [f"    {rule.id}: {rule.effect}. {rule.rationale}" for rule in r.rules]
    if r.next_experiment:
        n = r.next_experiment
        lines.append(f"  next experiment: {n.n_human:,} human + {n.n_synthetic:,} synthetic (${n.cost:,.0f}). "
                     f"{n.reason}")
    return "\n".join(lines)


@main.command()
@click.argument("task")
@click.option("--budget", type=BUDGET, metavar="USD",
              help=f"Total budget in USD, evaluation set included, 0 to {MAX_BUDGET:,.0f} (default: the task's).")
@click.option("--target", type=TARGET, metavar="X",
              help="A metric value to reach (a finite number): also report the least budget that reaches it.")
@click.option("--json", "as_json", is_flag=True, help="Print the recommendation as JSON (the stable contract).")
@click.option("--as-of", "as_of", type=click.IntRange(min=0), metavar="SNAPSHOT",
              help="Recompute from the DuckLake catalog as it was at this snapshot (the one a stored "
                   "recommendation records) and store nothing: reproduces that recommendation.")
@click.pass_context
def recommend(ctx: click.Context, task: str, budget: float | None, target: float | None, as_json: bool,
              as_of: int | None) -> None:
    """Recompute and store the recommendation for TASK (its id or name), and show it with its reasons."""
    scenario = Scenario(budget=budget, target=target, name="" if budget is None and target is None else "cli")
    result = recommend_task(_open(ctx, as_of=as_of), task, scenario, store=as_of is None)
    if as_json:
        say(result.model_dump_json(indent=2), is_json=True)
    else:
        say(_summary(result))
    if as_of is not None and not as_json:
        say(f"  (recomputed from snapshot {as_of}; nothing stored)")


@main.command()
@click.option("--expire-older-than", "expire_days", type=click.FloatRange(min=0), metavar="DAYS",
              help="Also drop lake snapshots older than this many days. Recommendations that record an "
                   "expired snapshot can no longer be reproduced with --as-of.")
@click.pass_context
def maintain(ctx: click.Context, expire_days: float | None) -> None:
    """Tidy the catalog's storage: on DuckLake, move small inlined writes to Parquet, merge small files and
    delete files nothing refers to; on an embedded file, checkpoint it. Safe while others write."""
    catalog = _open(ctx)
    report = catalog.maintain(expire_days=expire_days)
    say(f"Maintained {catalog.label} ({catalog.backend}):")
    for what, value in report.items():
        say(f"  {what:<48} {value:>12,}")


@main.command("backup")
@click.argument("folder", type=click.Path(file_okay=False))
@click.pass_context
def backup_command(ctx: click.Context, folder: str) -> None:
    """Write a consistent snapshot of the whole catalog into FOLDER (new or empty): one Parquet file per table
    and a manifest with the schema version and row counts. Admins only."""
    manifest = backup(_open(ctx), folder)
    say(f"Backed up {manifest['source']} (schema version {manifest['schema_version']}) to {folder}:")
    for table, rows in manifest["rows"].items():
        say(f"  {table:<16} {rows:>10,}")


@main.command("restore")
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.pass_context
def restore_command(ctx: click.Context, folder: str) -> None:
    """Restore a backup from FOLDER into this catalog, which must be empty; commits only when every table's
    row count matches the backup's manifest. Admins only."""
    catalog = _open(ctx)
    restored = restore(catalog, folder)
    say(f"Restored {folder} into {catalog.label}; row counts verified:")
    for table, rows in restored.items():
        say(f"  {table:<16} {rows:>10,}")


@main.command("migrate")
@click.option("--to", "target", required=True, metavar="LOCATION",
              help="The empty catalog to copy into: a .duckdb file or a ducklake:postgres:… address.")
@click.option("--to-data-path", metavar="PATH", help="Where the target lake keeps its Parquet files, if new.")
@click.pass_context
def migrate_command(ctx: click.Context, target: str, to_data_path: str | None) -> None:
    """Copy every row of this catalog into another, empty one (embedded into a lake, or back), in one
    transaction that commits only when every table's row count matches."""
    source = _open(ctx)
    destination = Catalog.open(target, data_path=to_data_path)
    ctx.call_on_close(destination.close)
    copied = source.copy_into(destination)
    say(f"Copied {source.label} ({source.backend}) into {destination.label} ({destination.backend}); "
               "row counts verified:")
    for table, rows in copied.items():
        say(f"  {table:<16} {rows:>10,}")


@main.command("log")
@click.argument("source", type=click.File("rb"))
@click.option("--no-recompute", is_flag=True, help="Write the outcomes but leave recommendations as they are.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written and what changed as JSON.")
@click.pass_context
def log_command(ctx: click.Context, source, no_recompute: bool, as_json: bool) -> None:
    """Log outcomes from a CSV, Parquet or JSON-lines file, or JSON lines on standard input (-).

    Columns: task (id or name), n_human, n_synthetic, metric, value (required), higher_is_better, regime,
    human_eval, cost, run_id, notes, dataset_ids. Every row is checked first; one bad row and nothing is
    written (exit status 1). Rows whose run id, or exact content, is already logged are skipped.
    """
    label = getattr(source, "name", "<stdin>")
    catalog = _open(ctx)
    result = log_file(catalog, source, label=label, recompute_after=not no_recompute)
    table = changes_table(result.changes)
    if as_json:
        say(json.dumps({"written": result.written, "skipped": result.skipped, "duplicates": result.duplicates,
                        "changes": table.to_dict(orient="records")}, indent=2), is_json=True)
        return
    repeated = (f", {result.duplicates} repeated in the file (written once)" if result.duplicates else "")
    say(f"{result.written} outcomes written, {result.skipped} skipped as already logged{repeated} ({label}).")
    if not table.empty:
        say(table.to_string(index=False))


class FormatChoice(click.Choice):
    """The registered export formats (strategy.export.registry), read when the command runs: a format
    registered after this module was imported is offered too."""

    def __init__(self):
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(chosen.name for chosen in renderers())

    @choices.setter
    def choices(self, _value) -> None:
        pass  # click.Choice sets it; the registry holds it


def _in_words(items: list[str]) -> str:
    return " or ".join(filter(None, [", ".join(items[:-1]), *items[-1:]]))


def _formats_help() -> str:
    """The --format help: each format with its description, "md (Markdown), ..., csv (one row per task) or json"."""
    return _in_words([f"{chosen.name} ({chosen.description})" if chosen.description else chosen.name
                      for chosen in renderers()]) + "."


@main.command("export", help="Export a strategy summary of one task, a chosen set, or the portfolio, as "
              f"{_in_words([chosen.name for chosen in renderers()])}.")
@click.option("--task", "tasks", multiple=True, metavar="TASK",
              help="A task (id or name) to export; repeat for a chosen set.")
@click.option("--portfolio", is_flag=True, help="Export every active task, with the portfolio table and totals.")
@click.option("--domain", "domains", multiple=True, help="With --portfolio: only tasks of this domain (repeatable).")
@click.option("--class", "classes", multiple=True, type=click.Choice(["human", "mixed", "synthetic"]),
              help="With --portfolio: only tasks recommended this class (repeatable).")
@click.option("--format", "fmt", required=True, type=FormatChoice(), help=_formats_help())
@click.option("--paper", type=click.Choice(PAPER_SIZES), default="A4", show_default=True, help="PDF page size.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (default: standard output).")
@click.pass_context
def export_command(ctx: click.Context, tasks: tuple[str, ...], portfolio: bool, domains: tuple[str, ...],
                   classes: tuple[str, ...], fmt: str, paper: str, output: str | None) -> None:
    if bool(tasks) == portfolio:
        raise click.UsageError("Give --task TASK (one or more) or --portfolio, not both.")
    if (domains or classes) and not portfolio:
        raise click.UsageError("--domain and --class filter the portfolio: use them with --portfolio.")
    filters = {"domains": list(domains), "classes": list(classes)} if domains or classes else None
    bundle = build_summary(_open(ctx), task_ids=list(tasks) or None, filters=filters,
                           scope="portfolio" if portfolio and not filters else None)
    data = render(bundle, fmt, paper=paper)
    if output:
        Path(output).write_bytes(data)
        say(f"Wrote {output} ({len(data):,} bytes, {len(bundle.summary.tasks)} tasks).", err=True)
    elif renderer(fmt).binary:
        click.echo(data, nl=False)  # for a file or a pipe; the text formats are inert already
    else:
        say(data.decode("utf-8"), is_json=renderer(fmt).media_type == "application/json", nl=False)


@main.command("portfolio")
@click.option("--json", "as_json", is_flag=True, help="Print the stored recommendations as JSON.")
@click.pass_context
def portfolio_command(ctx: click.Context, as_json: bool) -> None:
    """Show the stored recommendation of every task (reads only; `strategy refit` recomputes)."""
    frame = portfolio(_open(ctx))
    if as_json:
        say(frame.to_json(orient="records", date_format="iso", indent=2), is_json=True)
        return
    if frame.empty:
        say("No recommendations stored yet: run `strategy refit`.")
        return
    shown = frame.assign(
        human_share=(frame["human_share_spend"] * 100).round().astype(int).astype(str) + "%",
        confidence=(frame["confidence"] * 100).round().astype(int).astype(str) + "%",
        expected=frame["expected_value"].round(3),
    )[["task_name", "sourcing", "human_share", "expected", "confidence", "basis", "evidence_count"]]
    say(shown.to_string(index=False))


@main.command()
@click.option("--workers", type=int, help="Processes to fit with (default: up to 4, one per core).")
@click.pass_context
def refit(ctx: click.Context, workers: int | None) -> None:
    """Refit the pooled prior and every task's curve, and store a fresh recommendation for each task."""
    results = _refit_with_progress(_open(ctx), workers)
    say(f"Stored {len(results)} recommendations.")


@main.command("backtest")
@click.option("--json", "as_json", is_flag=True, help="Print per-task errors and the summary as JSON.")
@click.option("--form", type=click.Choice(["surface", "linear", "saturating", "penalised"]), default="surface",
              help="Model to score: the engine's posterior over curve surfaces (default), or a single "
                   "least-squares curve of one form (the engine before contract /2 used penalised).")
@click.pass_context
def backtest_command(ctx: click.Context, as_json: bool, form: str) -> None:
    """Leave-one-outcome-out error of the model against the rules-only and task-mean baselines."""
    result = run_backtest(_open(ctx), form=form)
    summary, table = result["summary"], pd.DataFrame(result["tasks"])
    if as_json:
        say(json.dumps({"form": form, **result}, indent=2), is_json=True)
        return
    if table.empty:
        say("No task has enough outcomes to backtest (4 or more).")
        return
    columns = ["task", "outcomes", "mae_model", "mae_rules", "mae_mean", "coverage_80", "coverage_80_calibrated"]
    say(table[[c for c in columns if c in table]].round(4).to_string(index=False))
    errors = summary["relative_error"]
    say(f"\nRelative error (MAE / sd of outcomes), mean over {summary['tasks']} tasks: model "
        f"{errors['model']:.3f}, rules-only {errors['rules']:.3f}, task mean {errors['mean']:.3f}.")
    coverage = calibration_sentence(summary)
    if coverage.headline != "—":
        say(f"80% intervals cover {coverage.headline} of held-out outcomes (well calibrated: 75–85%).")
    if coverage.sentence:
        say(coverage.sentence)
    if result.get("replanned"):
        say(f"Re-planned {result['replanned']} tasks from their stored fits, so their intervals use the new width.")


# The import and assess commands live in their own modules (strategy.cli_import, strategy.cli_assess), which
# read say and _open from here.
from strategy.cli_assess import assess  # noqa: E402
from strategy.cli_import import import_group  # noqa: E402

main.add_command(import_group)
main.add_command(assess)

if __name__ == "__main__":  # pragma: no cover
    main()
