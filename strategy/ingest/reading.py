"""Reading a file's bytes within a limit, and the messages every reader refuses a file with: each names the
file, the row (counted from 1, header excluded) and the field, and shows what the file holds inertly.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import IO

from strategy.errors import ImportRejected, Problem
from strategy.ingest.limits import MAX_ROW_BYTES, MB, UPLOAD_LIMIT_ENV, Bounds


# ----------------------------------------------------------------------------- refusals
def _size(n: int) -> str:
    if n >= MB:
        return f"{n / MB:,.1f}".removesuffix(".0") + " MB"
    return f"{n:,} bytes"


def refusal(label: str, reason: str, *, row: int | None = None, field: str = "file") -> ImportRejected:
    return ImportRejected([Problem(label, row, field, reason)])


def too_many_rows(label: str, found: int | None, bounds: Bounds) -> ImportRejected:
    count = f"{found:,} rows" if found is not None else f"more than {bounds.rows:,} rows"
    return refusal(label, f"has {count}, over the limit of {bounds.rows:,} rows; split it into smaller files, "
                          f"or raise {bounds.rows_setting}")


def too_large_decoded(label: str, found: int | None, bounds: Bounds) -> ImportRejected:
    size = _size(found) if found is not None else f"more than {_size(bounds.decoded)}"
    return refusal(label, f"decodes to {size}, over the limit of {_size(bounds.decoded)}; split it into smaller "
                          f"files, or raise {bounds.decoded_setting}")


def too_large(label: str, size: int | None, limit: int, what: str) -> ImportRejected:
    shown_size = _size(size) if size is not None else f"more than {_size(limit)}"
    return refusal(label, f"is {shown_size}, over the {what.format(limit=_size(limit))}; split it into smaller "
                          "files")


UPLOAD_LIMIT_WORDS = f"upload limit of {{limit}} ({UPLOAD_LIMIT_ENV} for the command line)"


# ----------------------------------------------------------------------------- bytes
def _kind_of(mode: int) -> str | None:
    """Why a file of this mode cannot be read as a file, or None when it can."""
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file; give the path of a CSV, JSON or Parquet file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    return None


def _read_bounded(handle, limit: int | None) -> bytes:
    """Read to the end, or at most ``limit`` + 1 bytes (enough to know a stream is over the limit)."""
    if limit is None:
        data = handle.read()
        return data.encode() if isinstance(data, str) else data
    chunks, total = [], 0
    while total <= limit:
        chunk = handle.read(limit + 1 - total)
        if not chunk:
            break
        if isinstance(chunk, str):
            chunk = chunk.encode()
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_bytes(source: str | Path | IO[bytes], label: str | None = None, *, limit: int | None = None,
               size: int | None = None, what: str = UPLOAD_LIMIT_WORDS) -> tuple[str, bytes]:
    """(label, bytes) of a file path or a byte stream, reading at most ``limit`` + 1 bytes.

    A path must be a regular file (not a directory, device or named pipe); a stream may be a pipe (standard
    input) but not a device or directory. Over the limit is refused, before reading when the size is known.
    """
    if isinstance(source, (str, Path)):
        label = label or str(source)
        try:
            info = os.stat(source)
        except OSError as error:
            raise refusal(label, f"cannot be read: {error.strerror}") from None
        reason = _kind_of(info.st_mode) or (None if stat.S_ISREG(info.st_mode)
                                            else "is not a regular file (a named pipe?); give the path of a file")
        if reason:
            raise refusal(label, reason)
        if limit is not None and info.st_size > limit:
            raise too_large(label, info.st_size, limit, what)
        try:
            with open(source, "rb") as handle:
                raw = _read_bounded(handle, limit)
        except OSError as error:
            raise refusal(label, f"cannot be read: {error.strerror}") from None
    else:
        name = getattr(source, "name", None)
        label = label or (name if isinstance(name, str) and name else "<stdin>")
        try:
            info = os.fstat(source.fileno())
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            info = None
        if info is not None:
            reason = _kind_of(info.st_mode)
            if reason and not (stat.S_ISCHR(info.st_mode) and os.isatty(source.fileno())):
                raise refusal(label, reason)
            if size is None and stat.S_ISREG(info.st_mode):
                size = info.st_size
        if limit is not None and size is not None and size > limit:
            raise too_large(label, size, limit, what)
        try:
            raw = _read_bounded(source, limit)
        except OSError as error:
            raise refusal(label, f"cannot be read: {error.strerror}") from None
    if limit is not None and len(raw) > limit:
        raise too_large(label, None, limit, what)
    return label, raw


def decode_utf8(raw: bytes, label: str) -> str:
    """File bytes as text, or a message saying where the first byte that is not UTF-8 sits."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        data = error.object
        line = data.count(b"\n", 0, error.start) + 1
        raise refusal(label, f"is not UTF-8 text (byte 0x{data[error.start]:02x} at position {error.start}, "
                             f"line {line:,}); save it as UTF-8") from None


def read_text(source: str | Path | IO[bytes], label: str | None = None, *,
              limit: int | None = None) -> tuple[str, str]:
    """Return (label, text) of a UTF-8 file or byte stream (at most ``limit`` bytes); ``-`` reads standard
    input."""
    label, raw = read_bytes(source, label, limit=limit)
    text = decode_utf8(raw, label)
    if not text.strip():
        raise refusal(label, "is empty")
    return label, text


def long_row(data: bytes | str, label: str, *, header: bool) -> ImportRejected | None:
    """The refusal of the first line longer than MAX_ROW_BYTES, naming its row (blank lines are not rows),
    or None. A Python loop over lines: only run once a file is known to hold such a line."""
    newline = b"\n" if isinstance(data, bytes) else "\n"
    start, line, row = 0, 0, 0
    while True:
        end = data.find(newline, start)
        stop = len(data) if end < 0 else end
        length = stop - start
        if length > MAX_ROW_BYTES // 4:  # a character takes 1 to 4 bytes
            piece = data[start:stop]
            length = len(piece) if isinstance(piece, bytes) else len(piece.encode())
        is_header = header and line == 0
        if not is_header and (length > 64 or data[start:stop].strip()):
            row += 1
        if length > MAX_ROW_BYTES:
            return refusal(label, f"{'the header ' if is_header else ''}is {length:,} bytes long, over the limit of "
                                  f"{MAX_ROW_BYTES:,} bytes a row may take", row=None if is_header else row,
                           field="record")
        if end < 0:
            return None
        start, line = end + 1, line + 1


def _may_hold_long_row(data: bytes | str) -> bool:
    """Whether some line may be longer than MAX_ROW_BYTES: such a line covers a whole window of a quarter of
    that length (an eighth in characters) without a line break. A few hundred C-level searches for a file at
    the upload limit; the exact (slower) search runs only when one window has no line break."""
    newline, window = (b"\n", MAX_ROW_BYTES // 4) if isinstance(data, bytes) else ("\n", MAX_ROW_BYTES // 8)
    if len(data) <= window:
        return False
    return any(data.find(newline, start, start + window) < 0 for start in range(0, len(data) - window, window))


def refuse_long_rows(data: bytes | str, label: str, *, header: bool) -> None:
    if _may_hold_long_row(data):
        too_long = long_row(data, label, header=header)
        if too_long:
            raise too_long


def text_lines(data: bytes) -> int:
    """Lines of a text file, not counting blank lines at its end."""
    body = data.rstrip()
    return body.count(b"\n") + 1 if body else 0
