"""Reading records from files people keep: CSV and JSON (an array, an object, or JSON lines), and Parquet.

Everything is checked before anything is written, and every problem names the
file, the row (counted from 1, header excluded) and the field. Files are
bounded before they are materialised: in bytes as read (the upload limit), in
rows (counted from Parquet metadata, or from the lines of a text file) and in
bytes once decoded (Parquet, which compresses), so no file can exhaust memory.

The readers live one module per job: ``limits`` (how much a file may hold), ``reading`` (bytes within a
limit, and the refusals), ``task_files`` (records as dicts, validated), ``data_files`` (outcome and sample
files as Arrow tables) with one reader per format (``csv_file``, ``json_file``, ``parquet_file``). The names
below are what the rest of the package uses.
"""

from strategy.ingest.data_files import read_data_file
from strategy.ingest.display import inert, shown
from strategy.ingest.limits import (
    DECODED_LIMIT_ENV,
    DEFAULT_DECODED_LIMIT_MB,
    DEFAULT_ROW_LIMIT,
    DEFAULT_SAMPLE_DECODED_LIMIT_MB,
    DEFAULT_SAMPLE_ROW_LIMIT,
    DEFAULT_UPLOAD_LIMIT_MB,
    MAX_ROW_BYTES,
    ROW_LIMIT_ENV,
    SAMPLE_DECODED_LIMIT_ENV,
    SAMPLE_ROW_LIMIT_ENV,
    UPLOAD_LIMIT_ENV,
    BadSetting,
    Bounds,
    decoded_limit_bytes,
    file_bounds,
    row_limit,
    sample_bounds,
    sample_decoded_limit_bytes,
    sample_row_limit,
    upload_limit_bytes,
)
from strategy.ingest.reading import UPLOAD_LIMIT_WORDS, decode_utf8, read_bytes, read_text
from strategy.ingest.task_files import (
    TASK_FILE_FIELDS,
    TASK_NAMESPACE,
    Model,
    guess_format,
    read_rows,
    read_tasks,
    task_id_for,
    validate_rows,
)

__all__ = ["BadSetting", "Bounds", "DECODED_LIMIT_ENV", "DEFAULT_DECODED_LIMIT_MB", "DEFAULT_ROW_LIMIT", "DEFAULT_SAMPLE_DECODED_LIMIT_MB", "DEFAULT_SAMPLE_ROW_LIMIT", "DEFAULT_UPLOAD_LIMIT_MB", "MAX_ROW_BYTES", "Model", "ROW_LIMIT_ENV", "SAMPLE_DECODED_LIMIT_ENV", "SAMPLE_ROW_LIMIT_ENV", "TASK_FILE_FIELDS", "TASK_NAMESPACE", "UPLOAD_LIMIT_ENV", "UPLOAD_LIMIT_WORDS", "decode_utf8", "decoded_limit_bytes", "file_bounds", "guess_format", "inert", "read_bytes", "read_data_file", "read_rows", "read_tasks", "read_text", "row_limit", "sample_bounds", "sample_decoded_limit_bytes", "sample_row_limit", "shown", "task_id_for", "upload_limit_bytes", "validate_rows"]
