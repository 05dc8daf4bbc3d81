"""The hostile-input corpus of issue 16, by theme: dataset sample locations, terminal output of every CLI command
that echoes user text, exports in each format, the recommend command's number options, and sign-in settings.

Every case asserts the exact outcome: the message names the place, nothing is written (catalog row counts
compared), no traceback, and the hostile byte never reaches the output raw."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

import dashboard
from strategy import export
from strategy.access import SignInBroken, email_unverified, sign_in_roles
from strategy.catalog import Catalog
from strategy.cli import BUDGET, TARGET, main
from strategy.errors import AssessmentRejected, StrategyError
from strategy.export import inert, json_inert, render
from strategy.locations import DEFAULT_ROOTS, SAMPLE_ROOTS_ENV, SAMPLES_DIR, LocationRefused, allowed_roots
from strategy.quality.samples import dataset_sample
from strategy.summary import build_summary
from strategy.tasks import save_task_and_recommend

SECRET = "hunter2-do-not-show"
DATASET = "Hostile sample"


# ============================================================================ 1. dataset sample locations
@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """An allowed folder (the only one), with a folder beside it that is not allowed."""
    allowed = tmp_path / "allowed"
    (allowed / "sub").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secrets.csv").write_text(f"password\n{SECRET}\n{SECRET}\n", encoding="utf-8")
    (allowed / "good.csv").write_text("amount,country\n1.5,GB\n2.5,FR\n3.5,GB\n", encoding="utf-8")
    monkeypatch.setenv(SAMPLE_ROOTS_ENV, str(allowed))
    return allowed


def read(location: str):
    return dataset_sample({"name": DATASET, "location": location})


def refused(location: str) -> str:
    with pytest.raises(StrategyError) as caught:
        read(location)
    message = str(caught.value)
    assert SECRET not in message and "root:x:0:0" not in message and "Traceback" not in message
    return message


def where(location: str) -> str:
    return f"Dataset {DATASET!r}: its sample location '{inert(location)}'"


def outside_message(location: str, root: Path) -> str:
    folders = f"{os.path.realpath(SAMPLES_DIR)}, {os.path.realpath(root)}"  # the demo's samples stay allowed
    return (f"{where(location)} is outside the allowed folders ({folders}); an admin can allow a folder with "
            f"{SAMPLE_ROOTS_ENV}.")


OUTSIDE = {
    "etc-passwd": lambda root: "/etc/passwd",
    "dev-zero": lambda root: "/dev/zero",
    "proc-self-environ": lambda root: "/proc/self/environ",
    "relative-dotdot-escape": lambda root: "../../../../../../etc/passwd",
    "relative-dotdot-to-sibling": lambda root: "../outside/secrets.csv",
    "absolute-dotdot-out-of-root": lambda root: f"{root}/sub/../../outside/secrets.csv",
    "root-prefix-is-not-containment": lambda root: f"{root}-evil/secrets.csv",
}


@pytest.mark.parametrize("make", OUTSIDE.values(), ids=OUTSIDE.keys())
def test_a_location_outside_the_allowed_folders_is_refused(root, make):
    location = make(root)
    if "evil" in location:
        Path(location).parent.mkdir()
        Path(location).write_text(f"password\n{SECRET}\n", encoding="utf-8")
    with pytest.raises(LocationRefused) as caught:
        read(location)
    assert str(caught.value) == outside_message(location, root)
    assert SECRET not in str(caught.value)


def test_a_symlink_in_the_root_pointing_out_is_refused(root):
    (root / "link.csv").symlink_to("/etc/passwd")
    with pytest.raises(LocationRefused) as caught:
        read(str(root / "link.csv"))
    assert str(caught.value) == outside_message(str(root / "link.csv"), root)


def test_a_symlinked_folder_in_the_root_pointing_out_is_refused(root):
    (root / "escape").symlink_to(root.parent / "outside", target_is_directory=True)
    location = "escape/secrets.csv"
    with pytest.raises(LocationRefused) as caught:
        read(location)
    assert str(caught.value) == outside_message(location, root)


def test_a_symlink_inside_the_root_to_a_file_inside_is_read(root):
    (root / "alias.csv").symlink_to(root / "good.csv")
    sample = read(str(root / "alias.csv"))
    assert sample.frame["amount"].tolist() == [1.5, 2.5, 3.5]
    assert sample.label == f"{DATASET} (good.csv)"


def test_a_folder_is_refused(root):
    (root / "folder.csv").mkdir()
    assert refused(str(root / "folder.csv")) == (f"{where(str(root / 'folder.csv'))} is not a regular file (it is a "
                                                 "folder, device, pipe or socket).")


def test_a_named_pipe_is_refused_without_blocking(root):
    os.mkfifo(root / "pipe.csv")
    assert refused(str(root / "pipe.csv")).endswith("is not a regular file (it is a folder, device, pipe or socket).")


def test_a_device_is_refused_even_inside_an_allowed_folder(monkeypatch):
    monkeypatch.setenv(SAMPLE_ROOTS_ENV, "/dev")
    assert refused("/dev/zero") == f"{where('/dev/zero')} is not a regular file (it is a folder, device, pipe or socket)."


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(root, monkeypatch):
    monkeypatch.setenv("STRATEGY_MAX_UPLOAD_MB", "1")
    huge = root / "huge.csv"
    with open(huge, "wb") as handle:  # sparse: 3 MB long, nothing written to disk
        handle.truncate(3 * 1024 * 1024)
    assert refused(str(huge)) == f"{where(str(huge))} is 3.0 MB, over the limit of 1 MB (STRATEGY_MAX_UPLOAD_MB)."


def test_an_env_file_inside_the_root_is_refused_without_its_content(root):
    (root / ".env").write_text(f"API_KEY={SECRET}\nDB_PASSWORD={SECRET}\n", encoding="utf-8")
    assert refused(str(root / ".env")) == (
        f"{where(str(root / '.env'))} is not a sample file: it must be CSV, Parquet, JSON lines or .txt (a name "
        "ending in .csv, .parquet, .jsonl, .ndjson, .json, .txt).")


PARSE_FAILURES = {
    "csv-with-ragged-rows": ("env.csv", f"API_KEY=1\nDB_PASSWORD={SECRET},x,y\n".encode()),
    "csv-a-row-wider-than-the-header": ("wide.csv", f"a,b\n1,2\n3,4,{SECRET}\n".encode()),
    "csv-header-is-the-secret": ("header.csv", f"API_KEY={SECRET}\nx,y\n".encode()),
    "parquet-that-is-not": ("junk.parquet", f"PAR1{SECRET}".encode()),
    "json-lines-broken": ("bad.jsonl", f'{{"a": "{SECRET}"\n{{"b": 1}}\n'.encode()),
    "json-lines-mixed-types": ("mixed.jsonl", f'{{"a": 1}}\n{{"a": "{SECRET}"}}\n'.encode()),
}
# One problem, naming the dataset and the file, the field only as 'file', 'record' or 'column', and a reason
# with nothing quoted from the file.
REFUSED_TABLE = (r"Cannot assess these samples: 1 problem found\.\n  - Hostile sample \({name}\)(, row \d+)?, "
                 r"field '(file|record|column)': [^'\"():]+( \(the file's details are not shown for a catalog "
                 r"location\))?")


@pytest.mark.parametrize(("name", "content"), PARSE_FAILURES.values(), ids=PARSE_FAILURES.keys())
def test_a_sample_that_is_not_a_table_is_refused_without_quoting_it(root, name, content):
    (root / name).write_bytes(content)
    with pytest.raises(AssessmentRejected) as caught:
        read(name)
    message = str(caught.value)
    assert re.fullmatch(REFUSED_TABLE.format(name=re.escape(name)), message), message
    assert SECRET not in message and "API_KEY" not in message and "DB_PASSWORD" not in message


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "is empty"),
    (b"a,b\n\xff\xfe,1\n", "is not UTF-8 text (the file's details are not shown for a catalog location)"),
], ids=["empty-file", "not-utf8"])
def test_other_unreadable_samples_name_the_dataset(root, content, reason):
    (root / "odd.csv").write_bytes(content)
    with pytest.raises(AssessmentRejected) as caught:
        read("odd.csv")
    assert str(caught.value).endswith(f"  - {DATASET} (odd.csv), field 'file': {reason}")


def test_a_missing_file_inside_the_root_is_named(root):
    assert refused(str(root / "missing.csv")) == f"{where(str(root / 'missing.csv'))} does not exist (or cannot be read)."


def test_a_nul_byte_in_the_location_is_refused(root):
    assert refused(f"{root}/good.csv\x00.txt") == f"{where(f'{root}/good.csv' + chr(0) + '.txt')} is not a file path."


def test_a_bidi_override_in_the_location_is_shown_escaped(root):
    location = "evil\u202evsc.txt"
    message = refused(location)
    assert "\u202e" not in message and "\\u202e" in message
    assert message.endswith("does not exist (or cannot be read).")


def test_an_absolute_path_inside_the_root_is_read(root):
    sample = read(str(root / "good.csv"))
    assert sample.label == f"{DATASET} (good.csv)" and list(sample.frame.columns) == ["amount", "country"]


def test_a_relative_path_is_looked_up_in_the_root_and_dotdot_inside_it_is_fine(root):
    assert len(read("sub/../good.csv").frame) == 3
    assert len(read("good.csv").frame) == 3


def test_a_unicode_file_name_is_read(root):
    name = "données ☃ 日本語.csv"
    (root / name).write_text("x,y\n1,a\n2,b\n", encoding="utf-8")
    sample = read(str(root / name))
    assert sample.label == f"{DATASET} ({name})" and len(sample.frame) == 2


def test_a_text_sample_inside_the_root_is_read_one_text_per_line(root):
    (root / "texts.txt").write_text("first text\nsecond text\n\nthird\n", encoding="utf-8")
    assert read("texts.txt").frame["text"].tolist() == ["first text", "second text", "third"]


def test_several_roots_are_separated_by_the_path_separator(root, tmp_path, monkeypatch):
    other = tmp_path / "second"
    other.mkdir()
    (other / "more.csv").write_text("x\n1\n2\n", encoding="utf-8")
    monkeypatch.setenv(SAMPLE_ROOTS_ENV, os.pathsep.join([str(root), str(other)]))
    assert allowed_roots() == [Path(os.path.realpath(p)) for p in (SAMPLES_DIR, root, other)]
    assert len(read("more.csv").frame) == 2


def test_setting_the_roots_replaces_data_but_keeps_the_demo_samples(root):
    assert len(read(str(SAMPLES_DIR / "reviews_human.csv")).frame) > 0
    rulebook = str(DEFAULT_ROOTS[1] / "rulebook.json")  # in data/, allowed only by default
    with pytest.raises(LocationRefused) as caught:
        read(rulebook)
    assert str(caught.value) == outside_message(rulebook, root)


def test_the_default_roots_hold_the_demo_samples_and_refuse_the_rest(monkeypatch):
    monkeypatch.delenv(SAMPLE_ROOTS_ENV, raising=False)
    assert len(read("reviews_human.csv").frame) > 0
    folders = ", ".join(os.path.realpath(r) for r in DEFAULT_ROOTS)
    assert refused("/etc/passwd") == (f"{where('/etc/passwd')} is outside the allowed folders ({folders}); an admin "
                                      f"can allow a folder with {SAMPLE_ROOTS_ENV}.")


def test_reading_a_refused_location_from_the_catalog_writes_nothing(demo_path, root):
    from strategy.assessments import find_dataset
    with Catalog.open(demo_path) as catalog:
        row = catalog.datasets().set_index("name").loc["Confirmed fraud cases"]
        before = catalog.counts()
        dataset = find_dataset(catalog, row["id"]) | {"location": "/etc/passwd"}
        with pytest.raises(LocationRefused, match="Dataset 'Confirmed fraud cases': its sample location '/etc/passwd'"):
            dataset_sample(dataset)
        assert catalog.counts() == before


# ============================================================================ 2. terminal output of the CLI
HOSTILE_TASKS = {
    "c1-csi": ("Card fraud detection", "Card fraud \x9b2J\x9b31mAll clear", ["\x9b"], ["\\x9b2J"]),
    "c1-osc-st": ("Chest X-ray triage", "Chest X-ray \x9d0;pwned\x9c triage", ["\x9d", "\x9c"], ["\\x9d0;pwned\\x9c"]),
    "bidi-rlo": ("Legal contract clause review", "Legal review \u202eexe.txt", ["\u202e"], ["\\u202eexe.txt"]),
    "bidi-isolates": ("Product review sentiment", "Sentiment \u2067\u2066iso\u2069\u2068x\u2069",
                      ["\u2066", "\u2067", "\u2068", "\u2069"], ["\\u2067\\u2066iso\\u2069\\u2068x\\u2069"]),
    "bidi-marks-embeddings": ("Network intrusion detection", "Intrusion \u200e\u200f\u061c\u202a\u202b\u202c\u202d end",
                              ["\u200e", "\u200f", "\u061c", "\u202a", "\u202b", "\u202c", "\u202d"],
                              ["\\u200e\\u200f\\u061c\\u202a\\u202b\\u202c\\u202d"]),
}
STEERING = [chr(c) for c in (*range(0x00, 0x0a), *range(0x0b, 0x20), *range(0x7f, 0xa0))] + list(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@pytest.fixture(scope="module")
def hostile_template(demo_template, tmp_path_factory) -> Path:
    """The demo with five tasks renamed to hold C1 controls and bidi characters (which names may hold), each
    recomputed; a tab and C1 in one description."""
    path = tmp_path_factory.mktemp("hostile") / "catalog.duckdb"
    shutil.copy(demo_template, path)
    with Catalog.open(path) as catalog:
        for old, new, _, _ in HOSTILE_TASKS.values():
            task = catalog.task(old)
            update = {"name": new}
            if old == "Card fraud detection":
                update["description"] = "first line\nsecond\tline \x9b2J\u202edone"
            save_task_and_recommend(catalog, task.model_copy(update=update))
    return path


@pytest.fixture
def hostile_path(hostile_template, tmp_path) -> Path:
    path = tmp_path / "hostile.duckdb"
    shutil.copy(hostile_template, path)
    return path


def cli(path: Path, *args, input=None):
    result = CliRunner().invoke(main, ["--catalog", str(path), *args], input=input)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def assert_inert(output: str, raw: list[str], shown: list[str]) -> None:
    for char in raw:
        assert char not in output, f"raw {char!r} reached the terminal"
    for escape in shown:
        assert escape in output, escape


def counts(path: Path) -> dict[str, int]:
    with Catalog.open(path) as catalog:
        return catalog.counts()


@pytest.mark.parametrize(("old", "new", "raw", "shown"), HOSTILE_TASKS.values(), ids=HOSTILE_TASKS.keys())
def test_tasks_lists_hostile_names_escaped(hostile_path, old, new, raw, shown):
    result = cli(hostile_path, "tasks")
    assert result.exit_code == 0
    assert_inert(result.output, raw, shown)


def test_tasks_json_keeps_the_names_and_escapes_them(hostile_path):
    result = cli(hostile_path, "tasks", "--json")
    assert result.exit_code == 0
    assert not any(char in result.output for char in STEERING if char != "\n")
    names = {record["name"] for record in json.loads(result.output)}
    assert {new for _, new, _, _ in HOSTILE_TASKS.values()} <= names


@pytest.mark.parametrize("case", ["c1-csi", "bidi-rlo", "bidi-isolates"])
def test_recommend_shows_hostile_names_escaped(hostile_path, case):
    _, new, raw, shown = HOSTILE_TASKS[case]
    before = counts(hostile_path)["recommendations"]
    result = cli(hostile_path, "recommend", new)
    assert result.exit_code == 0, result.output
    assert_inert(result.output, raw, shown)
    assert counts(hostile_path)["recommendations"] == before + 1


def test_recommend_json_keeps_the_name_and_escapes_it(hostile_path):
    _, new, raw, _ = HOSTILE_TASKS["bidi-marks-embeddings"]
    result = cli(hostile_path, "recommend", new, "--json")
    assert result.exit_code == 0
    assert_inert(result.output, raw, ["\\u200e\\u200f\\u061c"])
    assert json.loads(result.output)["task_name"] == new


def test_an_unknown_task_with_an_escape_is_named_escaped(hostile_path):
    before = counts(hostile_path)
    result = cli(hostile_path, "recommend", "ghost \x1b]0;pwned\x07 \u202etask")
    assert result.exit_code == 1
    assert_inert(result.output, ["\x1b", "\x07", "\u202e"], ["\\x1b]0;pwned\\x07", "\\u202etask"])
    assert result.output.startswith("Error: Unknown task")
    assert counts(hostile_path) == before


def test_portfolio_shows_hostile_names_escaped(hostile_path):
    result = cli(hostile_path, "portfolio")
    assert result.exit_code == 0
    for _, _, raw, shown in HOSTILE_TASKS.values():
        assert_inert(result.output, raw, shown)


def test_portfolio_json_keeps_the_names(hostile_path):
    result = cli(hostile_path, "portfolio", "--json")
    assert result.exit_code == 0
    assert not any(char in result.output for char in STEERING if char != "\n")
    assert {new for _, new, _, _ in HOSTILE_TASKS.values()} <= {r["task_name"] for r in json.loads(result.output)}


TASK_FILES = {
    "esc-in-name-posing-as-success": (
        "name,domain,modality,metric\nA\x1b[2K\x1b[1G3 tasks created from tasks.csv.,Ops,text,F1\n",
        ["\x1b"], ["\\x1b[2K\\x1b[1G3 tasks created"]),
    "csi-in-a-number": ("name,domain,modality,metric,interaction\nB,Ops,text,F1,\x1b[32m7\n",
                        ["\x1b"], ["(got '\\x1b[32m7')"]),
    "osc-title-in-a-domain": ("name,domain,modality,metric\nC,\x1b]0;owned\x07Ops,text,F1\n",
                              ["\x1b", "\x07"], ["field 'domain'"]),
}


@pytest.mark.parametrize(("content", "raw", "shown"), TASK_FILES.values(), ids=TASK_FILES.keys())
def test_a_hostile_task_file_is_refused_escaped_and_writes_nothing(hostile_path, tmp_path, content, raw, shown):
    source = tmp_path / "tasks.csv"
    source.write_text(content, encoding="utf-8")
    before = counts(hostile_path)
    result = cli(hostile_path, "tasks", "add", str(source))
    assert result.exit_code == 1
    assert result.output.startswith("Error: Nothing was written: 1 problem found.\n  - ")
    assert_inert(result.output, raw, shown)
    assert "created" not in result.output.split("\n")[0]
    assert counts(hostile_path) == before


def test_a_file_name_holding_escapes_is_shown_escaped(hostile_path, tmp_path):
    source = tmp_path / "evil\x1b]0;pwned\x07.csv"
    source.write_text("name,domain,modality,metric\nFresh task,Ops,text,F1\n", encoding="utf-8")
    result = cli(hostile_path, "tasks", "add", str(source))
    assert result.exit_code == 0, result.output
    assert_inert(result.output, ["\x1b", "\x07"], ["evil\\x1b]0;pwned\\x07.csv"])
    assert "1 tasks created, 0 updated" in result.output


LOG_FILES = {
    "esc-in-notes": ("task,n_human,n_synthetic,metric,value,notes\n{task},1,1,AUPRC,0.5,\"bad \x1b[2J note\"\n",
                     "field 'notes': must not contain control characters"),
    "esc-in-unknown-task": ("task,n_human,n_synthetic,metric,value\nNo such \x1b[31mtask,1,1,F1,0.5\n",
                            "no task has the id or name 'No such \\x1b[31mtask'"),
    "esc-in-metric": ("task,n_human,n_synthetic,metric,value\n{task},1,1,AU\x1b[8mPRC,0.5\n", "field 'metric'"),
}


@pytest.mark.parametrize(("content", "named"), LOG_FILES.values(), ids=LOG_FILES.keys())
def test_log_refusals_are_shown_escaped_and_write_nothing(hostile_path, tmp_path, content, named):
    source = tmp_path / "runs.csv"
    source.write_text(content.format(task=HOSTILE_TASKS["c1-csi"][1]), encoding="utf-8")
    before = counts(hostile_path)
    result = cli(hostile_path, "log", str(source))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: Nothing was written: 1 problem found.\n  - {source}, row 1")
    assert named in result.output
    assert "\x1b" not in result.output and "\x9b" not in result.output
    assert counts(hostile_path) == before


def test_log_of_a_hostile_task_shows_its_name_escaped(hostile_path, tmp_path):
    _, new, raw, shown = HOSTILE_TASKS["bidi-rlo"]
    source = tmp_path / "runs.jsonl"
    source.write_text(json.dumps({"task": new, "n_human": 10, "n_synthetic": 20, "metric": "F1", "value": 0.5,
                                  "notes": "fine \u202e note"}) + "\n", encoding="utf-8")
    before = counts(hostile_path)["outcomes"]
    result = cli(hostile_path, "log", str(source))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 outcomes written, 0 skipped")
    assert_inert(result.output, raw, shown)
    assert counts(hostile_path)["outcomes"] == before + 1


def test_assess_shows_hostile_column_names_escaped(tmp_path):
    header = "amount,country,\x1b[2Jconstant\u202e"  # a constant column is listed as skipped, by name
    rows = "\n".join(f"{i * 1.5},{'GB' if i % 2 else 'FR'},k" for i in range(40))
    (tmp_path / "h.csv").write_text(f"{header}\n{rows}\n", encoding="utf-8")
    (tmp_path / "s.csv").write_text(f"{header}\n{rows}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--catalog", str(tmp_path / "c.duckdb"), "assess", "--human",
                                       str(tmp_path / "h.csv"), "--synthetic", str(tmp_path / "s.csv")])
    assert result.exit_code == 0, result.output
    assert "Humanness" in result.output
    assert_inert(result.output, ["\x1b", "\u202e"], ["skipped \\x1b[2Jconstant\\u202e: "])


def test_export_to_standard_output_is_inert(hostile_path):
    _, new, raw, shown = HOSTILE_TASKS["bidi-isolates"]
    result = cli(hostile_path, "export", "--task", new, "--format", "md")
    assert result.exit_code == 0
    assert_inert(result.output, raw, shown)


def test_a_subprocess_terminal_never_receives_the_escape(hostile_path):
    """The real command, as a terminal would run it: no ESC or C1 byte in what it prints."""
    strategy = shutil.which("strategy", path=str(Path(sys.executable).parent))
    done = subprocess.run([strategy, "--catalog", str(hostile_path), "tasks"], capture_output=True, timeout=120,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr
    assert b"\x1b" not in done.stdout and "\x9b".encode() not in done.stdout and "\u202e".encode() not in done.stdout
    assert b"\\x9b2J" in done.stdout and b"\\u202e" in done.stdout


# ============================================================================ 3. exports keep the text inert
@pytest.fixture(scope="module")
def hostile_bundle(hostile_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("bundle") / "catalog.duckdb"
    shutil.copy(hostile_template, path)
    with Catalog.open(path) as catalog:
        ids = [catalog.task(new).id for _, new, _, _ in HOSTILE_TASKS.values()]
        return build_summary(catalog, task_ids=ids), build_summary(catalog, task_ids=[ids[0]])


ALL_RAW = sorted({char for _, _, raw, _ in HOSTILE_TASKS.values() for char in raw})
ALL_SHOWN = [shown[0] for _, _, _, shown in HOSTILE_TASKS.values()]


@pytest.mark.parametrize("fmt", ["md", "html", "csv"])
def test_text_exports_show_control_and_bidi_characters_as_escapes(hostile_bundle, fmt):
    bundle, _ = hostile_bundle
    text = render(bundle, fmt).decode("utf-8")
    assert not [char for char in STEERING if char != "\n" and char in text]
    for escape in ALL_SHOWN:
        assert escape in text, escape
    if fmt != "csv":  # the CSV has no description column
        assert "second\\x09line \\x9b2J\\u202edone" in text  # the description's tab, CSI and override, visible


def test_the_json_export_decodes_to_the_text_as_stored_and_holds_no_raw_bidi(hostile_bundle):
    bundle, _ = hostile_bundle
    text = render(bundle, "json").decode("utf-8")
    assert not [char for char in ALL_RAW if char in text]
    names = {task["name"] for task in json.loads(text)["tasks"]}
    assert names == {new for _, new, _, _ in HOSTILE_TASKS.values()}


def test_the_pdf_shows_control_and_bidi_characters_as_escapes(hostile_bundle):
    _, single = hostile_bundle
    reader = PdfReader(io.BytesIO(render(single, "pdf")))
    text = " ".join("\n".join(page.extract_text() for page in reader.pages).split())
    assert not [char for char in STEERING if char in text]
    assert "\\x9b2J\\x9b31mAll clear" in text and "\\x9b2J\\u202edone" in text


def test_catalog_tables_as_csv_and_json_are_inert(hostile_template):
    with Catalog.open(hostile_template) as catalog:
        tasks = catalog.tasks()
    as_csv = export.to_csv(tasks).decode("utf-8")
    as_json = export.to_json(tasks).decode("utf-8")
    assert not [char for char in ALL_RAW if char in as_csv or char in as_json]
    assert "Legal review \\u202eexe.txt" in as_csv
    assert HOSTILE_TASKS["bidi-rlo"][1] in {record["name"] for record in json.loads(as_json)}


@pytest.mark.parametrize(("text", "lines", "expected"), [
    ("a\x1b[31mb", True, "a\\x1b[31mb"),
    ("tab\there", True, "tab\\x09here"),
    ("two\nlines\r", True, "two\nlines\\x0d"),
    ("two\nlines", False, "two\\x0alines"),
    ("nul\x00del\x7fnel\x85", True, "nul\\x00del\\x7fnel\\x85"),
    ("\u202eRLO \u2066LRI\u2069 \u200eLRM \u061cALM", True, "\\u202eRLO \\u2066LRI\\u2069 \\u200eLRM \\u061cALM"),
    ("日本語 😀 café", True, "日本語 😀 café"),
], ids=["esc", "tab", "cr-keeps-lines", "one-line", "nul-del-c1", "bidi", "plain-unicode-untouched"])
def test_the_one_escaper(text, lines, expected):
    assert inert(text, lines=lines) == expected


def test_the_json_escaper_keeps_the_meaning():
    document = json.dumps({"name": "x\u202ey\x85z\x7f"}, ensure_ascii=False)
    escaped = json_inert(document)
    assert "\u202e" not in escaped and "\x85" not in escaped and "\x7f" not in escaped
    assert json.loads(escaped) == json.loads(document)


def test_the_pdf_says_how_many_characters_no_font_could_show(hostile_template, tmp_path, monkeypatch):
    path = tmp_path / "glyphs.duckdb"
    shutil.copy(hostile_template, path)
    with Catalog.open(path) as catalog:
        task = catalog.task(HOSTILE_TASKS["c1-osc-st"][1])
        save_task_and_recommend(catalog, task.model_copy(update={"name": "Triage 日本語 \U0001f99c"}))
        bundle = build_summary(catalog, task_ids=[task.id])
    dejavu = [folder for folder in export.pdf.FONT_DIRS if (folder / "DejaVuSans.ttf").is_file()]
    if not dejavu:
        pytest.skip("DejaVu Sans is not installed (Debian fonts-dejavu-core)")
    monkeypatch.setattr(export.pdf, "FONT_DIRS", tuple(dejavu))  # the body font only: no CJK or emoji fallback
    text = " ".join(PdfReader(io.BytesIO(export.to_pdf(bundle))).pages[0].extract_text().split())
    assert "Triage \u25a1\u25a1\u25a1 \u25a1" in text
    assert "Characters not shown: " in text
    assert "characters could not be shown in the fonts installed where this PDF was made and were replaced with " \
           "\u25a1 (U+65E5, U+672C, U+8A9E, U+1F99C)" in text


# ============================================================================ 4. recommend: number options
BAD_BUDGETS = {
    "1e16": ("1e16", "is out of range"),
    "inf": ("inf", "is not a finite number"),
    "minus-inf": ("-inf", "is not a finite number"),
    "nan": ("nan", "is not a finite number"),
    "minus-one": ("-1", "is out of range"),
    "just-over-the-ceiling": ("1000000000001", "is out of range"),
    "abc": ("abc", "is not a number"),
    "empty": ("", "is not a number"),
    "escape-sequence": ("\x1b[2J5", "is not a number"),
}


@pytest.mark.parametrize(("value", "reason"), BAD_BUDGETS.values(), ids=BAD_BUDGETS.keys())
def test_recommend_refuses_a_budget_out_of_range_in_one_usage_line(hostile_path, value, reason):
    before = counts(hostile_path)
    result = cli(hostile_path, "recommend", "Chest X-ray \x9d0;pwned\x9c triage", "--budget", value)
    assert result.exit_code == 2
    error = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert error == [f"Error: Invalid value for '--budget': {inert(repr(value))} {reason}: give a budget in US "
                     "dollars from 0 to 1,000,000,000,000."]
    assert "\x1b" not in result.output
    assert counts(hostile_path) == before


@pytest.mark.parametrize(("value", "reason"), [("nan", "is not a finite number"), ("inf", "is not a finite number"),
                                               ("abc", "is not a number")], ids=["nan", "inf", "abc"])
def test_recommend_refuses_a_target_that_is_not_a_finite_number(hostile_path, value, reason):
    before = counts(hostile_path)
    result = cli(hostile_path, "recommend", "Chest X-ray \x9d0;pwned\x9c triage", "--target", value)
    assert result.exit_code == 2
    assert f"Error: Invalid value for '--target': '{value}' {reason}: give a finite metric value." in result.output
    assert counts(hostile_path) == before


def test_the_budget_ceiling_itself_and_zero_pass_the_option_check():
    assert BUDGET.convert("1e12", None, None) == 1e12
    assert BUDGET.convert("0", None, None) == 0.0
    assert TARGET.convert("-0.25", None, None) == -0.25


def test_a_budget_in_range_is_used(hostile_path):
    before = counts(hostile_path)["recommendations"]
    result = cli(hostile_path, "recommend", "Chest X-ray \x9d0;pwned\x9c triage", "--budget", "50000", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["budget"] == 50000
    assert counts(hostile_path)["recommendations"] == before + 1


# ============================================================================ 5. sign-in settings
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "not-a-real-secret",
        "client_id": "strategy", "client_secret": "not-a-real-secret",
        "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}


@pytest.fixture
def secrets_file(tmp_path, monkeypatch):
    """Point Streamlit's secrets at one file of the test's making, parsed afresh."""
    import streamlit as st
    from streamlit import config as st_config
    from streamlit.runtime.secrets import Secrets

    path = tmp_path / "secrets.toml"
    original = st_config.get_option
    monkeypatch.setattr(st_config, "get_option",
                        lambda name: [str(path)] if name == "secrets.files" else original(name))

    made = []

    def use(text: str | None):
        if text is not None:
            path.write_text(text, encoding="utf-8")
        fresh = Secrets()
        fresh._file_watchers_installed = True
        made.append(fresh)
        monkeypatch.setattr(st, "secrets", fresh)
        return dashboard.sign_in()
    yield use
    for fresh in made:
        fresh._reset()  # drops the environment variables Streamlit sets from top-level secrets


def auth_toml(auth: dict, roles: str = 'admin = ["ada@lab.org"]\n') -> str:
    body = "".join(f'{key} = "{value}"\n' for key, value in auth.items())
    return f"[auth]\n{body}\n[roles]\n{roles}"


SECRETS_FILES = {
    "toml-syntax-error-in-auth": ('[auth]\nredirect_uri = "http://x/oauth2callback\nclient_id = 1\n',
                                  "the secrets file cannot be read ("),
    "toml-syntax-error-no-auth": ("api_key = \n", "the secrets file cannot be read ("),
    "auth-missing-client-secret": (auth_toml({k: v for k, v in AUTH.items() if k != "client_secret"}),
                                   "secrets.toml's [auth] section lacks client_secret: nobody can sign in"),
    "auth-empty-section": ("[auth]\n", "secrets.toml's [auth] section lacks redirect_uri, cookie_secret, client_id, "
                                       "client_secret, server_metadata_url"),
    "auth-not-a-section": ('auth = "on"\n', "secrets.toml's 'auth' must be a section"),
    "roles-without-auth": ('[roles]\nadmin = ["ada@lab.org"]\n', "has a [roles] mapping but no [auth] section"),
    "roles-unknown-role": (auth_toml(AUTH, 'owner = ["ada@lab.org"]\n'), "Unknown role in the roles mapping 'owner'"),
    "roles-entry-not-a-list": (auth_toml(AUTH, "admin = 3\n"), "[roles] entry 'admin' must be a list"),
}


@pytest.mark.parametrize(("text", "reason"), SECRETS_FILES.values(), ids=SECRETS_FILES.keys())
def test_configured_but_broken_sign_in_is_never_local_mode(secrets_file, text, reason):
    state = secrets_file(text)
    assert state.configured and state.roles is None
    assert state.problem.startswith("Sign-in is configured but broken, so the app is stopped (it never falls back to "
                                    "local mode): ")
    assert reason in state.problem
    assert state.problem.endswith("Fix .streamlit/secrets.toml and restart the app.")


def test_no_secrets_file_is_local_mode(secrets_file):
    state = secrets_file(None)
    assert state == dashboard.SignIn(False)


def test_a_readable_secrets_file_without_auth_is_local_mode(secrets_file):
    assert secrets_file('[service]\napi_key = "abc"\n') == dashboard.SignIn(False)


def test_a_complete_auth_section_gives_the_role_mapping(secrets_file):
    state = secrets_file(auth_toml(AUTH, 'admin = ["ada@lab.org"]\nviewer = ["*"]\n'))
    assert state.configured and state.problem is None
    assert state.roles.role_for("ada@lab.org") == "admin" and state.roles.role_for("eve@x.net") == "viewer"


@pytest.mark.parametrize(("claims", "unverified"), [
    ({"email": "ada@lab.org", "email_verified": False}, True),
    ({"email": "ada@lab.org", "email_verified": "false"}, True),
    ({"email": "ada@lab.org", "email_verified": True}, False),
    ({"email": "ada@lab.org", "email_verified": "true"}, False),
    ({"email": "ada@lab.org"}, False),
], ids=["false", "text-false", "true", "text-true", "claim-absent"])
def test_email_verified_false_is_refused(claims, unverified):
    assert email_unverified(claims) is unverified


def test_the_auth_keys_are_each_required():
    for key in AUTH:
        with pytest.raises(SignInBroken, match=f"lacks {key}: nobody can sign in"):
            sign_in_roles({k: v for k, v in AUTH.items() if k != key}, {})
    assert sign_in_roles(AUTH, {"admin": "ada@lab.org"}).role_for("ada@lab.org") == "admin"


def test_with_the_noto_fonts_the_pdf_shows_cjk_and_emoji(hostile_template, tmp_path):
    missing = [name for name in ("NotoSansCJK-Regular.ttc", "NotoColorEmoji.ttf") if export.pdf._font_file(name) is None]
    if missing or export.pdf._unicode_font() is None:
        reason = (f"the PDF fallback fonts are not installed ({', '.join(missing) or 'DejaVu Sans'}; Debian "
                  "fonts-noto-cjk, fonts-noto-color-emoji, fonts-dejavu-core)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; .ci/run should install them")
        pytest.skip(reason)
    path = tmp_path / "glyphs.duckdb"
    shutil.copy(hostile_template, path)
    with Catalog.open(path) as catalog:
        task = catalog.task(HOSTILE_TASKS["c1-osc-st"][1])
        save_task_and_recommend(catalog, task.model_copy(update={"name": "Triage 日本語 \U0001f99c"}))
        bundle = build_summary(catalog, task_ids=[task.id])
    pdf = export.to_pdf(bundle)
    text = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().replace("\x00", "").split())
    assert "Characters not shown" not in text and "\u25a1" not in text
    assert "本" in text and "\U0001f99c" in text


def test_an_uploaded_text_sample_over_the_limit_is_refused_unread():
    from strategy.quality.samples import load_sample

    class Stream(io.BytesIO):
        def __init__(self, data: bytes):
            super().__init__(data)
            self.asked: list[int] = []

        def read(self, size=-1):
            self.asked.append(size)
            return super().read(size)

    stream = Stream(b"one text per line\n" * 1000)
    with pytest.raises(AssessmentRejected) as caught:
        load_sample(stream, label="texts.txt", limit=100)
    assert "texts.txt, field 'file': is " in str(caught.value) and "over the upload limit" in str(caught.value)
    assert all(size is not None and 0 <= size <= 101 for size in stream.asked)  # never the whole stream
