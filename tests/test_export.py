"""Exports: CSV cells that a spreadsheet would execute are neutralised; JSON round-trips."""

from __future__ import annotations

import io
import json

import pandas as pd

from strategy.export import neutralise, to_csv, to_json


def test_formula_like_text_is_neutralised():
    for hostile in ['=HYPERLINK("x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB"]:
        assert neutralise(hostile) == "'" + hostile
    assert neutralise("Chest X-ray triage") == "Chest X-ray triage"
    assert neutralise(-3) == -3


def test_csv_round_trip_keeps_numbers_and_neutralises_text():
    frame = pd.DataFrame({"name": ['=HYPERLINK("x")', "plain"], "value": [-0.5, 0.25], "n": [3, 4]})
    back = pd.read_csv(io.BytesIO(to_csv(frame)))
    assert back["name"].tolist() == ['\'=HYPERLINK("x")', "plain"]
    assert back["value"].tolist() == [-0.5, 0.25]
    assert back["n"].tolist() == [3, 4]


def test_json_round_trip(demo_catalog):
    tasks = demo_catalog.tasks()
    records = json.loads(to_json(tasks))
    assert len(records) == len(tasks)
    assert {r["name"] for r in records} == set(tasks["name"])
