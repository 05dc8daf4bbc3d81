"""JSON: catalog tables as arrays of records, and the summary as its record (schema ``strategy.summary/1``)."""

from __future__ import annotations

import json

import pandas as pd

from strategy.export.blocks import json_inert
from strategy.export.registry import Renderer, register
from strategy.summary import StrategySummary


def to_json(frame: pd.DataFrame) -> bytes:
    """JSON array of records; timestamps in ISO 8601."""
    records = json.loads(frame.to_json(orient="records", date_format="iso"))
    return json_inert(json.dumps(records, indent=2, ensure_ascii=False)).encode("utf-8")


def summary_json(summary: StrategySummary) -> bytes:
    return json_inert(summary.model_dump_json(by_alias=True, indent=2)).encode("utf-8")


register(Renderer("json", "JSON", "application/json", "json", lambda bundle: summary_json(bundle.summary),
                  position=50))
