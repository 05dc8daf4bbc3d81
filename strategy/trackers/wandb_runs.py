"""Runs from Weights & Biases, read from the run folders W&B leaves on disk (an offline run, or a synced one).

Current wandb keeps everything about a run in one ``run-<id>.wandb`` file: the records its client sent, in
LevelDB's log format, each a ``Record`` protobuf from wandb's own definitions (the ``trackers`` extra). Older
versions, and runs synced down, leave ``files/config.yaml`` and ``files/wandb-summary.json`` instead; those are
read when a folder has no ``.wandb`` file. A folder on disk and an uploaded archive of one go through the same
parser, given each run's files as bytes; an archive is read in memory, never unpacked to disk. Everything read
is bounded (bytes, members, runs) and anything unreadable is refused with a TrackerError naming the file.
"""

from __future__ import annotations

import bz2
import io
import json
import lzma
import os
import re
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath

from strategy.errors import TrackerError
from strategy.ingest import inert, upload_limit_bytes
from strategy.trackers.runs import FINISHED, TrackedRun

MAX_RUNS = 100_000  # run folders in one folder or archive, and members in an archive
BLOCK = 32_768
FILE_HEADER = b":W&B\xe1\xbe"  # followed by one version byte; version 0 is the only one wandb has written
RECORD_HEADER = struct.Struct("<IHB")  # checksum, payload length, kind
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
RUN_FOLDER = re.compile(r"(offline-)?run-.+")
WANDB_FILE = re.compile(r"run-.+\.wandb")
CONFIG, SUMMARY = "files/config.yaml", "files/wandb-summary.json"
EXPECTED = ("expected W&B run folders (\"offline-run-*\" or \"run-*\" folders with run-*.wandb files, or "
            "files/config.yaml and files/wandb-summary.json), a wandb folder holding them, or its parent")
UNPACKERS = ((b"\x1f\x8b", lambda: zlib.decompressobj(wbits=31)), (b"BZh", bz2.BZ2Decompressor),
             (b"\xfd7zXZ\x00", lzma.LZMADecompressor))  # gzip, bzip2, xz: what tar archives come compressed with
INSTALL = "install the project's `trackers` extra (pip install -e '.[trackers]')"


def read_wandb_runs(path: str | os.PathLike) -> list[TrackedRun]:
    """The runs in a W&B folder: a ``wandb`` folder, the folder holding it, or one run folder; by folder name."""
    root = Path(path)
    if not root.is_dir():
        raise TrackerError(f"{inert(str(root))!r} is not a folder: {EXPECTED}.")
    try:
        folders = [root] if _run_files(root) else _run_folders(root)
        runs = [_parse_run(folder.name, _read_files(_run_files(folder)), str(folder)) for folder in folders]
    except OSError as error:
        raise TrackerError(f"Cannot read {inert(str(error.filename or root))!r}: "
                           f"{inert(error.strerror or str(error))}.") from None
    if not runs:
        raise TrackerError(f"No W&B runs in {inert(str(root))!r}: {EXPECTED}.")
    return runs


def read_wandb_archive(data: bytes, label: str) -> list[TrackedRun]:
    """The runs in a .zip, .tar or compressed .tar of a W&B folder (an upload), read in memory, never unpacked."""
    limit = upload_limit_bytes()
    if len(data) > limit:
        raise TrackerError(f"{inert(label)} is larger than the upload limit of {limit:,} bytes.")
    grouped: dict[str, dict[str, bytes]] = {}
    for folder, name, content in _archive_members(data, label, limit):
        grouped.setdefault(folder, {})[name] = content
    order = sorted(grouped, key=lambda folder: (PurePosixPath(folder).name, folder))
    runs = [_parse_run(PurePosixPath(folder).name or Path(label).stem, grouped[folder],
                       f"{label}: {folder or '(top level)'}") for folder in order]
    if not runs:
        raise TrackerError(f"No W&B runs in {inert(label)}: {EXPECTED}.")
    return runs


# ----------------------------------------------------------------------------- folders on disk
def _run_files(folder: Path) -> dict[str, Path]:
    """The files of a run folder that are read, by their name within it; symlinked entries are never followed."""
    found = {entry.name: Path(entry.path) for entry in os.scandir(folder)
             if entry.is_file(follow_symlinks=False) and WANDB_FILE.fullmatch(entry.name)}
    if not (folder / "files").is_symlink():
        found.update({name: folder / name for name in (CONFIG, SUMMARY)
                      if (folder / name).is_file() and not (folder / name).is_symlink()})
    return found


def _run_folders(root: Path) -> list[Path]:
    base = root / "wandb"
    base = base if base.is_dir() and not base.is_symlink() else root
    folders = []
    with os.scandir(base) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and RUN_FOLDER.fullmatch(entry.name):
                folders.append(Path(entry.path))
                if len(folders) > MAX_RUNS:
                    raise TrackerError(f"{inert(str(base))!r} holds more than {MAX_RUNS:,} run folders; import "
                                       "them in parts.")
    return sorted((folder for folder in folders if _run_files(folder)), key=lambda folder: folder.name)


def _read_files(paths: Mapping[str, Path]) -> dict[str, bytes]:
    limit, files = upload_limit_bytes(), {}
    for name, path in paths.items():
        with path.open("rb") as handle:
            files[name] = handle.read(limit + 1)  # at most the limit, even from a file still growing
        if len(files[name]) > limit:
            raise TrackerError(f"{inert(str(path))!r} is larger than the upload limit of {limit:,} bytes.")
    return files


# ----------------------------------------------------------------------------- archives
def _place(name: str) -> tuple[str, str] | None:
    """The run folder and file name a member is read as, or None: a file not read, or a path that points
    outside the archive (absolute, or with ``..``)."""
    cleaned = name.replace("\\", "/")
    parts = [part for part in cleaned.split("/") if part not in ("", ".")]
    if cleaned.startswith("/") or re.match(r"[A-Za-z]:", cleaned) or ".." in parts or not parts:
        return None
    if "/".join(parts[-2:]) in (CONFIG, SUMMARY):
        return "/".join(parts[:-2]), "/".join(parts[-2:])
    return ("/".join(parts[:-1]), parts[-1]) if WANDB_FILE.fullmatch(parts[-1]) else None


def _archive_members(data: bytes, label: str, limit: int) -> Iterator[tuple[str, str, bytes]]:
    """(run folder, file name, bytes) of each member read, never more than the sizes declared add up to; a tar is
    decompressed within the limit first, so no header can unpack past it either."""
    shown, total = inert(label), 0
    try:
        with (zipfile.ZipFile(io.BytesIO(data)) if data[:2] == b"PK"
              else tarfile.open(fileobj=io.BytesIO(_decompressed(data, label, limit)), mode="r:")) as archive:
            for count, (name, size, regular, open_member) in enumerate(_entries(archive), 1):
                total += size
                if count > MAX_RUNS:
                    raise TrackerError(f"{shown} holds more than {MAX_RUNS:,} files; import them in parts.")
                if total > limit:
                    raise _too_big(label, limit)
                place = _place(name) if regular else None  # links and devices are never read
                if place is not None:
                    with open_member() as handle:
                        yield *place, handle.read(size)  # a zip member holding more fails its CRC check here
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, OSError, RuntimeError, ValueError,
            NotImplementedError) as error:
        raise TrackerError(f"{shown} is not a zip or tar archive that can be read: "
                           f"{inert(str(error))[:200]}.") from None


def _entries(archive: zipfile.ZipFile | tarfile.TarFile) -> Iterator[tuple[str, int, bool, Callable]]:
    """Each member's name, size, whether it is a plain file, and how to open it; a tar's one header at a time,
    so a huge member count stops early."""
    if isinstance(archive, zipfile.ZipFile):
        for info in archive.infolist():
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip was not made on Unix, or holds bare modes
            yield (info.filename, info.file_size, not info.is_dir() and kind in (0, stat.S_IFREG),
                   lambda info=info: archive.open(info))
    else:
        for member in archive:
            yield member.name, member.size, member.isreg(), lambda member=member: archive.extractfile(member)


def _too_big(label: str, limit: int) -> TrackerError:
    return TrackerError(f"{inert(label)} unpacks to more than the upload limit of {limit:,} bytes.")


def _decompressed(data: bytes, label: str, limit: int) -> bytes:
    unpacker = next((make() for magic, make in UNPACKERS if data.startswith(magic)), None)
    if unpacker is None:
        return data
    try:
        raw = unpacker.decompress(data, limit + 1)
    except (zlib.error, OSError, EOFError, lzma.LZMAError) as error:
        raise TrackerError(f"{inert(label)} is a damaged compressed archive: {inert(str(error))[:200]}.") from None
    if len(raw) > limit:
        raise _too_big(label, limit)
    if not unpacker.eof:
        raise TrackerError(f"{inert(label)} is a compressed archive that is cut short.")
    return raw


# ----------------------------------------------------------------------------- one run, from its files' bytes
def _parse_run(folder_name: str, files: Mapping[str, bytes], where: str) -> TrackedRun:
    try:
        record_files = sorted(name for name in files if WANDB_FILE.fullmatch(name))
        if record_files:
            own = f"run-{folder_name.rsplit('-', 1)[-1]}.wandb"
            name = own if own in record_files else record_files[0]
            return _from_records(files[name], f"{where}/{name}", name[4:-6])
        return _from_summary_files(folder_name, files, where)
    except RecursionError:
        raise TrackerError(f"{inert(where)} nests its values too deeply to be read.") from None


def _record_payloads(data: bytes, where: str) -> Iterator[bytes]:
    """Each record's bytes, its pieces joined across blocks; its checksum is CRC-32 of the kind byte, then the
    payload (wandb's variant, unmasked, not LevelDB's CRC-32C)."""
    shown = inert(where)
    if data[:6] != FILE_HEADER or len(data) < 7:
        raise TrackerError(f"{shown} is not a W&B run file: it does not start with W&B's header.")
    if data[6] != 0:
        raise TrackerError(f"{shown} is in W&B file format version {data[6]}, which this reader does not know.")
    position, pieces = 7, None
    while position < len(data):
        room = BLOCK - position % BLOCK
        if room < RECORD_HEADER.size:  # a block's last bytes are padding when no header fits
            position += room
            continue
        end = position + RECORD_HEADER.size
        if end > len(data):
            raise _cut_short(shown, position)
        checksum, length, kind = RECORD_HEADER.unpack_from(data, position)
        if length > room - RECORD_HEADER.size:  # a record never crosses a block: its pieces each fit in one
            raise TrackerError(f"{shown} is damaged at byte {position:,}: a record is longer than its block.")
        if end + length > len(data):
            raise _cut_short(shown, position)
        payload = data[end:end + length]
        if zlib.crc32(payload, zlib.crc32(bytes([kind]))) != checksum:
            raise TrackerError(f"{shown} is damaged at byte {position:,}: a record fails its checksum.")
        if kind not in (FULL, FIRST, MIDDLE, LAST) or (kind in (FULL, FIRST)) != (pieces is None):
            raise TrackerError(f"{shown} is damaged at byte {position:,}: its records are out of order.")
        pieces = [] if pieces is None else pieces
        pieces.append(payload)
        if kind in (FULL, LAST):
            yield b"".join(pieces)
            pieces = None
        position = end + length
    if pieces is not None:
        raise _cut_short(shown, position)


def _cut_short(shown: str, position: int) -> TrackerError:
    return TrackerError(f"{shown} is cut short: its record at byte {position:,} is incomplete (was it copied "
                        "while the run was still writing it?).")


def _from_records(data: bytes, where: str, file_id: str) -> TrackedRun:
    try:
        from google.protobuf.message import DecodeError
        from wandb.proto.wandb_internal_pb2 import Record
    except ImportError:
        raise TrackerError(f"Reading W&B runs needs the wandb package: {INSTALL}.") from None
    run_id, name, project, tags, exit_code = file_id, "", "", {}, None
    config: dict[str, object] = {}
    history: dict[str, list[tuple[int, float]]] = {}
    summary: dict[str, object] = {}
    step, steps_seen = 0, 0
    for payload in _record_payloads(data, where):
        record = Record()
        try:
            record.ParseFromString(payload)
        except DecodeError:
            raise TrackerError(f"{inert(where)} holds a record that is not one of W&B's.") from None
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run_id, name = record.run.run_id or run_id, record.run.display_name or name
            project = record.run.project or project
            tags = {tag: "" for tag in record.run.tags} or tags
            _update(config, record.run.config.update, ())
        elif kind == "config":
            _update(config, record.config.update, record.config.remove)
        elif kind == "history":
            items = {_key(item): _logged(item) for item in record.history.item}
            logged = items.get("_step")
            step = (logged if isinstance(logged, int) and not isinstance(logged, bool)
                    else record.history.step.num if record.history.HasField("step") else steps_seen)
            steps_seen += 1
            for key, value in _numbers(items):
                history.setdefault(key, []).append((step, value))
        elif kind == "summary":
            _update(summary, record.summary.update, record.summary.remove)
        elif kind == "exit":
            exit_code = record.exit.exit_code
    metrics = dict(history)
    for key, value in _numbers(summary):
        metrics.setdefault(key, [(step, value)])  # a value set only in the summary: once, at the last step
    params: dict[str, str] = {}
    for key, value in config.items():
        if not key.startswith("_"):
            _flatten(key, value, params)
    state = "RUNNING" if exit_code is None else FINISHED if exit_code == 0 else "FAILED"
    return TrackedRun(run_id=run_id, name=name or run_id, state=state, experiment=project, params=params,
                      tags=tags, metrics=metrics)


def _from_summary_files(folder_name: str, files: Mapping[str, bytes], where: str) -> TrackedRun:
    params: dict[str, str] = {}
    if CONFIG in files:
        config = _yaml(files[CONFIG], f"{where}/{CONFIG}")
        for key, entry in config.items():
            if str(key) != "wandb_version" and not str(key).startswith("_"):
                value = entry.get("value") if isinstance(entry, dict) and "value" in entry else entry
                _flatten(str(key), value, params)
    summary: dict[str, object] = {}
    if SUMMARY in files:
        try:
            summary = json.loads(files[SUMMARY])
        except ValueError:
            raise TrackerError(f"{inert(where)}/{SUMMARY} is not valid JSON.") from None
        if not isinstance(summary, dict):
            raise TrackerError(f"{inert(where)}/{SUMMARY} does not hold a JSON object of values.")
    step = summary.get("_step") if isinstance(summary.get("_step"), int) else 0
    run_id = folder_name.rsplit("-", 1)[-1]
    return TrackedRun(run_id=run_id, name=run_id, state=FINISHED if SUMMARY in files else "RUNNING",
                      params=params, metrics={key: [(step, value)] for key, value in _numbers(summary)})


def _yaml(content: bytes, where: str) -> dict:
    try:
        import yaml
    except ImportError:
        raise TrackerError(f"Reading W&B's config.yaml needs PyYAML: {INSTALL}.") from None
    try:
        text = content.decode("utf-8")
        # An alias repeats a value without storing it again, so a small file could expand without bound.
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader)):
            raise TrackerError(f"{inert(where)} uses YAML aliases, which W&B never writes; it is not read.")
        loaded = yaml.safe_load(text)
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise TrackerError(f"{inert(where)} is not valid YAML: {inert(str(error).splitlines()[0])[:200]}.") from None
    if not isinstance(loaded, dict):
        raise TrackerError(f"{inert(where)} does not hold W&B's config (a mapping of keys to values).")
    return loaded


# ----------------------------------------------------------------------------- values
def _key(item) -> str:
    return item.key or ".".join(item.nested_key)


def _logged(item) -> object:
    """A history value: wandb writes JSON text, but the record also allows a typed value."""
    kind = item.WhichOneof("value")
    if kind == "json":
        return _value(item.json)
    return None if kind == "none" else getattr(item, kind) if kind else _value(item.value_json)


def _update(values: dict[str, object], updates, removals) -> None:
    for item in removals:
        values.pop(_key(item), None)
    for item in updates:  # a key set again moves to the end: flattened last, it wins over an older dotted key
        values.pop(_key(item), None)
        values[_key(item)] = _value(item.value_json)


def _value(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text  # kept as text: a parameter still shows it, a metric skips it


def _flatten(key: str, value: object, out: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for sub, inner in value.items():
            _flatten(f"{key}.{sub}", inner, out)
    elif isinstance(value, bool | int | float | list | dict):
        out[key] = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    else:
        out[key] = "" if value is None else str(value)  # text as it is, and YAML's dates as they were written


def _numbers(values: Mapping[str, object], prefix: str = "") -> Iterator[tuple[str, float]]:
    """The numeric values by dotted key; W&B's own keys (``_step``…) and its media (``_type``) are left out."""
    for key, value in values.items():
        if str(key).startswith("_"):
            continue
        if isinstance(value, dict) and "_type" not in value:
            yield from _numbers(value, f"{prefix}{key}.")
        elif isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)
                                          and value.bit_length() < 1024):  # an int float() cannot hold is left out
            yield f"{prefix}{key}", float(value)
