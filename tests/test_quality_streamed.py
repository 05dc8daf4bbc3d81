"""Large files assessed where they lie (strategy/quality/streamed.py): shapes and pair trends over every row in
DuckDB agree with the in-memory report, the other metrics read a stated subsample, and the CLI sends files over
the threshold there. Real CSV and Parquet files, a real DuckDB."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import strategy.quality.streamed as streamed
from strategy.cli import main
from strategy.errors import AssessmentRejected
from strategy.quality import assess
from strategy.quality.samples import load_sample
from strategy.quality.streamed import STREAM_ABOVE_ENV, assess_files, streams


def table(rows: int, seed: int, shift: float = 0.0, missing: float = 0.0) -> pd.DataFrame:
    """Mixed kinds with a correlated pair, a date, categories, a flag and, when asked, missing values."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40 + 5 * shift, 12, rows).round()
    frame = pd.DataFrame({
        "age": age,
        "income": (np.exp(rng.normal(10 + 0.2 * shift, 0.5, rows)) + 300 * age).round(2),
        "visits": rng.poisson(3 + shift, rows).astype(float),
        "joined": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D"),
        "region": rng.choice(["north", "south", "east"], rows, p=[0.5, 0.3 + 0.1 * shift, 0.2 - 0.1 * shift]),
        "smoker": rng.random(rows) < 0.2 + 0.1 * shift,
    })
    for name in ("age", "visits", "region") if missing else ():
        frame.loc[rng.random(rows) < missing, name] = None
    return frame


def write(frame: pd.DataFrame, path) -> str:
    if str(path).endswith(".parquet"):
        frame.to_parquet(path, index=False)
    elif str(path).endswith(".jsonl"):
        frame.to_json(path, orient="records", lines=True, date_format="iso")
    else:
        frame.to_csv(path, index=False)
    return str(path)


def metric_rows(report, name: str, part: str = "metrics") -> dict:
    return {row.get("column") or row["pair"]: row for row in report.data["modalities"]["tabular"][part][name]}


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
@pytest.mark.parametrize("missing", [0.0, 0.1])
def test_shapes_and_pairs_over_every_row_agree_with_the_report_in_memory(tmp_path, suffix, missing):
    human = write(table(3_000, 1, missing=missing), tmp_path / f"human{suffix}")
    synthetic = write(table(2_500, 2, shift=0.5, missing=missing), tmp_path / f"synthetic{suffix}")
    from_files = assess_files(human, synthetic, seed=3)
    in_memory = assess(load_sample(human), load_sample(synthetic), seed=3)
    for name in ("shapes", "pairs"):
        ours, theirs = metric_rows(from_files, name), metric_rows(in_memory, name)
        assert ours.keys() == theirs.keys() and len(ours) == (6 if name == "shapes" else 15)
        for key, row in ours.items():
            assert row["metric"] == theirs[key]["metric"], key
            assert row["score"] == pytest.approx(theirs[key]["score"], abs=1e-9), key
    # Below the frame size nothing is subsampled, so every score and the headline agree as well.
    assert from_files.humanness == pytest.approx(in_memory.humanness, abs=1e-9)
    assert from_files.data["streamed"]["subsample_rows"] == {"human": 3_000, "synthetic": 2_500}
    # The floor's halves are drawn another way (by a hash of the row's position) but measure the same thing.
    assert from_files.floor == pytest.approx(in_memory.floor, abs=1.5)
    assert from_files.floor > from_files.humanness


def test_edge_columns_agree_with_the_report_in_memory(tmp_path):
    # A category the synthetic file rarely fills, a constant synthetic number (its correlations undefined, so
    # its pairs fall back to the joint table) and a category column of many labels that the files share only
    # in part: each is scored as in memory, with the same notes.
    rng = np.random.default_rng(8)
    human, synthetic = table(2_000, 1), table(1_500, 2, shift=0.5)
    human["code"] = rng.integers(0, 900, len(human)).astype(str)
    synthetic["code"] = rng.integers(300, 1_200, len(synthetic)).astype(str)
    synthetic["visits"] = 1.0
    synthetic.loc[rng.random(len(synthetic)) < 0.97, "region"] = None
    paths = write(human, tmp_path / "human.parquet"), write(synthetic, tmp_path / "synthetic.parquet")
    from_files = assess_files(*paths, seed=2, columns=["age", "visits", "region", "code", "smoker"])
    in_memory = assess(*(load_sample(p) for p in paths), seed=2, columns=["age", "visits", "region", "code", "smoker"])
    for name in ("shapes", "pairs"):
        ours, theirs = metric_rows(from_files, name), metric_rows(in_memory, name)
        assert ours.keys() == theirs.keys()
        for key, row in ours.items():
            assert (row["metric"], row.get("note")) == (theirs[key]["metric"], theirs[key].get("note")), key
            assert row["score"] == pytest.approx(theirs[key]["score"], abs=1e-9) if row["score"] is not None \
                else theirs[key]["score"] is None, key
    assert set(metric_rows(from_files, "shapes")) == {"age", "visits", "region", "code", "smoker"}
    assert metric_rows(from_files, "pairs")["age|visits"]["metric"] == "ContingencySimilarity"


def test_several_candidates_read_the_human_file_once_and_each_report_is_its_own(tmp_path, monkeypatch):
    # CSV files are parsed into the database; the human file and the holdout are parsed once for all the
    # candidates, and each candidate's report is exactly the one it gets alone (same subsample seeds).
    monkeypatch.setattr(streamed, "FRAME_MIN_ROWS", 500)
    human = write(table(2_000, 1), tmp_path / "human.csv")
    holdout = write(table(400, 4), tmp_path / "holdout.csv")
    candidates = [write(table(1_800, 2, shift=0.5), tmp_path / "a.csv"),
                  write(table(2_200, 3, shift=0.1), tmp_path / "b.parquet")]
    loads = []
    original = streamed._Files.load
    monkeypatch.setattr(streamed._Files, "load", lambda self, t, p: (loads.append(Path(p).name), original(self, t, p)))
    together = streamed.assess_many_files(human, candidates, holdout, seed=4, sample_rows=200)
    assert loads == ["human.csv", "holdout.csv", "a.csv", "b.parquet"]
    alone = [assess_files(human, c, holdout, seed=4, sample_rows=200) for c in candidates]
    assert [json.dumps(r.data, sort_keys=True) for r in together] == [json.dumps(r.data, sort_keys=True) for r in alone]
    assert together[0].humanness != together[1].humanness


def test_the_other_metrics_read_a_stated_subsample_while_shapes_read_every_row(tmp_path, monkeypatch):
    monkeypatch.setattr(streamed, "FRAME_MIN_ROWS", 400)
    human = write(table(3_000, 1), tmp_path / "human.csv")
    synthetic = write(table(3_000, 2, shift=0.5), tmp_path / "synthetic.csv")
    holdout = write(table(600, 4), tmp_path / "holdout.csv")
    report = assess_files(human, synthetic, holdout, sample_rows=200, seed=0)
    assert report.data["human"]["rows"] == 3_000 and report.data["synthetic"]["rows"] == 3_000
    assert report.data["holdout"]["rows"] == 600
    assert report.data["streamed"]["subsample_rows"] == {"human": 400, "synthetic": 400, "holdout": 400}
    assert report.data["streamed"]["all_rows"] == ["shapes", "pairs"]
    full = assess(load_sample(human), load_sample(synthetic), seed=0)
    for key, row in metric_rows(report, "shapes").items():
        assert row["score"] == pytest.approx(metric_rows(full, "shapes")[key]["score"], abs=1e-9)
    # The subsampled detection read the 400 drawn rows, not the 3,000.
    assert report.data["modalities"]["tabular"]["metrics"]["detection"]["rows_per_side"] == 200
    again = assess_files(human, synthetic, holdout, sample_rows=200, seed=0)
    assert again.to_json() == report.to_json()  # seeded: the same files give the same report
    other = assess_files(human, synthetic, holdout, sample_rows=200, seed=1)
    assert other.data["modalities"]["tabular"]["metrics"]["detection"] != \
        report.data["modalities"]["tabular"]["metrics"]["detection"]


def test_columns_in_another_order_and_names_that_look_like_sql(tmp_path):
    frame = table(1_500, 1).rename(columns={"age": 'age"; DROP TABLE human; --', "region": "région"})
    human = write(frame, tmp_path / "human.parquet")
    synthetic_frame = table(1_500, 2, shift=0.5).rename(columns={"age": 'age"; DROP TABLE human; --',
                                                                 "region": "région"})
    synthetic = write(synthetic_frame[list(reversed(synthetic_frame.columns))], tmp_path / "synthetic.parquet")
    from_files = assess_files(human, synthetic)
    in_memory = assess(load_sample(human), load_sample(synthetic))
    assert metric_rows(from_files, "shapes").keys() == metric_rows(in_memory, "shapes").keys()
    for name in ("shapes", "pairs"):
        for key, row in metric_rows(from_files, name).items():
            assert row["score"] == pytest.approx(metric_rows(in_memory, name)[key]["score"], abs=1e-9), key


def test_bad_files_are_refused_naming_the_file(tmp_path):
    human = write(table(500, 1), tmp_path / "human.csv")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not a parquet file at all")
    with pytest.raises(AssessmentRejected) as refused:
        assess_files(human, broken)
    assert refused.value.problems[0].source == str(broken)
    other = write(pd.DataFrame({"x": range(50), "y": range(50)}), tmp_path / "other.csv")
    with pytest.raises(AssessmentRejected, match="shares no column"):
        assess_files(human, other)
    text = tmp_path / "texts.txt"
    text.write_text("one\ntwo\n")
    with pytest.raises(AssessmentRejected, match="CSV, Parquet or JSON"):
        assess_files(human, text)


def test_only_table_files_over_the_threshold_stream(tmp_path, monkeypatch):
    small = write(table(200, 1), tmp_path / "small.csv")
    monkeypatch.setenv(STREAM_ABOVE_ENV, "1")
    assert not streams(small, None)
    monkeypatch.setenv(STREAM_ABOVE_ENV, "0.001")
    assert streams(small, None)
    text = tmp_path / "big.txt"
    text.write_text("word " * 1_000)
    assert not streams(text)
    for bad in ("lots", "-1", "0"):
        monkeypatch.setenv(STREAM_ABOVE_ENV, bad)
        with pytest.raises(AssessmentRejected, match=STREAM_ABOVE_ENV):
            streams(small)


def test_a_file_past_the_row_limit_is_refused_before_any_metric(tmp_path, monkeypatch):
    human = write(table(300, 1), tmp_path / "human.parquet")
    synthetic = write(table(300, 2), tmp_path / "synthetic.parquet")
    monkeypatch.setenv("STRATEGY_MAX_SAMPLE_ROWS", "299")
    with pytest.raises(AssessmentRejected) as refused:
        assess_files(human, synthetic)
    assert refused.value.problems[0].source == human and "over the limit of 299" in refused.value.problems[0].reason


def test_the_cli_assesses_and_ranks_large_files_where_they_lie(tmp_path, monkeypatch):
    monkeypatch.setenv(STREAM_ABOVE_ENV, "0.01")
    human = write(table(2_000, 1), tmp_path / "human.csv")
    near = write(table(2_000, 2, shift=0.1), tmp_path / "near.csv")
    far = write(table(2_000, 3, shift=1.0), tmp_path / "far.csv")
    runner = CliRunner()
    catalog = str(tmp_path / "c.duckdb")
    one = runner.invoke(main, ["--catalog", catalog, "assess", "--human", human, "--synthetic", near, "--json"])
    assert one.exit_code == 0, one.output
    data = json.loads(one.output)
    assert data["streamed"]["engine"] == "duckdb" and data["human"]["rows"] == 2_000
    assert data["humanness"] == pytest.approx(assess_files(human, near).humanness, abs=1e-9)
    ranked = runner.invoke(main, ["--catalog", catalog, "assess", "--human", human, "--synthetic", far,
                                  "--synthetic", near, "--json"])
    assert ranked.exit_code == 0, ranked.output
    order = [row["label"] for row in json.loads(ranked.output)["ranking"]]
    assert order == [near, far]
    printed = runner.invoke(main, ["--catalog", catalog, "assess", "--human", human, "--synthetic", far,
                                   "--synthetic", near])
    assert printed.exit_code == 0 and printed.output.splitlines()[0] == \
        f"Ranked 2 synthetic samples against {human} (best first):"


def test_a_text_file_is_read_once_into_parquet_in_file_order_and_a_replaced_one_is_removed(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    frame = table(500, 4)
    files = streamed._Files(str(folder))
    files.load("human", write(frame, tmp_path / "human.csv"))
    files.load("synthetic", write(table(400, 5), tmp_path / "a.jsonl"))
    files.load("synthetic", write(table(300, 6), tmp_path / "b.csv"))  # the next candidate in its place
    assert sorted(p.name for p in folder.glob("*.parquet")) == ["human-1.parquet", "synthetic-3.parquet"]
    assert files.rows == {"human": 500, "synthetic": 300}
    ages = files.con.execute("SELECT c0 FROM human ORDER BY position_").fetchnumpy()["c0"]
    assert np.array_equal(ages, frame["age"].to_numpy())  # positions are the file's own row order
    files.con.close()


def test_a_large_json_lines_file_with_nested_values_is_refused_as_in_memory(tmp_path):
    rows = [{"x": i * 0.1, "region": "ab"[i % 2], "address": {"city": "x"} if i >= 4 else None, "tags": [i % 2]}
            for i in range(300)]
    path = tmp_path / "nested.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(AssessmentRejected) as streamed_error:
        assess_files(path, path, seed=1)
    with pytest.raises(AssessmentRejected) as memory_error:
        load_sample(str(path))
    found = {(p.row, p.field, p.reason) for p in streamed_error.value.problems}
    assert (5, "address", "holds a JSON object; expected text, a number or true/false (nested values are not "
                          "read)") in found  # the first row that holds one
    assert any(p.field == "tags" and p.row == 1 and "a JSON list" in p.reason for p in streamed_error.value.problems)
    assert {p.field for p in memory_error.value.problems} == {p.field for p in streamed_error.value.problems}
