"""Turning catalog content into files people share.

CSV cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import json

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Prefix a text cell that begins like a formula with an apostrophe, so a spreadsheet shows it as text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8) with formula-like text cells neutralised; numbers are left as they are."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise)
    return safe.to_csv(index=False).encode("utf-8")


def to_json(frame: pd.DataFrame) -> bytes:
    """JSON array of records; timestamps in ISO 8601."""
    records = json.loads(frame.to_json(orient="records", date_format="iso"))
    return json.dumps(records, indent=2, ensure_ascii=False).encode("utf-8")
