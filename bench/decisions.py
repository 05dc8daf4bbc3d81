"""The real-data decision benchmark (issue 17): score sourcing plans against measured training runs.

The ground truth is ``bench/data/decision_grid.csv`` (written by ``scripts/measure_decision_grid.py``):
real labelled tables, four synthetic generators and three learners, trained at a grid of human/synthetic
mixes and scored on held-out real rows. Nothing here reads a catalog: scoring only looks at that file. The
engine adapters at the end (:class:`DirectEngine`, :class:`CatalogEngine`) are the only code that calls the
project, and only to *choose* a plan from pilot outcomes.

- **Case**: one (table, generator, learner). Its **measured surface** is the mean over repeats at each grid
  cell, interpolated bilinearly on log1p(n) axes between cells and clamped to the grid's edges outside it
  (more human rows than the grid measured count as its largest level; likewise synthetic rows).
- **Scenario**: a case, a price ratio (:data:`PRICES`) and a training budget worth
  :data:`BUDGETS_IN_HUMAN_SAMPLES` human samples, kept to budgets whose human-only plan lies inside the
  grid (small tables measured fewer human levels).
- **Regret** of a plan: the best measured value over every affordable plan (``n_h·c_h + n_s·c_s ≤ budget``;
  every whole ``n_h`` from 0 up, and for each the synthetic counts at the grid levels and at the most it can
  afford, which is where a piecewise-bilinear surface peaks along that line) minus the measured value at
  the plan. The best plan has regret 0; every affordable plan has regret ≥ 0.
- **Pilots** (:data:`PILOTS`): fixed designs of 6, 10 and 14 runs at small counts, each larger one
  extending the smaller; a pilot's runs are all one repeat's measured values (real noise, as if the team
  ran them once on one purchase), and each scenario is scored once per pilot draw (a draw per repeat, up to
  ``pilot_repeats``). The surface the plan is scored on is the mean over all repeats, the pilot's own
  included (one of five at the pilot's small cells, where the chosen plans rarely lie).
- **Policies**: human only; synthetic at the rules' floor (5% of spend on human data, the collapse guard's
  floor, the rest synthetic); 50/50 of spend; and ``engine``, any callable
  ``(pilot_rows, budget, prices) -> (n_human, n_synthetic)``.
"""

from __future__ import annotations

import hashlib
import math
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

GRID_PATH = Path(__file__).resolve().parent / "data" / "decision_grid.csv"
METRIC = "accuracy"


class Prices(NamedTuple):
    """Per-sample prices in USD (the same attribute names as ``strategy.budget.Costs``)."""

    human: float
    synthetic: float


PRICES = {"100:1": Prices(1.00, 0.01), "10:1": Prices(1.00, 0.10)}
BUDGETS_IN_HUMAN_SAMPLES = (15, 30, 60, 120, 240)
FLOOR = 0.05  # the collapse guard's floor (data/rulebook.json, G-COLLAPSE)

# Pilot designs: (n_human, n_synthetic) grid cells; each extends the one before. Human-only runs give the
# human slope, synthetic-only and mixed runs what synthetic rows add at a small human count. The runs are
# nested subsets of one purchase, so a pilot costs its largest human and synthetic counts (pilot_cost): the
# 6-run pilot buys 20 human and 100 synthetic rows, the 10-run 20 and 400, the 14-run 40 and 400.
PILOT_6 = ((10, 0), (20, 0), (0, 100), (10, 25), (10, 100), (20, 100))
PILOT_10 = PILOT_6 + ((0, 400), (10, 400), (20, 400), (20, 25))
PILOT_14 = PILOT_10 + ((40, 0), (40, 100), (40, 400), (0, 25))
PILOTS = {6: PILOT_6, 10: PILOT_10, 14: PILOT_14}
TIE = 1e-3  # "beats or ties": within a tenth of an accuracy point


# ------------------------------------------------------------------------------------- the grid
def load_grid(path: str | Path = GRID_PATH, metric: str = METRIC) -> pd.DataFrame:
    grid = pd.read_csv(path)
    return grid[grid["metric"] == metric].reset_index(drop=True)


def _interpolate(levels: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower cell index and weight of the upper cell on a log1p axis, clamped to the axis."""
    axis = np.log1p(levels)
    at = np.log1p(np.clip(np.asarray(counts, float), levels[0], levels[-1]))
    low = np.clip(np.searchsorted(axis, at, side="right") - 1, 0, len(levels) - 2)
    weight = (at - axis[low]) / (axis[low + 1] - axis[low])
    return low, np.clip(weight, 0.0, 1.0)


@dataclass
class Case:
    """One (table, generator, learner): its grid axes, each repeat's values and their mean."""

    table: str
    generator: str
    learner: str
    human_levels: np.ndarray
    synthetic_levels: np.ndarray
    runs: np.ndarray  # (repeats, human levels, synthetic levels)
    mean: np.ndarray = field(init=False)

    def __post_init__(self):
        self.mean = self.runs.mean(axis=0)

    @property
    def name(self) -> str:
        return f"{self.table}/{self.generator}/{self.learner}"

    @property
    def repeats(self) -> int:
        return self.runs.shape[0]

    def value(self, n_human, n_synthetic, surface: np.ndarray | None = None) -> np.ndarray:
        """The measured surface (or one repeat's, ``surface``) at any plans: bilinear on log1p axes."""
        table = self.mean if surface is None else surface
        n_h, n_s = np.broadcast_arrays(np.asarray(n_human, float), np.asarray(n_synthetic, float))
        i, a = _interpolate(self.human_levels, n_h)
        j, b = _interpolate(self.synthetic_levels, n_s)
        return ((1 - a) * (1 - b) * table[i, j] + a * (1 - b) * table[i + 1, j]
                + (1 - a) * b * table[i, j + 1] + a * b * table[i + 1, j + 1])

    def cell(self, n_human: int, n_synthetic: int, repeat: int) -> float:
        """One repeat's measured value at a grid cell."""
        i = int(np.flatnonzero(self.human_levels == n_human)[0])
        j = int(np.flatnonzero(self.synthetic_levels == n_synthetic)[0])
        return float(self.runs[repeat, i, j])


def cases(grid: pd.DataFrame | None = None) -> list[Case]:
    grid = load_grid() if grid is None else grid
    made = []
    for (table, generator, learner), rows in grid.groupby(["table", "generator", "learner"], sort=True):
        humans = np.sort(rows["n_human"].unique()).astype(float)
        synthetic = np.sort(rows["n_synthetic"].unique()).astype(float)
        repeats = np.sort(rows["repeat"].unique())
        cube = (rows.set_index(["repeat", "n_human", "n_synthetic"])["value"]
                .reindex(pd.MultiIndex.from_product([repeats, humans.astype(int), synthetic.astype(int)])))
        if cube.isna().any():
            raise ValueError(f"{table}/{generator}/{learner}: the grid has missing cells")
        made.append(Case(table, generator, learner, humans, synthetic,
                         cube.to_numpy(float).reshape(len(repeats), len(humans), len(synthetic))))
    return made


def budgets_for(case: Case, prices: Prices) -> list[float]:
    """Training budgets (USD) whose human-only plan lies inside the case's measured human levels."""
    return [b * prices.human for b in BUDGETS_IN_HUMAN_SAMPLES if b <= case.human_levels[-1]]


# ------------------------------------------------------------------------------------- regret
def _affordable(budget: float, prices: Prices, n_human: float, n_synthetic: float) -> bool:
    return n_human >= 0 and n_synthetic >= 0 and n_human * prices.human + n_synthetic * prices.synthetic <= budget + 1e-6


def best_plan(case: Case, budget: float, prices: Prices) -> tuple[int, int, float]:
    """The affordable plan with the highest measured value, and that value."""
    n_h = np.arange(0, math.floor(budget / prices.human + 1e-9) + 1, dtype=float)
    cap = np.floor((budget - n_h * prices.human) / prices.synthetic + 1e-9)
    levels = case.synthetic_levels
    plans_h = np.concatenate([np.repeat(n_h, len(levels)), n_h])
    plans_s = np.concatenate([np.tile(levels, len(n_h)), cap])
    keep = plans_s <= np.concatenate([np.repeat(cap, len(levels)), cap])
    plans_h, plans_s = plans_h[keep], plans_s[keep]
    values = case.value(plans_h, plans_s)
    best = int(np.argmax(values))
    return int(plans_h[best]), int(plans_s[best]), float(values[best])


def regret(case: Case, budget: float, prices: Prices, plan: tuple[float, float]) -> float:
    """Best measured value on the budget line minus the measured value at ``plan`` (≥ 0)."""
    n_human, n_synthetic = plan
    if not _affordable(budget, prices, n_human, n_synthetic):
        raise ValueError(f"plan {plan} costs more than the budget {budget} at {prices}")
    gap = best_plan(case, budget, prices)[2] - float(case.value(n_human, n_synthetic))
    if gap < -1e-9:
        raise RuntimeError(f"{case.name}: plan {plan} beats the best plan on its budget line by {-gap}")
    return max(gap, 0.0)


# ------------------------------------------------------------------------------------- policies
def _split(budget: float, prices: Prices, human_share: float) -> tuple[int, int]:
    n_h = math.floor(human_share * budget / prices.human + 1e-9)
    n_s = math.floor((budget - n_h * prices.human) / prices.synthetic + 1e-9)
    return n_h, n_s


def human_only(pilot, budget, prices):
    return _split(budget, prices, 1.0)


def synthetic_floor(pilot, budget, prices):
    return _split(budget, prices, FLOOR)


def fifty_fifty(pilot, budget, prices):
    return _split(budget, prices, 0.5)


def rules_only(pilot, budget, prices):
    """What the engine recommends from the rules alone (no outcomes) for the benchmark's neutral task: its
    prior share of spend, with the collapse guard's floor."""
    from strategy.budget import Costs
    from strategy.models import Task
    from strategy.recommend import TIER_DEFAULTS, Scenario, TaskEvidence, plan

    empty = np.array([], dtype=float)
    task = Task(id="00000000-0000-4000-8000-000000000017", name=BENCH_TASK, domain="Benchmark",
                modality="tabular", metric=METRIC, higher_is_better=True)
    evidence = TaskEvidence(task=task, n_human=empty, n_synthetic=empty, values=empty,
                            tier_costs=dict(TIER_DEFAULTS))
    scenario = Scenario(budget=budget + eval_set_cost(task, evidence.tier_costs),
                        costs=Costs(human=prices.human, synthetic=prices.synthetic))
    return _check(plan(evidence, None, scenario), budget, prices)


FIXED_POLICIES: dict[str, Callable] = {"human only": human_only, "synthetic at floor": synthetic_floor,
                                       "50/50 spend": fifty_fifty, "rules only": rules_only}


def pilot_rows(case: Case, size: int, repeat: int) -> pd.DataFrame:
    """A pilot's outcomes: its design's cells, each with one repeat's measured value."""
    design = PILOTS[size]
    return pd.DataFrame({"n_human": [h for h, _ in design], "n_synthetic": [s for _, s in design],
                         "value": [case.cell(h, s, repeat) for h, s in design]})


def pilot_cost(size: int, prices: Prices) -> float:
    """What a pilot's data costs: its largest human and synthetic counts, bought once (runs are subsets)."""
    design = PILOTS[size]
    return max(h for h, _ in design) * prices.human + max(s for _, s in design) * prices.synthetic


# ------------------------------------------------------------------------------------- scoring
def score(all_cases: Iterable[Case], engine: Callable | None, *, pilot_sizes=(6, 10, 14), prices=None,
          pilot_repeats: int | None = None, progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """One row per scenario × policy (× pilot size and repeat for the engine): the plan and its regret.

    The engine is asked about every budget and price of one pilot in a row, so an adapter can fit once per
    pilot. An engine that raises buys nothing (regret of the empty plan) and is counted as failed.
    """
    prices = prices or PRICES
    rows = []
    for case in all_cases:
        scenarios = []
        for ratio, price in prices.items():
            for budget in budgets_for(case, price):
                best_h, best_s, best_value = best_plan(case, budget, price)
                spend = best_h * price.human + best_s * price.synthetic
                base = {"table": case.table, "generator": case.generator, "learner": case.learner, "prices": ratio,
                        "budget": budget, "budget_human_samples": budget / price.human, "best_n_human": best_h,
                        "best_n_synthetic": best_s, "best_value": best_value,
                        "best_outside_grid": bool(best_s > case.synthetic_levels[-1]),
                        "best_human_share_spend": best_h * price.human / spend if spend > 0 else 1.0}
                scenarios.append((base, budget, price))
                for name, policy in FIXED_POLICIES.items():
                    n_h, n_s = policy(None, budget, price)
                    rows.append(base | {"policy": name, "pilot": 0, "repeat": -1, "n_human": n_h,
                                        "n_synthetic": n_s, "spend_human": n_h * price.human,
                                        "spend_synthetic": n_s * price.synthetic,
                                        "regret": regret(case, budget, price, (n_h, n_s)), "failed": False})
        if engine is not None:
            repeats = range(case.repeats if pilot_repeats is None else min(pilot_repeats, case.repeats))
            for size in pilot_sizes:
                for repeat in repeats:
                    pilot = pilot_rows(case, size, repeat)
                    for base, budget, price in scenarios:
                        failed = False
                        try:
                            n_h, n_s = engine(pilot, budget, price)
                        except Exception:
                            n_h, n_s, failed = 0, 0, True
                        rows.append(base | {"policy": "engine", "pilot": size, "repeat": repeat, "n_human": int(n_h),
                                            "n_synthetic": int(n_s), "spend_human": n_h * price.human,
                                            "spend_synthetic": n_s * price.synthetic,
                                            "regret": regret(case, budget, price, (n_h, n_s)), "failed": failed})
        if progress:
            progress(case.name)
    return pd.DataFrame(rows)


CLASSES = ("human", "mixed", "synthetic")
# Not a policy anyone can follow: per scenario, whichever fixed policy turned out best. A stronger yardstick
# than any one fixed policy, since the engine's job is to know which corner (or mix) suits the case.
HINDSIGHT = "best fixed, in hindsight"


def _classes(human_share_spend) -> np.ndarray:
    """The engine's classes by share of spend: human ≥ 80%, synthetic ≤ 20%, mixed between."""
    share = np.asarray(human_share_spend, float)
    return np.where(share >= 0.8, "human", np.where(share <= 0.2, "synthetic", "mixed"))


def summarise(results: pd.DataFrame) -> dict:
    """Mean regret per family and policy, how often the engine beats or ties each fixed policy, and the
    engine's regret minus human-only's per table."""
    fixed = results[results["policy"] != "engine"]
    engine = results[results["policy"] == "engine"]
    keys = ["table", "generator", "learner", "prices", "budget"]
    columns = list(FIXED_POLICIES) + [HINDSIGHT] + [f"engine, pilot {p}" for p in sorted(engine["pilot"].unique())]
    hindsight = fixed.groupby(keys)["regret"].min().rename(HINDSIGHT)

    def family_table(by: str | None) -> list[dict]:
        groups = [("overall", results)] if by is None else list(results.groupby(by, sort=True))
        out = []
        for label, part in groups:
            row = {"family": label if by is None else f"{by}: {label}"}
            for name in FIXED_POLICIES:
                row[name] = float(part.loc[part["policy"] == name, "regret"].mean())
            row[HINDSIGHT] = float(hindsight.reindex(pd.MultiIndex.from_frame(part[keys].drop_duplicates())).mean())
            for size, chunk in part[part["policy"] == "engine"].groupby("pilot"):
                row[f"engine, pilot {size}"] = float(chunk["regret"].mean())
            out.append(row)
        return out

    families = []
    for by in ("generator", "learner", "prices", "budget_human_samples", None):
        families += family_table(by)
    for row in families:
        row["family"] = row["family"].replace("budget_human_samples: ", "budget in human samples: ")

    wide = fixed.pivot_table(index=keys, columns="policy", values="regret")
    versus = []
    for size, chunk in engine.groupby("pilot"):
        joined = chunk.join(wide, on=keys)
        row = {"pilot": int(size), "scenarios": int(len(joined)), "engine failed": int(chunk["failed"].sum())}
        for name in FIXED_POLICIES:
            row[name] = float((joined["regret"] <= joined[name] + TIE).mean())
        row[HINDSIGHT] = float((joined["regret"] <= joined[list(FIXED_POLICIES)].min(axis=1) + TIE).mean())
        versus.append(row)

    per_table = []
    human = fixed[fixed["policy"] == "human only"].groupby("table")["regret"].mean()
    for table, part in engine.groupby("table"):
        row = {"table": table, "human only": float(human[table])}
        for size, chunk in part.groupby("pilot"):
            row[f"engine − human only, pilot {size}"] = float(chunk["regret"].mean() - human[table])
        per_table.append(row)

    scenarios = fixed.drop_duplicates(keys)
    best_class = _classes(scenarios["best_human_share_spend"])
    total = engine["spend_human"] + engine["spend_synthetic"]
    share = (engine["spend_human"] / total.where(total > 0, 1.0)).where(total > 0, 1.0)
    engine_class = pd.Series(_classes(share), index=engine.index)
    plan_classes = [{"plans": "best measured plan"} | {c: float(np.mean(best_class == c)) for c in CLASSES}]
    for size, chunk in engine_class.groupby(engine["pilot"]):
        plan_classes.append({"plans": f"engine, pilot {size}"} | {c: float(np.mean(chunk == c)) for c in CLASSES})
    return {
        "metric": METRIC, "columns": columns, "families": families, "engine_beats_or_ties": versus,
        "per_table": per_table,
        "scenarios": int(len(scenarios)), "cases": int(len(scenarios.drop_duplicates(keys[:3]))),
        "best_plan_outside_grid": float(scenarios["best_outside_grid"].mean()),
        "best_plan_class": {c: float(np.mean(best_class == c)) for c in CLASSES}, "plan_classes": plan_classes,
        "pilot_cost": {ratio: {str(size): pilot_cost(size, price) for size in PILOTS} for ratio, price in PRICES.items()},
    }


# ------------------------------------------------------------------------------------- engine adapters
BENCH_TASK = "Decision benchmark task"


def _task(rows: pd.DataFrame):
    """A neutral task (every profile factor 0: only the collapse guard fires) with an id fixed by its pilot,
    so the engine's bootstrap seed, and hence its plan, is the same on every path."""
    from strategy.models import Task

    digest = hashlib.sha1(rows[["n_human", "n_synthetic", "value"]].to_csv(index=False).encode()).hexdigest()
    return Task(id=str(uuid.UUID(digest[:32])), name=BENCH_TASK, domain="Benchmark", modality="tabular",
                metric=METRIC, higher_is_better=True)


def _ordered(pilot: pd.DataFrame) -> pd.DataFrame:
    """Pilot rows in the order the catalog reads one import back (by n_human, then n_synthetic)."""
    return pilot.sort_values(["n_human", "n_synthetic"], kind="stable", ignore_index=True)


def eval_set_cost(task, tier_costs: dict[str, float], rulebook=None) -> float:
    """What the engine spends on the human evaluation set before training (as strategy.recommend.plan)."""
    from strategy.rules import default_rulebook

    verdict = (rulebook or default_rulebook()).evaluate(task.profile())
    return round(verdict.eval_size * tier_costs[verdict.eval_tier], 2)


def _check(recommendation, budget: float, prices: Prices) -> tuple[int, int]:
    training = recommendation.budget - recommendation.eval_set.cost
    if abs(training - budget) > 1e-6:
        raise RuntimeError(f"the engine's training budget is {training}, not the bench's {budget}")
    n_h, n_s = int(recommendation.n_human), int(recommendation.n_synthetic)
    if not _affordable(budget, prices, n_h, n_s):
        raise RuntimeError(f"the engine's plan ({n_h}, {n_s}) overspends {budget}")
    return n_h, n_s


class DirectEngine:
    """Today's engine in process: ``fit_task`` then ``plan``, as ``recommend_task`` does, without a catalog.

    The engine buys its human evaluation set out of the budget first (for the neutral profile: the collapse
    guard's 200 crowd labels at the default crowd price, $16); the adapter adds that cost to the budget it
    passes, so the training budget is the bench's. The fit depends only on the pilot, so it is kept per pilot
    and re-planned for each budget and price.
    """

    def __init__(self):
        self._fits: dict[str, tuple] = {}

    def __call__(self, pilot: pd.DataFrame, budget: float, prices: Prices) -> tuple[int, int]:
        from strategy.budget import Costs
        from strategy.recommend import TIER_DEFAULTS, Scenario, TaskEvidence, fit_task, plan

        rows = _ordered(pilot)
        task = _task(rows)
        if task.id not in self._fits:
            evidence = TaskEvidence(task=task, n_human=rows["n_human"].to_numpy(float),
                                    n_synthetic=rows["n_synthetic"].to_numpy(float),
                                    values=rows["value"].to_numpy(float), tier_costs=dict(TIER_DEFAULTS))
            self._fits = {task.id: (evidence, fit_task(evidence))}  # one pilot at a time: keep the last
        evidence, fit = self._fits[task.id]
        scenario = Scenario(budget=budget + eval_set_cost(task, evidence.tier_costs),
                            costs=Costs(human=prices.human, synthetic=prices.synthetic))
        return _check(plan(evidence, fit, scenario), budget, prices)


class CatalogEngine:
    """Today's engine through the researcher's path: a temporary embedded catalog, the task saved, the pilot
    logged from a CSV in the outcome template's columns with ``strategy.outcomes.log_file``, then
    ``recommend_task`` with the budget and prices as a scenario. One catalog per pilot (reused while the
    same pilot is asked about other budgets and prices); call :meth:`close` at the end."""

    def __init__(self, folder: str | Path | None = None):
        self._own = tempfile.TemporaryDirectory() if folder is None else None
        self._folder = Path(folder or self._own.name)
        self._key = None
        self._catalog = None
        self._count = 0

    def _open(self, rows: pd.DataFrame, task):
        from strategy.catalog import Catalog
        from strategy.outcomes import COLUMNS, log_file

        if self._catalog is not None:
            self._catalog.close()
        self._count += 1
        folder = self._folder / f"pilot-{self._count}"
        folder.mkdir(parents=True, exist_ok=True)
        catalog = Catalog.open(folder / "catalog.duckdb")
        catalog.save_tasks([task])
        regime = np.where(rows["n_synthetic"] == 0, "human_only",
                          np.where(rows["n_human"] == 0, "synthetic_only", "mixed"))
        runs = pd.DataFrame({"task": task.name, "n_human": rows["n_human"], "n_synthetic": rows["n_synthetic"],
                             "metric": METRIC, "value": rows["value"], "higher_is_better": "true",
                             "regime": regime, "human_eval": "true", "cost": 0.0,
                             "run_id": [f"pilot-{i + 1}" for i in range(len(rows))], "notes": "", "dataset_ids": ""},
                            columns=COLUMNS)
        path = folder / "pilot.csv"
        runs.to_csv(path, index=False)
        log_file(catalog, path)
        self._catalog = catalog

    def __call__(self, pilot: pd.DataFrame, budget: float, prices: Prices) -> tuple[int, int]:
        from strategy.budget import Costs
        from strategy.recommend import Scenario, recommend_task, tier_prices

        rows = _ordered(pilot)
        task = _task(rows)
        if self._key != task.id:
            self._open(rows, task)
            self._key = task.id
        scenario = Scenario(budget=budget + eval_set_cost(task, tier_prices(self._catalog)),
                            costs=Costs(human=prices.human, synthetic=prices.synthetic))
        return _check(recommend_task(self._catalog, BENCH_TASK, scenario), budget, prices)

    def close(self):
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
        if self._own is not None:
            self._own.cleanup()


# ------------------------------------------------------------------------------------- calibration
def coverage(all_cases: Iterable[Case], *, pilot_sizes=(6, 10, 14), pilot_repeats: int = 2) -> pd.DataFrame:
    """How often the engine's 80% interval, fitted on a pilot, covers a held-out measured run: every other
    repeat at every grid cell with human data that no pilot run used (one row per case × pilot × draw).

    Each row also keeps what calibration needs (strategy.calibration): ``misses``, every held-out run's
    distance from the prediction in half-widths of its interval (covered when ≤ 1), and ``pilot_misses``,
    the same for each pilot run predicted from the pilot's other runs (what a catalog's backtest sees).
    """
    from strategy.calibration import miss_ratio
    from strategy.recommend import TIER_DEFAULTS, TaskEvidence, fit_task

    def evidence_of(frame: pd.DataFrame, task) -> TaskEvidence:
        return TaskEvidence(task=task, n_human=frame["n_human"].to_numpy(float),
                            n_synthetic=frame["n_synthetic"].to_numpy(float), values=frame["value"].to_numpy(float),
                            tier_costs=dict(TIER_DEFAULTS))

    rows = []
    for case in all_cases:
        h_grid, s_grid = np.meshgrid(case.human_levels, case.synthetic_levels, indexing="ij")
        for size in pilot_sizes:
            used = set(PILOTS[size])
            keep = np.array([(h, s) not in used and h > 0 for h, s in zip(h_grid.ravel(), s_grid.ravel(),
                                                                          strict=True)])
            at_h, at_s = h_grid.ravel()[keep].astype(float), s_grid.ravel()[keep].astype(float)
            for repeat in range(min(pilot_repeats, case.repeats)):
                pilot = _ordered(pilot_rows(case, size, repeat))
                task = _task(pilot)
                fit = fit_task(evidence_of(pilot, task))
                low, high = fit.band(at_h, at_s)
                centre, half = (low + high) / 2, (high - low) / 2
                held = np.delete(case.runs, repeat, axis=0).reshape(case.repeats - 1, -1)[:, keep]
                inside = (held >= low) & (held <= high)
                pilot_misses = []
                for index in range(len(pilot)):
                    rest = pilot.drop(index=pilot.index[index])
                    one = pilot.iloc[index]
                    refit = fit_task(evidence_of(rest, task))
                    if refit is None:
                        continue
                    at = (np.array([one["n_human"]], float), np.array([one["n_synthetic"]], float))
                    one_low, one_high = refit.band(*at)
                    pilot_misses.append(miss_ratio(float(one["value"]), float(refit.predict(*at)[0]),
                                                   float(one_low[0]), float(one_high[0])))
                rows.append({"table": case.table, "generator": case.generator, "learner": case.learner,
                             "pilot": size, "repeat": repeat, "held_out": int(inside.size),
                             "covered": float(inside.mean()), "misses": (np.abs(held - centre) / half).ravel(),
                             "pilot_misses": np.array(pilot_misses)})
    return pd.DataFrame(rows)


def calibrated_coverage(table: pd.DataFrame) -> dict:
    """Coverage of held-out runs once intervals are calibrated as a catalog would calibrate them: per table,
    the width scale comes from the leave-one-out misses of every pilot of the *other* tables with the same
    pilot size (a catalog of those tasks), so no table is scored with its own calibration."""
    from strategy.calibration import IntervalCalibration

    inside = held = 0
    scales, per_pilot = {}, {}
    for (table_name, size), part in table.groupby(["table", "pilot"]):
        others = table[(table["table"] != table_name) & (table["pilot"] == size)]
        ratios = np.concatenate(others["pilot_misses"].to_list())
        names = np.concatenate([[f"{r.table}/{r.generator}/{r.learner}/{r.repeat}"] * len(r.pilot_misses)
                                for r in others.itertuples()])
        scale = IntervalCalibration().fit(ratios, names).scale_
        scales[(table_name, size)] = scale
        misses = np.concatenate(part["misses"].to_list())
        covered = int((misses <= scale).sum())
        inside, held = inside + covered, held + len(misses)
        got = per_pilot.setdefault(size, [0, 0])
        got[0], got[1] = got[0] + covered, got[1] + len(misses)
    values = np.array(list(scales.values()))
    return {"overall": inside / held, **{f"pilot {p}": c / n for p, (c, n) in sorted(per_pilot.items())},
            "scale_min": float(values.min()), "scale_max": float(values.max())}
