"""The engine as it was before issue 17 ("today's engine" in the decision benchmark): one least-squares fit
of the penalised learning curve, and the plan that maximises that single fit's prediction.

Kept only so the benchmark can show, in the same run, what the posterior engine changed.
"""

from __future__ import annotations

import pandas as pd

from strategy.budget import Costs, best_plan
from strategy.learning import LearningCurve, curve

FLOOR = 0.05


def legacy_policy(pilot: pd.DataFrame, budget: float, prices) -> tuple[int, int]:
    """(n_human, n_synthetic) the pre-issue-17 engine would buy for training with ``budget``."""
    rows = pilot.sort_values(["n_human", "n_synthetic"], kind="stable", ignore_index=True)
    fitted = LearningCurve().fit(rows["n_human"].to_numpy(float), rows["n_synthetic"].to_numpy(float),
                                 rows["value"].to_numpy(float))
    params = fitted.params_.vector()

    def predict(n_h, n_s):
        return curve(params, n_h, n_s, fitted.form)

    chosen, _, _ = best_plan(predict, budget, Costs(human=prices.human, synthetic=prices.synthetic), floor=FLOOR)
    return chosen.n_human, chosen.n_synthetic
