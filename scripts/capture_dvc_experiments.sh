#!/usr/bin/env bash
# How tests/trackers/data/dvc_exp_show.json was made: a real `dvc exp show --json` of a throwaway DVC project.
#
# DVC is not a project dependency (it is heavy), so the tests read the captured JSON and never run DVC. To
# capture again, install DVC in a scratch virtual environment outside this project and put it first on PATH:
#
#   python3 -m venv /some/scratch/dvcvenv && /some/scratch/dvcvenv/bin/pip install dvc
#   PATH=/some/scratch/dvcvenv/bin:$PATH scripts/capture_dvc_experiments.sh /some/scratch/run > out.json
#
# The stage runs `python train.py`, which needs PyYAML: the `python` next to `dvc` (DVC's own venv, which has
# it) is put first on PATH. The JSON goes to standard output; everything else goes to standard error.
# The checked-in file was captured with DVC 3.67.1; the last line below replaces the scratch folder's absolute
# path (in the failed experiment's log path) with <scratch>. Tests derive their expectations from the counts
# below: change one here, change it there.
#
# The DVC 2 sample inside tests/trackers/test_dvc_runs.py (DVC 2's older object format) came from this same
# script run with DVC 2.45.1, whose dependencies have since moved on; it ran on Python 3.11 with
#   pip install "dvc==2.45.1" "pathspec<0.12" "dulwich==0.21.3" "pygit2==1.11.1" "funcy<2" "pygtrie==2.5.0"
# (DVC 2.58.2 already prints DVC 3's list format.)
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 SCRATCH_FOLDER   (an empty or missing folder; the JSON is printed)" >&2
    exit 2
fi
command -v dvc >/dev/null || { echo "dvc is not on PATH" >&2; exit 2; }
DVC_BIN="$(dirname "$(command -v dvc)")"
export PATH="$DVC_BIN:$PATH"
python -c "import yaml" || { echo "the python next to dvc lacks PyYAML" >&2; exit 2; }

mkdir -p "$1"
REPO="$(cd "$1" && pwd)/project"
rm -rf "$REPO"
mkdir "$REPO"
cd "$REPO"

export DVC_NO_ANALYTICS=1
git init -q -b main
git config user.name "Capture Script"
git config user.email "capture@example.invalid"
dvc init -q
dvc config core.autostage true

cat > params.yaml <<'EOF'
task: Chest X-ray triage
train:
  n_human: 100
  n_synthetic: 0
  seed: 0
eval:
  seed: 1
EOF

# A deterministic "model": AUROC rises with the effective sample count, a synthetic sample counting half.
# A negative seed fails the stage, so that a failed experiment is recorded.
cat > train.py <<'EOF'
import json
import sys

import yaml

with open("params.yaml") as handle:
    params = yaml.safe_load(handle)
train = params["train"]
if train["seed"] < 0:
    sys.exit("seed must not be negative")
effective = train["n_human"] + 0.5 * train["n_synthetic"]
auroc = round(0.5 + 0.4 * effective / (effective + 200), 4)
with open("metrics.json", "w") as handle:
    json.dump({"AUROC": auroc, "loss": round(1 - auroc, 4), "eval": {"n_seen": train["n_human"] + train["n_synthetic"]}}, handle)
EOF

cat > dvc.yaml <<'EOF'
stages:
  train:
    cmd: python train.py
    deps:
      - train.py
    params:
      - train
      - task
      - eval
    metrics:
      - metrics.json:
          cache: false
EOF

# The baseline commit carries its own metrics (100 human, 0 synthetic).
dvc repro -q >&2
git add -A
# A fixed date for the baseline only: DVC's own commits (dulwich) refuse GIT_*_DATE in this form.
GIT_AUTHOR_DATE="2025-01-01T00:00:00Z" GIT_COMMITTER_DATE="2025-01-01T00:00:00Z" \
    git commit -q -m "baseline: 100 human samples"

# Experiments run in the workspace, one after another; the last one named.
dvc exp run -S train.n_human=200 -S train.n_synthetic=0 >&2
dvc exp run -S train.n_human=100 -S train.n_synthetic=100 >&2
dvc exp run -S train.n_human=50 -S train.n_synthetic=150 >&2
dvc exp run -S train.n_human=0 -S train.n_synthetic=200 >&2
dvc exp run -n big-human -S train.n_human=400 -S train.n_synthetic=0 >&2

# A queued experiment that fails (negative seed): DVC records it with status "Failed".
dvc exp run --queue -n bad-seed -S train.n_human=10 -S train.n_synthetic=10 -S train.seed=-1 >&2
dvc queue start -q >&2
for _ in $(seq 1 120); do
    if dvc queue status 2>/dev/null | grep -q "bad-seed.*Failed"; then break; fi
    sleep 1
done
dvc queue stop -q --kill >&2 2>/dev/null || true
# A queued experiment that is never started: status "Queued".
dvc exp run --queue -n waiting -S train.n_human=25 -S train.n_synthetic=25 >&2

dvc exp show --json --no-pager | sed "s#$(cd "$1" && pwd)#<scratch>#g"
