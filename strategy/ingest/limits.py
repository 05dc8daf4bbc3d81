"""How much a file may hold: the upload limit in bytes, rows and decoded bytes, each a setting an admin
changes with an environment variable, read when asked for so a change applies without a restart.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from strategy.errors import StrategyError
from strategy.ingest.display import inert

# Streamlit's maxUploadSize counts megabytes of 1,024 × 1,024 bytes; the CLI and the messages count alike.
MB = 1024 * 1024
# The longest row (CSV record or JSON line) read: Arrow's block size. A row of notes at their 20,000-character
# limit takes at most 80 KB, so only a broken or hostile file comes near it.
MAX_ROW_BYTES = MB


# ----------------------------------------------------------------------------- settings
UPLOAD_LIMIT_ENV = "STRATEGY_MAX_UPLOAD_MB"
DEFAULT_UPLOAD_LIMIT_MB = 50
ROW_LIMIT_ENV = "STRATEGY_MAX_ROWS"
DEFAULT_ROW_LIMIT = 2_000_000
SAMPLE_ROW_LIMIT_ENV = "STRATEGY_MAX_SAMPLE_ROWS"
DEFAULT_SAMPLE_ROW_LIMIT = 10_000_000
DECODED_LIMIT_ENV = "STRATEGY_MAX_DECODED_MB"
DEFAULT_DECODED_LIMIT_MB = 1024
SAMPLE_DECODED_LIMIT_ENV = "STRATEGY_MAX_SAMPLE_DECODED_MB"
DEFAULT_SAMPLE_DECODED_LIMIT_MB = 4096


class BadSetting(StrategyError):
    """An environment variable holding no usable value; the message names the variable and the value."""


def _setting(name: str, default: float, *, whole: bool) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    value: float | None = None
    if whole:
        value = int(text) if re.fullmatch(r"[0-9]+", text) else None
    elif re.fullmatch(r"[0-9]*\.?[0-9]+|[0-9]+\.", text):
        value = float(text)
    if value is None or not math.isfinite(value) or value <= 0:
        what = "a whole number of rows above 0" if whole else "a number of megabytes above 0"
        raise BadSetting(f"{name} must be {what} (got {inert(repr(raw))}); unset it to use the default of "
                         f"{default:,}")
    return value


def upload_limit_bytes() -> int:
    """The same limit as the app's upload widget (.streamlit/config.toml), overridable for the CLI."""
    return int(_setting(UPLOAD_LIMIT_ENV, DEFAULT_UPLOAD_LIMIT_MB, whole=False) * MB)


def row_limit() -> int:
    """The most rows an outcome or task file may hold."""
    return int(_setting(ROW_LIMIT_ENV, DEFAULT_ROW_LIMIT, whole=True))


def sample_row_limit() -> int:
    """The most rows a sample read for a humanness assessment may hold."""
    return int(_setting(SAMPLE_ROW_LIMIT_ENV, DEFAULT_SAMPLE_ROW_LIMIT, whole=True))


def decoded_limit_bytes() -> int:
    """The most bytes an outcome or task file may take once decoded (Parquet decompressed, text as read)."""
    return int(_setting(DECODED_LIMIT_ENV, DEFAULT_DECODED_LIMIT_MB, whole=False) * MB)


def sample_decoded_limit_bytes() -> int:
    """The most bytes a sample may take once decoded."""
    return int(_setting(SAMPLE_DECODED_LIMIT_ENV, DEFAULT_SAMPLE_DECODED_LIMIT_MB, whole=False) * MB)


@dataclass(frozen=True)
class Bounds:
    """How many rows a file may hold and how many bytes it may decode to, and the settings that say so."""

    rows: int | None = None
    rows_setting: str = ROW_LIMIT_ENV
    decoded: int | None = None
    decoded_setting: str = DECODED_LIMIT_ENV


def file_bounds() -> Bounds:
    """Bounds of outcome and task files."""
    return Bounds(row_limit(), ROW_LIMIT_ENV, decoded_limit_bytes(), DECODED_LIMIT_ENV)


def sample_bounds() -> Bounds:
    """Bounds of the samples a humanness assessment reads (larger: assessments read big samples)."""
    return Bounds(sample_row_limit(), SAMPLE_ROW_LIMIT_ENV, sample_decoded_limit_bytes(), SAMPLE_DECODED_LIMIT_ENV)
