"""The humanness-metric registry (strategy/quality/metrics): a metric registered by one module is computed,
scored, weighted, floored, stored with its weight and shown, with nothing else edited; the README's worked
example runs as it is written there."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

import strategy.quality.metrics as registry
from strategy.quality import assess, frame_sample, present
from strategy.quality.metrics import ComparedSamples, HumannessMetric, mean_row_score
from strategy.quality.report import Assessment, weighted_score

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("**Adding a humanness metric.**"):text.index("**Where samples may live.**")]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.fixture
def readme_metric():
    """The README's missing-values module, imported as the package would import it, then unregistered."""
    module_code = _readme_blocks()[0]
    name = "strategy.quality.metrics.missing_values"
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(module_code, "README.md (missing_values.py)", "exec"), module.__dict__)
    sys.modules[name] = module
    try:
        yield registry.metric("tabular", "missing_values")
    finally:
        registry.unregister("tabular", "missing_values")
        sys.modules.pop(name, None)


def _samples(rows: int = 200):
    base = pd.DataFrame({"x": [1.0, None, 3.0, 4.0] * (rows // 4), "kind": ["a", "b"] * (rows // 2),
                         "y": [float(i % 17) for i in range(rows)]})
    filled = base.assign(x=base["x"].fillna(2.0))
    return frame_sample(base, "human"), frame_sample(filled, "synthetic")


def test_the_readme_metric_and_its_test_run_as_written(readme_metric):
    assert readme_metric is not None and readme_metric.label == "Missing values"
    namespace: dict = {}
    exec(compile(_readme_blocks()[1], "README.md (test_quality_missing_values.py)", "exec"), namespace)
    tests = [value for key, value in namespace.items() if key.startswith("test_")]
    assert len(tests) == 1
    tests[0]()  # its own assertions: per-column scores 0.5 and 1.0, the metric's score 0.75


def test_a_registered_metric_is_scored_weighted_floored_stored_and_shown(readme_metric):
    human, synthetic = _samples()
    report = assess(human, synthetic)
    section = report.data["modalities"]["tabular"]
    by_column = {row["column"]: row["score"] for row in section["metrics"]["missing_values"]}
    assert by_column == {"x": 0.75, "kind": 1.0, "y": 1.0}  # x: 25% missing against none
    assert section["scores"]["missing_values"] == pytest.approx(2.75 / 3)
    assert "missing_values" in section["floor_scores"]  # the noise floor computes it too
    assert report.data["weights"]["tabular"]["missing_values"] == 0.10
    assert section["humanness"] == pytest.approx(weighted_score(section["scores"], registry.weights("tabular")))
    table = report.metrics_table()
    row = table[table["key"] == "missing_values"].iloc[0]
    assert (row["metric"], row["weight"], row["score"]) == ("Missing values", 0.10, pytest.approx(100 * 2.75 / 3))
    assert "Missing values" in report.summary()
    assert "Missing values" in present.metrics_frame(report).to_string()
    # Without the metric the score is the built-ins' alone; with it, that score and the metric's weigh in as
    # 1.0 to 0.1 (every built-in could be computed here, so theirs add up to 1.0).
    registry.unregister("tabular", "missing_values")
    without = assess(human, synthetic).data["modalities"]["tabular"]
    assert "missing_values" not in without["scores"] and None not in without["scores"].values()
    expected = (1.0 * without["humanness"] + 0.1 * 100 * 2.75 / 3) / 1.1
    assert section["humanness"] == pytest.approx(expected) and section["humanness"] != without["humanness"]


def test_a_stored_report_reads_with_the_weights_it_was_scored_with(readme_metric):
    human, synthetic = _samples()
    stored = assess(human, synthetic).to_json()
    registry.unregister("tabular", "missing_values")
    table = Assessment.from_json(stored).metrics_table()
    assert "missing_values" in set(table["key"])  # its own weights, though the metric is no longer registered
    assert table.loc[table["key"] == "missing_values", "metric"].iloc[0] == "Missing values"


def test_a_text_metric_with_a_description_shows_it_on_the_text_tab():
    def length_ratio(samples: ComparedSamples) -> dict:
        ratio = samples.synthetic.str.len().mean() / samples.human.str.len().mean()
        return {"ratio": float(ratio), "score": float(min(ratio, 1 / ratio))}

    metric = HumannessMetric("length_ratio", "Mean length", "text", 0.5, length_ratio,
                             describe=lambda found: f"synthetic texts are {found['ratio']:.1f}× as long")
    human = frame_sample(pd.DataFrame({"text": ["a short human note"] * 40}), "human")
    synthetic = frame_sample(pd.DataFrame({"text": ["a much longer synthetic note " * 2] * 40}), "synthetic")
    with registry.registered(metric):
        report = assess(human, synthetic, text_column="text")
        frame = present.text_frame(report)
    found = frame[frame["Metric"] == "Mean length"]
    assert len(found) == 1 and "3.2× as long" in found["What it found"].iloc[0]
    assert registry.metric("text", "length_ratio") is None  # gone after the block


def test_registering_a_name_again_replaces_it_where_it_stands_and_the_block_restores_it():
    before = registry.metric("tabular", "coverage")
    stand_in = HumannessMetric("coverage", "Coverage (stand-in)", "tabular", 0.10, lambda samples: {"score": 1.0},
                               position=before.position)
    with registry.registered(stand_in):
        assert [m.name for m in registry.metrics("tabular")] == ["shapes", "pairs", "detection", "coverage",
                                                                 "fidelity"]
        assert registry.label("tabular", "coverage") == "Coverage (stand-in)"
    assert registry.metric("tabular", "coverage") is before


@pytest.mark.parametrize(("settings", "message"), [
    (dict(name="Bad Name"), "lower-case letters"),
    (dict(modality="image"), "modality is one of tabular, text"),
    (dict(weight=-0.1), "weight is a number of 0 or more"),
    (dict(weight=float("nan")), "weight is a number of 0 or more"),
])
def test_a_metric_that_cannot_be_registered_says_why(settings, message):
    fields = dict(name="ok", label="OK", modality="tabular", weight=0.1, compute=lambda samples: [],
                  score=mean_row_score) | settings
    with pytest.raises(ValueError, match=message):
        HumannessMetric(**fields)


def test_the_built_in_weights_are_the_documented_ones():
    assert registry.weights("tabular") == {"shapes": 0.30, "pairs": 0.20, "detection": 0.20, "coverage": 0.10,
                                           "fidelity": 0.20}
    assert registry.weights("text") == {"structure": 0.20, "lexical": 0.20, "repetition": 0.10, "detection": 0.25,
                                        "fidelity": 0.25}
