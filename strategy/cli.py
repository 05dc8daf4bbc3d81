"""The ``strategy`` command line: the same catalog and rules as the app, for scripts and pipelines."""

from __future__ import annotations

import json
import sys

import click

from strategy.catalog import Catalog, current_actor, resolve_location
from strategy.demo import initialise
from strategy.errors import StrategyError
from strategy.ingest import read_tasks
from strategy.models import FACTOR_NAMES

TASK_COLUMNS = ["id", "name", "domain", "modality", "metric", "higher_is_better", "status", "outcomes"]


class StrategyGroup(click.Group):
    """Shows a StrategyError as a one-line (or one-block) message and exit status 1, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except StrategyError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(1)


def _open(ctx: click.Context) -> Catalog:
    catalog = Catalog.open(ctx.obj["catalog"])
    ctx.call_on_close(catalog.close)
    return catalog


@click.group(cls=StrategyGroup)
@click.option("--catalog", envvar="STRATEGY_CATALOG", metavar="PATH",
              help="Catalog file (default: $STRATEGY_CATALOG, else data/catalog.duckdb).")
@click.version_option(package_name="strategy")
@click.pass_context
def main(ctx: click.Context, catalog: str | None) -> None:
    """Decide, task by task, whether training data should come from people, synthetic generation or a mix."""
    ctx.ensure_object(dict)
    ctx.obj["catalog"] = resolve_location(catalog)


@main.command()
@click.option("--demo/--empty", default=False,
              help="--demo loads the illustrative demo tasks, datasets and outcomes into a catalog "
                   "that has no tasks yet; --empty (the default) only creates the schema.")
@click.pass_context
def init(ctx: click.Context, demo: bool) -> None:
    """Create the catalog or bring its schema up to date. Safe to run again: it changes nothing then."""
    catalog, loaded = initialise(ctx.obj["catalog"], demo=demo)
    with catalog:
        counts = catalog.counts()
        click.echo(f"Catalog {catalog.location} at schema version {catalog.schema_version}.")
        if loaded:
            click.echo("Loaded demo content: " + ", ".join(f"{n} {t}" for t, n in loaded.items()) + ".")
        elif demo:
            click.echo(f"Demo not loaded: the catalog already has {counts['tasks']} tasks.")
        click.echo(f"{counts['tasks']} tasks, {counts['datasets']} datasets, {counts['outcomes']} outcomes.")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show where the catalog is, its schema version and how many rows each table holds."""
    catalog = _open(ctx)
    report = {"catalog": catalog.location, "schema_version": catalog.schema_version, "rows": catalog.counts()}
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"Catalog: {report['catalog']} (schema version {report['schema_version']})")
    for table, count in report["rows"].items():
        click.echo(f"  {table:<16} {count:>8}")


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
        click.echo(json.dumps(records, indent=2, default=str))
        return
    if frame.empty:
        click.echo("No tasks yet. Add some with `strategy tasks add FILE`, or run `strategy init --demo`.")
        return
    shown = frame[["name", "domain", "modality", "metric", "outcomes"]]
    click.echo(shown.to_string(index=False))


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
    label = "<stdin>" if source is sys.stdin.buffer or source.name == "<stdin>" else source.name
    incoming = read_tasks(source, label=label)
    created, updated = _open(ctx).save_tasks(incoming, actor=current_actor(), source_label=label)
    click.echo(f"{created} tasks created, {updated} updated from {label}.")


if __name__ == "__main__":  # pragma: no cover
    main()
