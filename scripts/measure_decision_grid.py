"""Measure the ground truth of the real-data decision benchmark (issue 17): real training runs on a grid of
human/synthetic mixes, scored on held-out real rows.

    .venv/bin/python scripts/measure_decision_grid.py                    # the whole grid → bench/data/decision_grid.csv
    .venv/bin/python scripts/measure_decision_grid.py --table wine --generator smote --learner knn --out -
    .venv/bin/python scripts/measure_decision_grid.py --check           # re-measure and compare with the tracked file

Nothing is downloaded: every table ships inside an installed package (scikit-learn's bundled loaders,
statsmodels' datasets, vega_datasets' local sets). Seeded and deterministic: re-running writes the same
file byte for byte (fixed seeds derived from names, fixed float formatting, sorted rows). One core.

**Tables** (rows, classes): scikit-learn's breast_cancer (569, 2), wine (178, 3) and digits (1,797, 10);
statsmodels' fair (6,366, 2: any affair) and anes96 (944, 2: Clinton or Dole); vega_datasets' seattle_weather
(1,461, 5) and cars (392 with no missing value, 3: region of origin). Each table's features are standardised
(on its non-test rows) and split once, stratified:

- a held-out **test** set (30%) that never feeds a generator or a learner; every value is measured on it;
- a **seed pool** of real rows (15% of the table, at most 60): the generator vendor's own real data;
- the **human pool**, the rest: the rows a team can buy. A run with ``n_human`` rows takes the first
  ``n_human`` rows of a permutation of the pool drawn per repeat (larger purchases extend smaller ones).

**Generators are fitted on the seed pool, not on the human rows of the run.** A generator fitted only on
the rows the team bought adds no information of its own: at 10 human rows it has nothing to fit, and it
cannot make data at all without human rows, so the synthetic-led plans the engine must weigh (5% human,
the rest synthetic) could not even be measured. Real generators (a vendor, a simulator, a language model)
bring knowledge of the domain that the team's purchase does not contain; a fixed pool of real rows is the
simplest honest stand-in for it. Its size caps what synthetic data can teach, so synthetic data is worth
most while human data is scarce and saturates as it grows — which is the regime where mixes can win, and
it is measured, not assumed. Each generator samples per class with the pool's class shares; the rows of
one repeat are the first ``n_synthetic`` of one long draw (larger draws extend smaller ones):

- ``gaussian``: per-class mean and Ledoit–Wolf-shrunk covariance;
- ``smote``: a pool row moved a uniform fraction of the way to one of its 5 nearest same-class pool rows;
- ``narrow``: ``smote`` rows pulled halfway to their class mean, so the tails of every class are lost;
- ``noisy``: ``gaussian`` rows with 30% of the labels replaced by another class.

**Learners**: ``logistic`` (L2 logistic regression, C = 1), ``knn`` (5 nearest neighbours, or fewer when
the training set is smaller) and ``forest`` (a random forest of 20 trees). A training set with a single
class predicts that class.

**Grid**: ``n_human`` in 0, 10, 20, 40, 80, 160, 320 (up to the human pool), ``n_synthetic`` in 0, 25, 50,
100, 200, 400, 800, 1600, 3200, five repeats (a new permutation of the human pool and a new generator
seed each). Human-only cells (``n_synthetic = 0``) do not depend on the generator: they are measured once
and written under each generator. The cell with no data at all (0, 0) is not a training run: it carries the
expected accuracy of a uniform guess among the table's classes (1/K), so that plans between 0 and 10
human samples can be interpolated.

**Metric**: ``accuracy`` on the test rows, written with 6 decimals (one metric keeps the file near 1.2 MB;
``METRICS`` takes more).

The whole grid (84 cases, 24,840 rows) took 13 minutes on one core of the shared 2-core machine, most of it
the forests; one case of a small table takes seconds (``--table``, ``--generator``, ``--learner``).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import io  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.covariance import LedoitWolf  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
OUTPUT = PROJECT / "bench" / "data" / "decision_grid.csv"
COLUMNS = ["table", "generator", "learner", "n_human", "n_synthetic", "repeat", "metric", "value"]

HUMAN_LEVELS = (0, 10, 20, 40, 80, 160, 320)
SYNTHETIC_LEVELS = (0, 25, 50, 100, 200, 400, 800, 1600, 3200)
REPEATS = 5
TEST_SHARE = 0.30
SEED_POOL_SHARE = 0.15
SEED_POOL_MAX = 60
GENERATORS = ("gaussian", "smote", "narrow", "noisy")
LEARNERS = ("logistic", "knn", "forest")
FLIP_SHARE = 0.30
NARROW_PULL = 0.5
NEIGHBOURS = 5
METRICS = {"accuracy": accuracy_score}


def stable_seed(*parts) -> int:
    """A seed from names and numbers that is the same in every process (unlike ``hash``)."""
    return zlib.crc32("/".join(str(p) for p in parts).encode())


# ------------------------------------------------------------------------------------ tables
def _sklearn(name: str):
    from sklearn import datasets

    loader = {"breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine,
              "digits": datasets.load_digits}[name]
    x, y = loader(return_X_y=True)
    return x.astype(float), y


def _fair():
    """statsmodels' affairs survey (Fair 1978): did the respondent have an affair (time spent > 0)."""
    from statsmodels.datasets import fair

    frame = fair.load_pandas().data
    return frame.drop(columns="affairs").to_numpy(float), (frame["affairs"] > 0).to_numpy(int)


def _anes96():
    """statsmodels' 1996 American National Election Study: Clinton or Dole, from views and demographics."""
    from statsmodels.datasets import anes96

    frame = anes96.load_pandas().data
    return frame.drop(columns=["vote", "logpopul"]).to_numpy(float), frame["vote"].to_numpy(int)


def _seattle_weather():
    """vega_datasets' Seattle daily weather 2012–2015: the day's weather class from its measurements."""
    from vega_datasets import local_data

    frame = local_data.seattle_weather()
    day = pd.to_datetime(frame["date"]).dt.dayofyear.to_numpy(float) * 2 * np.pi / 365.25
    x = np.column_stack([frame[["precipitation", "temp_max", "temp_min", "wind"]].to_numpy(float),
                         np.sin(day), np.cos(day)])
    return x, pd.Categorical(frame["weather"]).codes.astype(int)


def _cars():
    """vega_datasets' cars (1970–82): the region of origin from the car's specifications."""
    from vega_datasets import local_data

    frame = local_data.cars().dropna()
    features = ["Miles_per_Gallon", "Cylinders", "Displacement", "Horsepower", "Weight_in_lbs", "Acceleration"]
    x = np.column_stack([frame[features].to_numpy(float), pd.to_datetime(frame["Year"]).dt.year.to_numpy(float)])
    return x, pd.Categorical(frame["Origin"]).codes.astype(int)


TABLES = {
    "breast_cancer": lambda: _sklearn("breast_cancer"),
    "wine": lambda: _sklearn("wine"),
    "digits": lambda: _sklearn("digits"),
    "fair": _fair,
    "anes96": _anes96,
    "seattle_weather": _seattle_weather,
    "cars": _cars,
}
SOURCES = {"breast_cancer": "scikit-learn", "wine": "scikit-learn", "digits": "scikit-learn",
           "fair": "statsmodels", "anes96": "statsmodels", "seattle_weather": "vega_datasets",
           "cars": "vega_datasets"}


@dataclass
class Split:
    """One table, split once: test rows, the generator's seed pool and the human pool (standardised)."""

    name: str
    classes: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_seed: np.ndarray
    y_seed: np.ndarray
    x_pool: np.ndarray
    y_pool: np.ndarray

    @property
    def human_levels(self) -> tuple[int, ...]:
        return tuple(n for n in HUMAN_LEVELS if n <= len(self.y_pool))


def split_table(name: str) -> Split:
    x, y = TABLES[name]()
    _, y = np.unique(y, return_inverse=True)
    seed = stable_seed("split", name)
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=TEST_SHARE, stratify=y, random_state=seed)
    pool_size = min(SEED_POOL_MAX, int(round(SEED_POOL_SHARE * len(y))))
    x_pool, x_seed, y_pool, y_seed = train_test_split(x_rest, y_rest, test_size=pool_size, stratify=y_rest,
                                                      random_state=seed + 1)
    scaler = StandardScaler().fit(x_rest)
    scaler.scale_[scaler.scale_ == 0] = 1.0  # a constant column (digits' blank pixels) stays 0, not NaN
    return Split(name, np.unique(y), scaler.transform(x_test), y_test, scaler.transform(x_seed), y_seed,
                 scaler.transform(x_pool), y_pool)


# -------------------------------------------------------------------------------- generators
def _class_draw(y_seed: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    classes, counts = np.unique(y_seed, return_counts=True)
    return rng.choice(classes, size=n, p=counts / counts.sum())


def _gaussian(x_seed, y_seed, n, rng):
    labels = _class_draw(y_seed, n, rng)
    out = np.empty((n, x_seed.shape[1]))
    pooled = LedoitWolf().fit(x_seed - np.array([x_seed[y_seed == c].mean(axis=0) for c in y_seed])).covariance_
    for c in np.unique(labels):
        rows = x_seed[y_seed == c]
        cov = LedoitWolf().fit(rows).covariance_ if len(rows) >= 3 else pooled
        take = labels == c
        out[take] = rng.multivariate_normal(rows.mean(axis=0), cov, size=int(take.sum()), method="eigh")
    return out, labels


def _smote(x_seed, y_seed, n, rng):
    labels = _class_draw(y_seed, n, rng)
    out = np.empty((n, x_seed.shape[1]))
    for c in np.unique(labels):
        rows = x_seed[y_seed == c]
        take = np.flatnonzero(labels == c)
        base = rng.integers(0, len(rows), len(take))
        if len(rows) < 2:
            out[take] = rows[base]
            continue
        k = min(NEIGHBOURS, len(rows) - 1)
        neighbours = NearestNeighbors(n_neighbors=k + 1).fit(rows).kneighbors(rows, return_distance=False)[:, 1:]
        partner = neighbours[base, rng.integers(0, k, len(take))]
        step = rng.random((len(take), 1))
        out[take] = rows[base] + step * (rows[partner] - rows[base])
    return out, labels


def _narrow(x_seed, y_seed, n, rng):
    out, labels = _smote(x_seed, y_seed, n, rng)
    for c in np.unique(labels):
        centre = x_seed[y_seed == c].mean(axis=0)
        take = labels == c
        out[take] = centre + NARROW_PULL * (out[take] - centre)
    return out, labels


def _noisy(x_seed, y_seed, n, rng):
    out, labels = _gaussian(x_seed, y_seed, n, rng)
    classes = np.unique(y_seed)
    flip = rng.random(n) < FLIP_SHARE
    shift = rng.integers(1, len(classes), n)  # another class, uniformly among the others
    index = np.searchsorted(classes, labels)
    labels = np.where(flip, classes[(index + shift) % len(classes)], labels)
    return out, labels


GENERATOR_FUNCTIONS = {"gaussian": _gaussian, "smote": _smote, "narrow": _narrow, "noisy": _noisy}


# ---------------------------------------------------------------------------------- learners
class _Constant:
    def __init__(self, label):
        self.label = label

    def predict(self, x):
        return np.full(len(x), self.label)


def train(learner: str, x: np.ndarray, y: np.ndarray, seed: int):
    if len(np.unique(y)) < 2:
        return _Constant(y[0])
    if learner == "logistic":
        model = LogisticRegression(C=1.0, max_iter=1000)
    elif learner == "knn":
        model = KNeighborsClassifier(n_neighbors=min(NEIGHBOURS, len(y)), algorithm="brute")
    elif learner == "forest":
        model = RandomForestClassifier(n_estimators=20, random_state=seed, n_jobs=1)
    else:
        raise ValueError(f"unknown learner {learner!r}")
    return model.fit(x, y)


def score(model, split: Split) -> dict[str, float]:
    predicted = model.predict(split.x_test)
    return {name: float(metric(split.y_test, predicted)) for name, metric in METRICS.items()}


# ------------------------------------------------------------------------------------ measuring
def measure_case(split: Split, generator: str, learner: str, *, human_only: dict | None = None) -> list[dict]:
    """Every cell of one (table, generator, learner); ``human_only`` caches the generator-free cells."""
    rows = []
    chance = 1.0 / len(split.classes)
    for repeat in range(REPEATS):
        order = np.random.default_rng(stable_seed("humans", split.name, repeat)).permutation(len(split.y_pool))
        rng = np.random.default_rng(stable_seed("generator", split.name, generator, repeat))
        x_syn, y_syn = GENERATOR_FUNCTIONS[generator](split.x_seed, split.y_seed, max(SYNTHETIC_LEVELS), rng)
        for n_h in split.human_levels:
            x_h, y_h = split.x_pool[order[:n_h]], split.y_pool[order[:n_h]]
            for n_s in SYNTHETIC_LEVELS:
                if n_h == 0 and n_s == 0:
                    values = dict.fromkeys(METRICS, chance)
                elif n_s == 0 and human_only is not None and (learner, n_h, repeat) in human_only:
                    values = human_only[(learner, n_h, repeat)]
                else:
                    x = np.vstack([x_h, x_syn[:n_s]])
                    y = np.concatenate([y_h, y_syn[:n_s]])
                    seed = stable_seed("learner", split.name, learner, n_h, n_s, repeat)
                    values = score(train(learner, x, y, seed), split)
                    if n_s == 0 and human_only is not None:
                        human_only[(learner, n_h, repeat)] = values
                for metric, value in values.items():
                    rows.append({"table": split.name, "generator": generator, "learner": learner, "n_human": n_h,
                                 "n_synthetic": n_s, "repeat": repeat, "metric": metric, "value": value})
    return rows


def to_csv(rows: list[dict]) -> str:
    frame = pd.DataFrame(rows, columns=COLUMNS).sort_values(COLUMNS[:7], ignore_index=True)
    frame["value"] = frame["value"].map(lambda v: f"{v:.6f}")
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def measure(tables, generators, learners, progress=print) -> list[dict]:
    rows = []
    started = time.perf_counter()
    with threadpool_limits(1):
        for table in tables:
            split = split_table(table)
            human_only: dict = {}
            for generator in generators:
                for learner in learners:
                    start = time.perf_counter()
                    case = measure_case(split, generator, learner, human_only=human_only)
                    rows += case
                    progress(f"{table:>16} {generator:>9} {learner:>9}: {len(case) // len(METRICS):4d} cells "
                             f"in {time.perf_counter() - start:5.1f} s (total {time.perf_counter() - started:6.0f} s)")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", action="append", choices=list(TABLES), help="only these tables (repeatable)")
    parser.add_argument("--generator", action="append", choices=GENERATORS, help="only these generators")
    parser.add_argument("--learner", action="append", choices=LEARNERS, help="only these learners")
    parser.add_argument("--out", default=str(OUTPUT), help="output CSV, or - for standard output")
    parser.add_argument("--check", action="store_true",
                        help="compare the measured rows with the tracked file instead of writing")
    args = parser.parse_args(argv)
    tables = args.table or list(TABLES)
    generators = args.generator or list(GENERATORS)
    learners = args.learner or list(LEARNERS)

    def progress(line):
        print(line, file=sys.stderr, flush=True)

    text = to_csv(measure(tables, generators, learners, progress=progress))
    if args.check:
        tracked = pd.read_csv(OUTPUT, dtype=str)
        keep = tracked["table"].isin(tables) & tracked["generator"].isin(generators) & tracked["learner"].isin(learners)
        expected = to_text(tracked[keep])
        same = expected == text
        print("identical to the tracked rows" if same else "DIFFERENT from the tracked rows")
        return 0 if same else 1
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {text.count(chr(10)) - 1:,} rows to {args.out}", file=sys.stderr)
    return 0


def to_text(frame: pd.DataFrame) -> str:
    """Tracked rows (read as text) written back the way :func:`to_csv` writes them."""
    buffer = io.StringIO()
    frame[COLUMNS].to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


if __name__ == "__main__":
    sys.exit(main())
