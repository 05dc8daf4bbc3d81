"""Reading task files: CSV, JSON (array, object, lines) and byte streams, and the messages when they are wrong."""

from __future__ import annotations

import io
import json
import uuid

import pytest

from strategy.errors import ImportRejected, Problem
from strategy.ingest import TASK_FILE_FIELDS, TASK_NAMESPACE, read_tasks, task_id_for

HEADER = "name,domain,modality,metric,interaction,privacy_limits"
CSV = HEADER + "\nChest X-ray triage,Healthcare,image,AUROC,0,4\nSupport chat,Retail,text,CSAT,4,1\n"
ROWS = [
    {"name": "Chest X-ray triage", "domain": "Healthcare", "modality": "image", "metric": "AUROC",
     "interaction": 0, "privacy_limits": 4},
    {"name": "Support chat", "domain": "Retail", "modality": "text", "metric": "CSAT",
     "interaction": 4, "privacy_limits": 1},
]


def rejected(source, **kwargs) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        read_tasks(source, **kwargs)
    return caught.value


def check_two_tasks(tasks) -> None:
    assert [t.name for t in tasks] == ["Chest X-ray triage", "Support chat"]
    assert [t.modality for t in tasks] == ["image", "text"]
    assert [t.interaction for t in tasks] == [0, 4]
    assert [t.privacy_limits for t in tasks] == [4, 1]
    assert [t.id for t in tasks] == [task_id_for("Chest X-ray triage"), task_id_for("Support chat")]


# ------------------------------------------------------------------ formats


def test_csv_file(tmp_path):
    path = tmp_path / "tasks.csv"
    path.write_text(CSV, encoding="utf-8")
    tasks = read_tasks(path)
    check_two_tasks(tasks)
    assert tasks[0].domain == "Healthcare"
    assert tasks[0].metric == "AUROC"
    assert tasks[0].higher_is_better is True  # empty/absent cells fall back to defaults
    assert tasks[0].description == ""


def test_csv_file_given_as_str_with_bom_and_spaces(tmp_path):
    path = tmp_path / "tasks.csv"
    text = "name, domain, modality, metric, interaction, privacy_limits\n" + CSV.split("\n", 1)[1]
    path.write_bytes("\ufeff".encode() + text.encode("utf-8"))
    check_two_tasks(read_tasks(str(path)))


def test_json_array_file(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(ROWS, indent=2), encoding="utf-8")
    check_two_tasks(read_tasks(path))


def test_single_json_object(tmp_path):
    path = tmp_path / "task.json"
    path.write_text(json.dumps(ROWS[1]), encoding="utf-8")
    tasks = read_tasks(path)
    assert len(tasks) == 1
    assert tasks[0].name == "Support chat"
    assert tasks[0].interaction == 4
    assert tasks[0].id == task_id_for("Support chat")


def test_json_lines(tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in ROWS) + "\n\n", encoding="utf-8")
    check_two_tasks(read_tasks(path))


def test_json_detected_without_suffix(tmp_path):
    path = tmp_path / "tasks.txt"
    path.write_text(json.dumps(ROWS), encoding="utf-8")
    check_two_tasks(read_tasks(path))


def test_binary_stream_with_label():
    stream = io.BytesIO(CSV.encode("utf-8"))
    assert not hasattr(stream, "name")
    check_two_tasks(read_tasks(stream, label="upload.csv"))


def test_binary_stream_label_appears_in_problems():
    stream = io.BytesIO((HEADER + "\nA,B,text,m,9,0\n").encode("utf-8"))
    error = rejected(stream, label="upload.csv")
    assert len(error.problems) == 1
    assert error.problems[0].source == "upload.csv"
    assert "upload.csv, row 1, field 'interaction'" in str(error)


def test_nameless_stream_without_label_is_called_stdin():
    error = rejected(io.BytesIO(b""))
    assert error.problems[0].source == "<stdin>"


def test_explicit_id_is_kept(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([{**ROWS[0], "id": "my-own-id"}]), encoding="utf-8")
    assert read_tasks(path)[0].id == "my-own-id"


def test_task_id_for_is_stable_and_ignores_case_and_spaces():
    assert task_id_for("Support chat") == task_id_for("  support CHAT ")
    assert task_id_for("Support chat") != task_id_for("Support chats")
    assert task_id_for("Support chat") == str(uuid.uuid5(TASK_NAMESPACE, "support chat"))
    assert uuid.UUID(task_id_for("x")).version == 5


def test_same_file_gives_same_ids_twice(tmp_path):
    path = tmp_path / "tasks.csv"
    path.write_text(CSV, encoding="utf-8")
    assert [t.id for t in read_tasks(path)] == [t.id for t in read_tasks(path)]


def test_extra_fields_are_allowed_and_dropped(tmp_path):
    path = tmp_path / "tasks.csv"
    path.write_text("owner," + HEADER + "\nann,A,B,text,m,1,2\n", encoding="utf-8")
    tasks = read_tasks(path, extra_fields={"owner"})
    assert tasks[0].name == "A"
    assert not hasattr(tasks[0], "owner")


# ----------------------------------------------------------------- refusals


def test_non_utf8_file_is_refused(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + "\nCaf\u00e9 reviews,Retail,text,m,1,1\n").encode("latin-1"))
    error = rejected(path)
    assert str(path) in str(error)
    assert "UTF-8" in str(error)
    assert "0xe9" in str(error)
    assert error.problems[0].field == "file"


def test_missing_file_is_refused(tmp_path):
    path = tmp_path / "nowhere.csv"
    error = rejected(path)
    assert str(path) in str(error)
    assert "cannot be read" in str(error)


@pytest.mark.parametrize("content", [b"", b"  \n\n\t"])
def test_empty_file_is_refused(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    error = rejected(path)
    assert "is empty" in str(error)
    assert str(path) in str(error)


def test_header_only_csv_is_refused(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(HEADER + "\n", encoding="utf-8")
    error = rejected(path)
    assert "no rows" in str(error)
    assert str(path) in str(error)


def test_unknown_column_is_named_with_expected_ones(tmp_path):
    path = tmp_path / "tasks.csv"
    path.write_text("colour," + HEADER + "\nred,A,B,text,m,1,1\n", encoding="utf-8")
    error = rejected(path)
    message = str(error)
    assert "'colour'" in message
    assert "unknown column" in message
    for expected in TASK_FILE_FIELDS:
        assert expected in message
    assert "created_by" not in message  # who/when come from the writer, never the file


def test_missing_required_column_is_named(tmp_path):
    path = tmp_path / "tasks.csv"
    path.write_text("name,domain,modality\nA,B,text\n", encoding="utf-8")
    error = rejected(path)
    assert len(error.problems) == 1
    assert error.problems[0].field == "metric"
    assert "required column is missing" in str(error)
    assert "'metric'" in str(error)


def test_bad_row_names_file_row_and_field(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text(HEADER + "\nA,B,text,m,1,1\nC,D,text,m,7,1\nE,F,text,m,2,2\n", encoding="utf-8")
    error = rejected(path)
    message = str(error)
    assert "scores.csv" in message
    assert "row 2" in message
    assert "'interaction'" in message
    assert "(got '7')" in message  # CSV cells are text
    assert "row 1" not in message
    assert "row 3" not in message
    assert [(p.row, p.field) for p in error.problems] == [(2, "interaction")]


def test_every_bad_row_is_reported(tmp_path):
    path = tmp_path / "tasks.json"
    rows = [{**ROWS[0], "interaction": 5}, ROWS[1], {**ROWS[1], "name": "X", "modality": "smell"}]
    path.write_text(json.dumps(rows), encoding="utf-8")
    error = rejected(path)
    assert [(p.row, p.field) for p in error.problems] == [(1, "interaction"), (3, "modality")]
    assert "2 problems" in str(error)


def test_invalid_json_gives_clear_message(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"name": "A", "domain": ', encoding="utf-8")
    error = rejected(path)
    assert "is not valid JSON" in str(error)
    assert str(path) in str(error)
    assert error.problems[0].row is None


def test_invalid_json_line_names_the_line(tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n{not json}\n", encoding="utf-8")
    error = rejected(path)
    assert [(p.row, p.field) for p in error.problems] == [(2, "record")]
    assert "is not valid JSON" in str(error)


def test_json_that_is_not_objects_is_refused(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([ROWS[0], 3]), encoding="utf-8")
    error = rejected(path)
    assert [(p.row, p.field) for p in error.problems] == [(2, "record")]
    assert "not a JSON object" in str(error)


def test_empty_json_array_is_refused(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text("[]", encoding="utf-8")
    assert "holds no records" in str(rejected(path))


# ------------------------------------------------------------------ Problem


def test_problem_str_with_row():
    problem = Problem("tasks.csv", 3, "metric", "is required")
    assert str(problem) == "tasks.csv, row 3, field 'metric': is required"


def test_problem_str_without_row():
    problem = Problem("tasks.csv", None, "file", "is empty")
    assert str(problem) == "tasks.csv, field 'file': is empty"


def test_import_rejected_message_counts_and_truncates():
    problems = [Problem("f.csv", i, "name", "is required") for i in range(1, 26)]
    error = ImportRejected(problems)
    message = str(error)
    assert message.startswith("Nothing was written: 25 problems found.")
    assert "f.csv, row 20, field 'name'" in message
    assert "row 21," not in message
    assert "… and 5 more" in message
    assert len(error.problems) == 25
    single = str(ImportRejected(problems[:1]))
    assert "1 problem found." in single
    assert "more" not in single


def test_broken_json_array_points_at_the_broken_line():
    source = io.BytesIO(b'[\n {"name": "a", "domain": "d", "modality": "text", "metric": "m"},\n]\n')
    problem = rejected(source, label="x.json").problems[0]
    assert problem.field == "file"
    assert "line 3" in problem.reason


def test_blank_required_cell_is_reported_on_its_row_not_as_a_missing_column():
    problems = rejected(io.BytesIO(b"name,domain,modality,metric\na,b,text,\n"), label="x.csv").problems
    assert [(p.row, p.field, p.reason) for p in problems] == [(1, "metric", "is required")]
