"""SDMetrics' own metric classes on the real/synthetic demo pairs its package ships, printed as JSON.

Runs under SDMetrics' Python (it pins pandas < 3, so it lives in its own environment, `.venv-peers`), never
under the project's: tests/test_quality_peers.py compares these numbers with ours. Datetimes are prepared as
SDMetrics' quality report prepares them: parsed with the metadata's format for the column shapes, and turned
into numbers with a missing date left missing for the pair trends. Only the sdtypes the report scores are kept.
"""

import json
import pathlib

import numpy as np
import pandas as pd
import sdmetrics
from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
from sdmetrics.single_column import KSComplement, TVComplement

SCORED = ("numerical", "datetime", "categorical", "boolean")
CONTINUOUS = ("numerical", "datetime")


def scores(meta_path: pathlib.Path, table: str, columns: dict) -> dict:
    real = pd.read_csv(meta_path.parent / f"{table}_real.csv")
    synthetic = pd.read_csv(meta_path.parent / f"{table}_synthetic.csv")
    kinds = {name: spec["sdtype"] for name, spec in columns.items() if spec["sdtype"] in SCORED}
    dates = [name for name, kind in kinds.items() if kind == "datetime"]
    for frame in (real, synthetic):
        for name in dates:
            frame[name] = pd.to_datetime(frame[name], format=columns[name].get("datetime_format"))
    shapes = {name: float((KSComplement if kind in CONTINUOUS else TVComplement).compute(real[name], synthetic[name]))
              for name, kind in kinds.items()}
    for frame in (real, synthetic):
        for name in dates:
            missing = frame[name].isna()
            frame[name] = pd.to_numeric(frame[name]).astype(float)
            frame.loc[missing, name] = np.nan
    pairs = {}
    names = list(kinds)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            continuous = [name for name in (a, b) if kinds[name] in CONTINUOUS]
            if len(continuous) == 2:
                score = CorrelationSimilarity.compute(real[[a, b]], synthetic[[a, b]], coefficient="Pearson")
            else:
                score = ContingencySimilarity.compute(real[[a, b]], synthetic[[a, b]],
                                                      continuous_column_names=continuous or None)
            pairs[f"{a}|{b}"] = None if np.isnan(score) else float(score)
    return {"real": str(meta_path.parent / f"{table}_real.csv"),
            "synthetic": str(meta_path.parent / f"{table}_synthetic.csv"),
            "kinds": kinds, "shapes": shapes, "pairs": pairs}


def main() -> None:
    found = []
    for meta_path in sorted((pathlib.Path(sdmetrics.__file__).parent / "demos").glob("*/metadata.json")):
        metadata = json.loads(meta_path.read_text())
        for table, spec in metadata["tables"].items():
            found.append({"demo": meta_path.parent.name, "table": table,
                          **scores(meta_path, table, spec["columns"])})
    print(json.dumps({"sdmetrics": sdmetrics.__version__, "tables": found}))


if __name__ == "__main__":
    main()
