"""Typed records shared by the pages, the CLI and the catalog.

Every record that enters the catalog passes through one of these models, so a
value out of range is refused with the same message wherever it was typed.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal, NamedTuple

import pandas as pd
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)


def new_id() -> str:
    """App-made identifiers: the portable schema has no sequences."""
    return str(uuid.uuid4())


def utc_now() -> datetime:
    """Timestamps are stored as naive UTC so both backends read them alike; microseconds are kept so the
    latest of two quick writes is well defined."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Factor:
    """One profile factor of a task, scored 0–4, with what the ends of the scale mean."""

    name: str
    label: str
    leans: Literal["human", "synthetic"]
    at_zero: str
    at_four: str

    @property
    def help(self) -> str:
        return f"0 = {self.at_zero}; 4 = {self.at_four}."


# The factors the design names. Order matters: it is the column order in the
# catalog, the seed files and the task template.
FACTORS: tuple[Factor, ...] = (
    Factor("interaction", "Interaction with people", "human",
           "the model never faces a person", "the model converses with people and must feel natural to them"),
    Factor("context_dependence", "Context-dependent decisions", "human",
           "the right answer is the same in every situation",
           "the right answer turns on circumstances that are rarely written down"),
    Factor("evolving_language", "Fast-evolving language", "human",
           "the vocabulary is stable for years", "new words and meanings appear every few weeks"),
    Factor("cultural_knowledge", "Cultural and unwritten social knowledge", "human",
           "no cultural or social convention is involved",
           "success depends on norms, references or taboos that differ between communities"),
    Factor("domain_expertise", "Domain expertise", "human",
           "anyone can produce or judge the data", "only trained specialists (clinicians, lawyers) can"),
    Factor("subjectivity", "Subjectivity", "human",
           "annotators always agree on the label", "reasonable annotators often disagree"),
    Factor("safety_risk", "Safety risk", "human",
           "a wrong output costs nothing", "a wrong output can harm a person or break the law"),
    Factor("volume_needed", "Volume needed", "synthetic",
           "a few hundred examples suffice", "millions of examples are needed"),
    Factor("rare_events", "Rare events and edge cases", "synthetic",
           "the cases that matter are common in real data",
           "the cases that matter are so rare that real data barely contains them"),
    Factor("balance_needed", "Need for a balanced distribution", "synthetic",
           "real data is already balanced enough", "real data is heavily skewed and must be rebalanced"),
    Factor("robustness_variations", "Robustness to input variations", "synthetic",
           "inputs always look the same", "the model must withstand many systematic variations of its input"),
    Factor("privacy_limits", "Privacy limits on real records", "synthetic",
           "real records can be used freely", "real records are personal or regulated and hard to use"),
    Factor("human_data_scarcity", "Scarcity of human data", "synthetic",
           "human data is plentiful and easy to get", "human data hardly exists or cannot be collected"),
)
FACTOR_NAMES: tuple[str, ...] = tuple(f.name for f in FACTORS)

SourceKind = Literal["human", "synthetic", "mixed"]
Modality = Literal["text", "tabular", "image", "audio", "video", "time-series", "multimodal", "code"]
Regime = Literal["human_only", "synthetic_only", "mixed", "synthetic_pretrain_human_finetune"]
RecommendedClass = Literal["human", "synthetic", "mixed"]
RecordSource = Literal["user", "demo", "illustrative", "measured"]

MODALITIES: tuple[str, ...] = Modality.__args__  # type: ignore[attr-defined]
REGIMES: tuple[str, ...] = Regime.__args__  # type: ignore[attr-defined]
SOURCE_KINDS: tuple[str, ...] = SourceKind.__args__  # type: ignore[attr-defined]

# Control characters have no business in names (a tab or newline breaks tables and charts; some crash the SVG
# renderer of exports); long text keeps tabs and line breaks. The outcome checks in SQL use the same patterns.
LINE_CONTROL = r"[\x00-\x1f\x7f]"
TEXT_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
CONTROL_REASON = "must not contain control characters (such as NUL, escape or bell{})"


def _refuse(pattern: str, allowed: str):
    compiled = re.compile(pattern)

    def check(text: str) -> str:
        if compiled.search(text):
            raise ValueError(CONTROL_REASON.format(allowed))
        return text
    return AfterValidator(check)


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                 _refuse(LINE_CONTROL, ", tab or line break")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200),
                      _refuse(LINE_CONTROL, ", tab or line break")]
LongText = Annotated[str, StringConstraints(max_length=20_000), _refuse(TEXT_CONTROL, "")]
# Whole numbers typed as text are plain decimal digits ("12", "12.0"): what Python or pydantic would also read
# ("+3", "1_0") is refused rather than guessed, and true/false is not a number.
_PLAIN_WHOLE = re.compile(r"\s*-?[0-9]+(\.[0-9]*)?\s*")


def _plain_whole(value):
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    if isinstance(value, str) and not _PLAIN_WHOLE.fullmatch(value) and re.search(r"[0-9]", value):
        raise ValueError("must be written in plain decimal digits: hex, octal, exponents, digit separators and "
                         "a leading + are refused")
    return value


Score = Annotated[int, BeforeValidator(_plain_whole), Field(ge=0, le=4, description="0–4")]
# A quadrillion samples is beyond any real dataset and well inside a BIGINT.
MAX_SAMPLES = 10**15
Count = Annotated[int, BeforeValidator(_plain_whole), Field(ge=0, le=MAX_SAMPLES)]
Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class Record(BaseModel):
    """Common behaviour: unknown fields are refused (a typo in a column name is reported) and records are
    immutable, so a validated record cannot be edited into an invalid one; use model_copy to derive."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Stamped(Record):
    """Who wrote a record and when: every write records both."""

    created_by: Name = "unknown"
    created_at: datetime = Field(default_factory=utc_now)


class Task(Stamped):
    """An AI task the team wants data for, with its 0–4 profile."""

    id: str = Field(default_factory=new_id)
    name: Name
    domain: Name
    modality: Modality
    description: LongText = ""
    metric: Name
    higher_is_better: bool = True
    status: Literal["active", "archived"] = "active"
    source: RecordSource = "user"
    updated_by: Name = "unknown"
    updated_at: datetime = Field(default_factory=utc_now)
    interaction: Score = 0
    context_dependence: Score = 0
    evolving_language: Score = 0
    cultural_knowledge: Score = 0
    domain_expertise: Score = 0
    subjectivity: Score = 0
    safety_risk: Score = 0
    volume_needed: Score = 0
    rare_events: Score = 0
    balance_needed: Score = 0
    robustness_variations: Score = 0
    privacy_limits: Score = 0
    human_data_scarcity: Score = 0
    budget: Money | None = None
    collapse_guard_opt_out: LongText = ""

    def profile(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in FACTOR_NAMES}


class Dataset(Stamped):
    """A body of training or evaluation data, bought, owned or generated."""

    id: str = Field(default_factory=new_id)
    name: Name
    task_id: str | None = None
    source_kind: SourceKind
    modality: Modality
    samples: Count
    cost_per_sample: Money = 0.0
    provenance: LongText = ""
    licence: ShortText = ""
    cost_source: LongText = ""
    source: RecordSource = "user"
    location: LongText = ""


class Outcome(Stamped):
    """One experiment: a metric measured after training on a given human/synthetic mix."""

    id: str = Field(default_factory=new_id)
    task_id: str
    run_id: ShortText = ""
    n_human: Count
    n_synthetic: Count
    regime: Regime = "mixed"
    metric: Name
    value: Annotated[float, Field(allow_inf_nan=False)]
    higher_is_better: bool = True
    human_eval: bool = True
    cost: Money = 0.0
    dataset_ids: list[str] = Field(default_factory=list)
    notes: LongText = ""
    # "run:<task id>:<run id>" (a 36-character id and a run id of up to 200) or a content digest.
    fingerprint: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300),
                           _refuse(LINE_CONTROL, ", tab or line break")] = ""
    source: RecordSource = "measured"
    deleted: bool = False

    @model_validator(mode="after")
    def _some_data(self) -> Outcome:
        # An after-validator also runs on assignment, so no edit can empty an outcome.
        if self.n_human + self.n_synthetic == 0:
            raise ValueError("n_human + n_synthetic must be above 0: a model trained on no data is not an outcome")
        return self

    @property
    def human_share(self) -> float:
        return self.n_human / (self.n_human + self.n_synthetic)


class QualityReport(Stamped):
    """How human-like a synthetic dataset is, measured against a human reference."""

    id: str = Field(default_factory=new_id)
    dataset_id: str
    reference_dataset_id: str | None = None
    task_id: str | None = None
    modality: Modality
    humanness: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
    grade: ShortText = ""
    # The whole report as JSON, written by the app (every pair of columns, the noise floor...), so it may be long.
    metrics_json: Annotated[str, StringConstraints(max_length=20_000_000)] = "{}"


class ExpectedMetric(Record):
    """The metric expected from a plan, with an 80% prediction interval (None while there is no evidence)."""

    name: str
    higher_is_better: bool
    value: float | None = None
    low: float | None = None
    high: float | None = None
    level: float = 0.8


class EvalSet(Record):
    """The human-labelled evaluation set the rules require, bought apart from the training data."""

    size: Count
    tier: str
    cost: Money


class RuleEffect(Record):
    """One fired rule as the recommendation explains it."""

    id: str
    effect: str
    rationale: str
    principle: str = ""


class NextExperiment(Record):
    """The run worth most to the decision (value of information), within a stated share of the budget."""

    n_human: Count
    n_synthetic: Count
    cost: Money
    reason: str
    # Added in contract /2: the expected improvement of the chosen plan's metric from this run (higher is
    # better, in the metric's units) and the most a next experiment may cost.
    expected_gain: Annotated[float, Field(allow_inf_nan=False)] | None = None
    cost_cap: Money | None = None


class PlanValue(Record):
    """One of the three plans the class compares, with its expected metric (None without a model)."""

    n_human: Count
    n_synthetic: Count
    spend_human: Money
    spend_synthetic: Money
    expected: Annotated[float, Field(allow_inf_nan=False)] | None = None
    # The metric the decision counts: expected less one posterior standard deviation (the class compares
    # these, so a plan the evidence cannot vouch for has to promise more).
    assured: Annotated[float, Field(allow_inf_nan=False)] | None = None


class SourceGains(Record):
    """What each source adds at this budget, as an improvement of the metric (positive is better):
    synthetic data over the best human-only plan, human data over the synthetic-led plan. Counted as the
    decision counts plans: expected metric less one posterior standard deviation."""

    synthetic_over_human_only: Annotated[float, Field(allow_inf_nan=False)] | None = None
    human_over_synthetic_led: Annotated[float, Field(allow_inf_nan=False)] | None = None


class Recommendation(Record):
    """The answer for one task: a stable JSON contract (see README, "Recommendation JSON").

    Fields are only ever added; none is renamed or removed without a new ``contract``.
    """

    # /2 classes by what each source adds (not by spend) and adds the fields marked below; a stored /1
    # recommendation still reads, with those fields empty.
    contract: Literal["strategy.recommendation/1", "strategy.recommendation/2"] = "strategy.recommendation/2"
    id: str = Field(default_factory=new_id)
    task_id: str
    task_name: str
    sourcing: RecommendedClass
    human_share_spend: Share
    human_share_samples: Share
    n_human: Count
    n_synthetic: Count
    spend_human: Money
    spend_synthetic: Money
    budget: Money
    cost_per_sample: dict[str, Money]
    owned: dict[str, Count] = Field(default_factory=lambda: {"human": 0, "synthetic": 0})
    expected_metric: ExpectedMetric
    confidence: Share
    low_confidence: bool
    basis: Literal["rules", "rules+model"]
    regime: Regime
    eval_set: EvalSet
    rules: list[RuleEffect]
    uses: list[str] = Field(default_factory=list)
    prior_human_share: Share
    human_floor: Share
    collapse_guard: str
    next_experiment: NextExperiment | None = None
    target: float | None = None
    budget_for_target: float | None = None
    target_reachable: bool | None = None
    # Added in /2.
    target_probability: Share | None = None
    adds: SourceGains = Field(default_factory=SourceGains)
    corners: dict[str, PlanValue] = Field(default_factory=dict)
    class_margin: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    extrapolation: str = ""
    evidence_count: Count
    rulebook_version: str
    model_version: str
    scenario: str = ""
    # The DuckLake snapshot the inputs were read at (`strategy recommend TASK --as-of` it); None when embedded.
    snapshot: int | None = None
    created_by: str = "unknown"
    created_at: datetime = Field(default_factory=utc_now)


class CostTier(Record):
    """Price of one sample from one source, with where the figure comes from."""

    id: str = Field(default_factory=new_id)
    name: Name
    kind: Literal["human", "synthetic"]
    cost_per_sample: Money
    description: LongText = ""
    cost_source: LongText = ""
    updated_by: Name = "unknown"
    updated_at: datetime = Field(default_factory=utc_now)


class AuditEntry(Record):
    """One write to the catalog: who, when, what."""

    id: str = Field(default_factory=new_id)
    at: datetime = Field(default_factory=utc_now)
    actor: Name
    action: Name
    entity: Name
    entity_id: ShortText = ""
    details: LongText = ""


def describe_errors(error: ValidationError) -> list[tuple[str, str]]:
    """Turn pydantic's errors into (field, reason) pairs a person can act on."""
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "record"
        reason = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            reason = "is not a known field"
        elif item["type"] == "missing":
            reason = "is required"
        elif "input" in item and item["type"] not in {"missing"}:
            shown = item["input"]
            if isinstance(shown, float) and not math.isfinite(shown):
                reason = f"{reason} (got {shown})"
            elif isinstance(shown, (str, int, float)) and len(str(shown)) <= 60:
                reason = f"{reason} (got {shown!r})"
        problems.append((field, reason))
    return problems


def profile_pulls(tasks: pd.DataFrame) -> pd.DataFrame:
    """Mean 0–4 score of the factors that pull toward human data and toward synthetic data.

    A quick, rule-free reading of a profile; the rulebook gives the real answer.
    """
    human = [f.name for f in FACTORS if f.leans == "human"]
    synthetic = [f.name for f in FACTORS if f.leans == "synthetic"]
    return pd.DataFrame({
        "human_pull": tasks[human].astype(float).mean(axis=1),
        "synthetic_pull": tasks[synthetic].astype(float).mean(axis=1),
    }, index=tasks.index)


def profile_long(tasks: pd.DataFrame) -> pd.DataFrame:
    """One row per task and factor, with the factor's label, direction and help text (for charts)."""
    described = pd.DataFrame([
        {"factor": f.name, "label": f.label, "leans": f.leans, "help": f.help, "order": i}
        for i, f in enumerate(FACTORS)
    ])
    long = tasks.melt(id_vars=["id", "name"], value_vars=list(FACTOR_NAMES), var_name="factor", value_name="score")
    return long.merge(described, on="factor").sort_values(["name", "order"], ignore_index=True)


class StoredRecommendation(NamedTuple):
    """A stored recommendation and the fit it was computed from (None for a rules-only answer)."""

    recommendation: Recommendation
    fit: dict | None


class StoredModelState(NamedTuple):
    """The newest stored shared model of a kind (pooled prior, backtest, rule weights): its version and payload."""

    version: str
    payload: dict
